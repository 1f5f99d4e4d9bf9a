package main

import (
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestBinariesRunOnClusterAndSentinelAndRideOverAMasterFailover builds the
// real edge and edge-admin, starts both against a real Redis Cluster and a
// real Sentinel setup (EDGE_REDIS_ADDR as an operator writes it), creates a
// workspace and a number through the admin API and sees the edge ready with
// the number in its map; then kills the master that holds the workspace
// and sees a second number, written through the admin API once the replica
// has taken over, reach the edge's map: both programs reconnected by
// themselves.
func TestBinariesRunOnClusterAndSentinelAndRideOverAMasterFailover(t *testing.T) {
	bins := edgeproc.Build(t)
	cases := []struct {
		name  string
		start func(t *testing.T) (addr string, killMaster func(ws string))
	}{
		{"cluster", func(t *testing.T) (string, func(string)) {
			cl := tenancytest.StartCluster(t)
			return cl.Addrs(), func(ws string) {
				slot := cl.Slot("{ws:" + ws + "}:cfg")
				m := cl.MasterOf(slot)
				m.Kill()
				_, took := cl.WaitNewMaster(slot, m, 20*time.Second)
				t.Logf("cluster: replica promoted %v after the kill", took.Round(time.Millisecond))
			}
		}},
		{"sentinel", func(t *testing.T) (string, func(string)) {
			s := tenancytest.StartSentinel(t)
			return s.Addr(), func(string) {
				m := s.Master()
				m.Kill()
				_, took := s.WaitNewMaster(m, 30*time.Second)
				t.Logf("sentinel: replica promoted %v after the kill", took.Round(time.Millisecond))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, killMaster := tc.start(t)
			admin := edgeproc.StartAdmin(t, bins, addr, nil)
			edge := edgeproc.StartEdge(t, bins, edgeproc.EdgeConfig{NodeID: "e2e-" + tc.name, RedisAddr: addr, RTPPorts: 2})

			ws := admin.CreateWorkspace(t, "Northside")
			admin.Post(t, ws, "/services", map[string]any{"id": "front-desk", "name": "Front desk", "target": "sip:agent@127.0.0.1:5070"}, 201)
			admin.Post(t, ws, "/phone-numbers", map[string]any{"number": "+13125550100", "service_id": "front-desk"}, 201)

			edgeproc.WaitHTTP(t, "http://"+edge.HTTP+"/readyz", 20*time.Second)
			edgeproc.WaitNumbers(t, edge.Metrics, 1, 20*time.Second)

			killed := time.Now()
			killMaster(ws.ID) // returns once the replica is master
			// The first writes after the takeover may meet a client still
			// finding the new master: the admin answers them 503, and an
			// operator (or edge-admin apply) retries.
			deadline := time.Now().Add(20 * time.Second)
			for {
				code := admin.Post(t, ws, "/phone-numbers", map[string]any{"number": "+13125550101", "service_id": "front-desk"}, 0)
				if code == 201 || code == 409 { // 409: an earlier try that got 503 was applied
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("admin writes still fail (%d) %v after the kill", code, time.Since(killed))
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Logf("%s: admin write accepted %v after the kill", tc.name, time.Since(killed).Round(time.Millisecond))
			edgeproc.WaitNumbers(t, edge.Metrics, 2, 20*time.Second)
			t.Logf("%s: the edge's map has the new number %v after the kill", tc.name, time.Since(killed).Round(time.Millisecond))
			edgeproc.WaitHTTP(t, "http://"+edge.HTTP+"/readyz", 10*time.Second)
		})
	}
}
