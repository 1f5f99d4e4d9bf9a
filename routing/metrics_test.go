package routing_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/routing"
)

func TestMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := syntheticSource(2, 3)
	a := routing.New(src, reg, nil)
	b := routing.New(src, reg, nil) // a second map shares the collectors
	a.Lookup("+15550000001")
	b.Lookup("nope")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"edge_routing_map_version": false, "edge_routing_workspaces": false, "edge_routing_numbers": false,
		"edge_routing_last_sync_timestamp_seconds": false, "edge_routing_staleness_seconds": false,
		"edge_routing_reloads_total": false, "edge_routing_redis_errors_total": false,
		"edge_routing_degraded": false, "edge_routing_ready": false, "edge_routing_lookups_total": false,
		"edge_routing_bad_items_total": false, "edge_routing_changes_total": false,
		"edge_routing_reconciliations_total": false,
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "edge_routing_") {
			t.Errorf("metric %s outside edge_routing_", name)
		}
		if _, ok := want[name]; ok {
			want[name] = true
		}
		if name == "edge_routing_lookups_total" {
			total := 0.0
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
			if total != 2 {
				t.Errorf("lookups across both maps = %v, want 2", total)
			}
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("metric %s not registered", name)
		}
	}
	// No registry at all works too.
	if _, ok := routing.New(src, nil, nil).Lookup("+15550000001"); ok {
		t.Error("a map never run has routes")
	}
}

// TestConcurrentReaders: lookups run without locks while the map follows a
// stream of changes (go test -race checks the swap).
func TestConcurrentReaders(t *testing.T) {
	env := newTestEnv(t)
	ws := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m := startMap(t, env.store)
	m.waitRoute(t, "+15551230001", ws, "front-desk")

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var lookups atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := netip.MustParseAddr("192.0.2.1")
			for ctx.Err() == nil {
				if r, ok := m.Lookup("sip:+15551230001@edge"); ok {
					if r.Workspace.ID != ws || r.Service == nil {
						t.Error("torn route")
						return
					}
					r.TrunkFor(addr)
				}
				m.KnownSource(addr)
				m.Status()
				lookups.Add(1)
			}
		}()
	}
	env.service(ws, "after-hours", "sip:night@10.0.0.6")
	for i := range 10 {
		svc := "front-desk"
		if i%2 == 0 {
			svc = "after-hours"
		}
		env.number(ws, "+15551230001", svc)
	}
	m.waitRoute(t, "+15551230001", ws, "front-desk")
	cancel()
	wg.Wait()
	if lookups.Load() == 0 {
		t.Error("readers did not run")
	}
}
