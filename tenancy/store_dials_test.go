package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestDialsAsEdgeUser: a dial request the control plane queues is taken
// once, by one edge, running as the edge's ACL user (tenancy.EdgeACL),
// which also reads the outbound trunk's credentials for the dial; the
// routing hash it loads carries the trunk without its password.
func TestDialsAsEdgeUser(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	if _, err := admin.Put(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.KindOutboundTrunk, validOutbound(), tenancy.Create); err != nil {
		t.Fatal(err)
	}
	rdb := r.EdgeClient(t)
	edge := tenancy.NewStore(rdb, tenancy.WithPolicy(tenancy.Policy{Credentials: tenancytest.CredentialsBox(t)}))

	snap, err := edge.LoadSnapshot(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ot, ok := snap.OutboundTrunks["carrier-out"]; !ok || ot.Password != "" || ot.Username != "clinic-01" {
		t.Fatalf("outbound trunk in the routing hash: %+v %v", ot, ok)
	}
	if _, pass, err := edge.OutboundCredentials(ctx, w.ID, "carrier-out"); err != nil || pass != "carrier-secret-1" {
		t.Fatalf("credentials as the edge: %q %v", pass, err)
	}
	now := time.Now().UTC()
	rec := tenancy.CallRecord{ID: "call_x1", WorkspaceID: w.ID, ServiceID: "agent", From: "+13125550100", To: "+13125550142",
		State: tenancy.CallDialing, StartedAt: now, Direction: tenancy.DirectionOutbound}
	dr := tenancy.DialRequest{WorkspaceID: w.ID, CallID: rec.ID, From: rec.From, To: rec.To, ServiceID: "agent", TrunkID: "carrier-out", RequestedAt: now}
	if err := admin.RequestDial(ctx, rec, dr); err != nil {
		t.Fatal(err)
	}
	got, err := edge.ReadDials(ctx, "node-1", 100*time.Millisecond)
	if err != nil || len(got) != 1 || got[0].CallID != "call_x1" {
		t.Fatalf("node-1 reads %+v %v", got, err)
	}
	again, err := edge.ReadDials(ctx, "node-2", 100*time.Millisecond)
	if err != nil || len(again) != 0 {
		t.Fatalf("node-2 reads the same request: %+v %v", again, err)
	}
}
