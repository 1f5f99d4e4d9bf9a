// Package nodeloss tests, with the real programs, what happens to the
// calls of an edge node that is SIGKILLed mid-traffic (issue 12, item 4).
package nodeloss

import (
	"context"
	"encoding/json"
	"syscall"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

const (
	number = "+13125550100"
	other  = "+13125550200"  // another workspace's number, called through edge-b
	lease  = 8 * time.Second // EDGE_CALL_LEASE: renewed every 2.7 s, swept every 4 s
	limit  = 4               // the workspace's max_concurrent_calls
	hold   = 10 * time.Minute
)

// TestKilledEdgeCallsEndNodeLostFreeTheirSlotsAndARestartEndsItsOwnAtOnce
// runs two edges against one Redis with a workspace limited to 4 calls,
// two calls held on each. It SIGKILLs one: within the lease and a sweep
// its calls leave the registry, their records end node_lost with a
// call.ended each, the workspace admits up to its limit again (and no
// more), and the other edge's calls stay answered with audio flowing.
// Then the node restarts with the same id, carries two calls, is killed
// again and restarted at once: it ends its previous process's calls
// before serving, well before their lease runs out.
func TestKilledEdgeCallsEndNodeLostFreeTheirSlotsAndARestartEndsItsOwnAtOnce(t *testing.T) {
	bins := edgeproc.Build(t)
	redis := tenancytest.StartRedis(t)
	store := redis.Store(t)
	admin := edgeproc.StartAdmin(t, bins, redis.Addr, nil)
	ws := admin.CreateWorkspace(t, "Northside")
	edgeproc.Call(t, "PATCH", admin.URL+"/v1/workspaces/"+ws.ID, edgeproc.PlatformToken,
		map[string]any{"limits": map[string]int{"max_concurrent_calls": limit, "max_cps": 50}}, 200, nil)
	admin.Post(t, ws, "/services", map[string]any{"id": "front-desk", "name": "Front desk", "target": service(t, "127.0.0.23")}, 201)
	admin.Post(t, ws, "/phone-numbers", map[string]any{"number": number, "service_id": "front-desk"}, 201)
	admin.Post(t, ws, "/trunks", map[string]any{"id": "carrier", "name": "Carrier", "allowed_cidrs": []string{"127.0.0.32/27"}}, 201)
	ws2 := admin.CreateWorkspace(t, "Southside")
	admin.Post(t, ws2, "/services", map[string]any{"id": "front-desk", "name": "Front desk", "target": service(t, "127.0.0.24")}, 201)
	admin.Post(t, ws2, "/phone-numbers", map[string]any{"number": other, "service_id": "front-desk"}, 201)
	admin.Post(t, ws2, "/trunks", map[string]any{"id": "carrier", "name": "Carrier", "allowed_cidrs": []string{"127.0.0.64/27"}}, 201)

	env := map[string]string{"EDGE_CALL_LEASE": lease.String()}
	a := edgeproc.StartEdge(t, bins, edgeproc.EdgeConfig{NodeID: "edge-a", Host: "127.0.0.21", RedisAddr: redis.Addr, RTPPorts: 60, Env: env})
	b := edgeproc.StartEdge(t, bins, edgeproc.EdgeConfig{NodeID: "edge-b", Host: "127.0.0.22", RedisAddr: redis.Addr, RTPPorts: 60, Env: env})
	for _, e := range []*edgeproc.Edge{a, b} {
		edgeproc.WaitNumbers(t, e.Metrics, 2, 20*time.Second)
	}
	answered := func(node string, n int) func() bool {
		return func() bool { return len(byNode(calls(t, admin, ws, true), node, tenancy.CallAnswered)) == n }
	}

	dial(t, a, "127.0.0.41", number, 2, hold)
	dial(t, b, "127.0.0.42", number, 2, hold)
	dial(t, b, "127.0.0.70", other, 1, hold)
	eventually(t, 20*time.Second, "two answered calls on each edge", func() bool { return answered("edge-a", 2)() && answered("edge-b", 2)() })
	eventually(t, 10*time.Second, "the other workspace's call answered", func() bool {
		return len(byNode(calls(t, admin, ws2, true), "edge-b", tenancy.CallAnswered)) == 1
	})
	refusals := func() float64 {
		return metric(t, b, "edge_sip_invites_total", `reason="concurrent_limit"`, `result="rejected"`)
	}
	wantRefused := func(when string) {
		t.Helper()
		before := refusals()
		if code := dial(t, b, "127.0.0.43", number, 1, time.Second).wait(20 * time.Second); code == 0 {
			t.Fatalf("%s: a call over the limit of %d was answered", when, limit)
		}
		if refusals() != before+1 {
			t.Fatalf("%s: the call over the limit was not refused concurrent_limit", when)
		}
	}
	wantRefused("before the kill")
	lost := byNode(calls(t, admin, ws, true), "edge-a", "")

	// SIGKILL edge-a: nothing of it says goodbye.
	a.Signal(syscall.SIGKILL)
	killed := time.Now()
	took := eventually(t, lease+lease/2+5*time.Second, "edge-a's records ended node_lost", func() bool {
		return len(byNode(calls(t, admin, ws, false), "edge-a", tenancy.CallAnswered)) == 0
	})
	t.Logf("edge-a's calls ended node_lost %v after the SIGKILL (lease %v, sweep every %v)", took.Round(100*time.Millisecond), lease, lease/2)
	if got := byNode(calls(t, admin, ws, true), "edge-a", ""); len(got) != 0 {
		t.Errorf("edge-a's calls still in the active list: %+v", got)
	}
	wantNodeLost(t, admin, store, ws, lost)
	if n := metric(t, b, "edge_sip_calls_reaped_total"); n != 2 {
		t.Errorf("edge-b reaped %v calls, want 2", n)
	}
	if n := metric(t, b, "edge_sip_call_records_dropped_total"); n != 0 {
		t.Errorf("edge-b dropped %v records", n)
	}

	// The other edge's calls, and the other workspace's, are untouched and
	// carry audio.
	wantAlive(t, admin, ws, b, 2)
	if got := byNode(calls(t, admin, ws2, true), "edge-b", tenancy.CallAnswered); len(got) != 1 {
		t.Errorf("the other workspace's call: %+v, want still answered", got)
	}
	if evs, _, _ := store.ListEvents(context.Background(), ws2.ID, "", 1000); hasEnded(evs) {
		t.Error("the other workspace's stream got a call.ended")
	}
	// The freed slots can be taken again, up to the limit and not over.
	dial(t, b, "127.0.0.44", number, 2, 4*time.Second)
	eventually(t, 15*time.Second, "four calls on edge-b", answered("edge-b", 4))
	wantRefused("after the reap")
	eventually(t, 20*time.Second, "edge-b's short calls ended", answered("edge-b", 2))

	// Restart edge-a with the same id, give it calls, kill it again and
	// restart it at once: it ends its old calls before it serves.
	a.Restart(t)
	edgeproc.WaitNumbers(t, a.Metrics, 2, 20*time.Second)
	dial(t, a, "127.0.0.45", number, 2, hold)
	eventually(t, 15*time.Second, "two answered calls on the restarted edge-a", answered("edge-a", 2))
	lost = byNode(calls(t, admin, ws, true), "edge-a", tenancy.CallAnswered)
	a.Signal(syscall.SIGKILL)
	killed = time.Now()
	a.Wait(t, 10*time.Second)
	a.Restart(t) // returns once it serves HTTP, which it does after the cleanup
	since := time.Since(killed)
	if left := byNode(calls(t, admin, ws, false), "edge-a", tenancy.CallAnswered); len(left) != 0 {
		t.Fatalf("the restarted edge-a serves with its previous calls still answered: %+v", left)
	}
	t.Logf("the restarted edge-a ended its previous process's calls %v after the SIGKILL (lease %v)", since.Round(100*time.Millisecond), lease)
	if since >= lease {
		t.Errorf("restart cleanup took %v, not before the lease of %v", since, lease)
	}
	if n := metric(t, a, "edge_sip_calls_reaped_total"); n != 2 {
		t.Errorf("the restarted edge-a reaped %v calls, want its own 2", n)
	}
	wantNodeLost(t, admin, store, ws, lost)
	wantAlive(t, admin, ws, b, 2)
}

// wantNodeLost checks that each of lost has a record ended node_lost and
// exactly one call.ended event with that reason.
func wantNodeLost(t *testing.T, admin *edgeproc.Admin, store *tenancy.Store, ws edgeproc.Workspace, lost []tenancy.CallRecord) {
	t.Helper()
	if len(lost) == 0 {
		t.Fatal("no lost calls to check")
	}
	evs, _, err := store.ListEvents(context.Background(), ws.ID, "", 10_000)
	if err != nil {
		t.Fatal(err)
	}
	ended := map[string][]string{}
	for _, e := range evs {
		if e.Type == tenancy.EventCallEnded {
			var d struct{ Reason string }
			_ = json.Unmarshal(e.Data, &d)
			ended[e.CallID] = append(ended[e.CallID], d.Reason)
		}
	}
	for _, c := range lost {
		var rec tenancy.CallRecord
		edgeproc.Call(t, "GET", admin.URL+"/v1/workspaces/"+ws.ID+"/calls/"+c.ID, ws.OwnerAPIKey, nil, 200, &rec)
		if rec.State != tenancy.CallEnded || rec.EndReason != tenancy.ReasonNodeLost || rec.EndedAt == nil || rec.AnsweredAt == nil {
			t.Errorf("call %s: %+v, want ended node_lost", c.ID, rec)
		}
		if r := ended[c.ID]; len(r) != 1 || r[0] != tenancy.ReasonNodeLost {
			t.Errorf("call %s: call.ended reasons %v, want one node_lost", c.ID, r)
		}
	}
}

// wantAlive checks that edge e still carries n answered calls, listed
// active, with audio relayed both ways.
func wantAlive(t *testing.T, admin *edgeproc.Admin, ws edgeproc.Workspace, e *edgeproc.Edge, n int) {
	t.Helper()
	if got := byNode(calls(t, admin, ws, true), e.Config.NodeID, tenancy.CallAnswered); len(got) != n {
		t.Fatalf("%s: %d answered active calls, want %d", e.Config.NodeID, len(got), n)
	}
	for _, dir := range []string{`direction="a_to_b"`, `direction="b_to_a"`} {
		before := metric(t, e, "edge_media_rtp_relayed_packets_total", dir)
		eventually(t, 5*time.Second, e.Config.NodeID+" relays audio "+dir, func() bool {
			return metric(t, e, "edge_media_rtp_relayed_packets_total", dir) > before+10
		})
	}
}

func hasEnded(evs []tenancy.Event) bool {
	for _, e := range evs {
		if e.Type == tenancy.EventCallEnded {
			return true
		}
	}
	return false
}
