package routing_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// countingSource counts workspace loads of a store.
type countingSource struct {
	*tenancy.Store
	loads atomic.Int64
}

func (c *countingSource) LoadSnapshot(ctx context.Context, ws string) (*tenancy.Snapshot, error) {
	c.loads.Add(1)
	return c.Store.LoadSnapshot(ctx, ws)
}

// TestItemChanges checks that number and trunk changes reach the map
// without a load of their workspace, that writes routing does not read
// (an API key, a data source) make no load either, and that a service
// change still loads the workspace.
func TestItemChanges(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	src := &countingSource{Store: env.store}
	m := startMap(t, src)
	m.waitRoute(t, "+15551230001", a, "front-desk")
	base := src.loads.Load()

	env.number(a, "+15551230002", "front-desk")
	m.waitRoute(t, "+15551230002", a, "front-desk")
	env.trunk(a, "backup", "198.51.100.0/28")
	waitFor(t, "the new trunk", func() bool { return len(m.TrunksFrom(netip.MustParseAddr("198.51.100.3"))) == 1 })
	env.remove(a, tenancy.KindNumber, "+15551230001")
	m.waitMiss(t, "+15551230001")
	ctx := context.Background()
	ws, _ := env.store.GetWorkspace(ctx, a)
	accounts, _ := env.store.ListAccounts(ctx, ws.ID)
	if _, err := env.store.CreateAPIKey(ctx, platform, a, accounts[0].ID, "extra"); err != nil {
		t.Fatal(err)
	}
	env.put(a, tenancy.KindSafetyPolicy, &tenancy.SafetyPolicy{ID: "sp", Name: "Policy"})
	env.number(a, "+15551230003", "front-desk") // after them, to know they were read
	m.waitRoute(t, "+15551230003", a, "front-desk")
	if got := src.loads.Load() - base; got != 0 {
		t.Fatalf("%d workspace loads for number, trunk, key and policy writes, want 0", got)
	}
	if got := m.metric(t, "edge_routing_item_changes_total", ""); got < 4 {
		t.Errorf("item_changes_total = %v, want at least 4", got)
	}
	env.service(a, "front-desk", "sip:agent@127.0.0.9:5070")
	waitFor(t, "the service change", func() bool {
		r, ok := m.Lookup("+15551230002")
		return ok && r.Service.TargetURI == "sip:agent@127.0.0.9:5070"
	})
	if src.loads.Load() == base {
		t.Error("a service change did not load the workspace")
	}
}
