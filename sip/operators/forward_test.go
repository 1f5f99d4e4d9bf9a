package operators

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestForwardToHoldingNode runs two edge nodes on one Redis: node A holds
// the call, node B does not. Everything about the call sent to B is
// served by A through B, Location included; B alone answers what it may
// (401, 404 of another workspace) without forwarding.
func TestForwardToHoldingNode(t *testing.T) {
	r := tenancytest.StartRedis(t)
	a := newTestNode(t, r, nodeOptions{id: "node-a"})
	b := newTestNode(t, r, nodeOptions{id: "node-b"})
	wsA := newTestWorkspace(t, a.store, "Alpha")
	wsB := newTestWorkspace(t, a.store, "Beta")
	call := a.addCall(t, wsA.id, a.id)
	member := wsA.keys["member"]

	op := newPionOperator(t, true)
	res := do(t, http.MethodPost, b.baseURL+"/v1/calls/"+call+"/operators?mode=listen", member, "application/sdp", op.offer(t))
	if res.status != http.StatusCreated {
		t.Fatalf("join through B: %d %s", res.status, res.body)
	}
	loc := res.header.Get("Location")
	if !strings.HasPrefix(loc, "/v1/calls/"+call+"/operators/") || res.header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("Location %q, Content-Type %q", loc, res.header.Get("Content-Type"))
	}
	op.accept(t, res.body)
	waitFor(t, 5*time.Second, "audio through the holding node", func() bool { return op.received.Load() > 10 })
	if len(a.h.ops.all()) != 1 || len(b.h.ops.all()) != 0 {
		t.Fatalf("operators: A %d, B %d; want 1, 0", len(a.h.ops.all()), len(b.h.ops.all()))
	}

	cases := []struct {
		name, method, path, key, ct, body string
		status                            int
		forwarded                         bool
	}{
		{"list through B shows the operator", http.MethodGet, "/v1/calls", member, "", "", 200, false},
		{"patch through B", http.MethodPatch, loc, member, "application/json", `{"mode":"whisper"}`, 200, true},
		{"patch through B refused by A's checks", http.MethodPatch, loc, member, "application/json", `{"mode":"barge"}`, 403, true},
		{"another workspace is 404 at B", http.MethodDelete, loc, wsB.keys["owner"], "", "", 404, false},
		{"an unknown key is 401 at B", http.MethodDelete, loc, "edk_" + randHex(32), "", "", 401, false},
		{"viewer is 403 at B", http.MethodDelete, loc, wsA.keys["viewer"], "", "", 403, false},
		{"leave through B", http.MethodDelete, loc, member, "", "", 204, true},
		{"gone", http.MethodDelete, loc, member, "", "", 404, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counterValue(t, b, "edge_operators_forwarded_total", "ok")
			res := do(t, tc.method, b.baseURL+tc.path, tc.key, tc.ct, []byte(tc.body))
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			// The counter moves once the proxied response is relayed,
			// which the client may see first.
			forwarded := func() bool { return counterValue(t, b, "edge_operators_forwarded_total", "ok")-before == 1 }
			if tc.forwarded {
				waitFor(t, 2*time.Second, "forwarded count", forwarded)
			} else if time.Sleep(50 * time.Millisecond); forwarded() {
				t.Fatal("forwarded, want answered at B")
			}
			if tc.name == "list through B shows the operator" && !bytes.Contains(res.body, []byte(lastSegment(loc))) {
				t.Fatalf("list: %s", res.body)
			}
		})
	}
	waitEvent(t, a.store, wsA.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": lastSegment(loc), "reason": "left"}, 3*time.Second)

	t.Run("a call of a node that is gone is not active", func(t *testing.T) {
		orphan := a.addCall(t, wsA.id, "node-gone")
		res := do(t, http.MethodPost, b.baseURL+"/v1/calls/"+orphan+"/operators?mode=listen", member, "application/sdp", []byte("v=0"))
		if res.status != http.StatusConflict {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("a forwarded request is never forwarded again", func(t *testing.T) {
		// B's registry entry claims a call of node-a, but the request says
		// it was forwarded already: B must not send it on.
		req, _ := http.NewRequest(http.MethodDelete, b.baseURL+"/v1/calls/"+call+"/operators/0123456789abcdef", nil)
		req.Header.Set("Authorization", "Bearer "+member)
		req.Header.Set(ForwardedHeader, "node-x")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusConflict {
			t.Fatalf("%d", res.StatusCode)
		}
	})
	t.Run("a node that does not answer is 502", func(t *testing.T) {
		if err := a.store.RegisterNode(context.Background(), "node-dead", "127.0.0.1:1", time.Minute); err != nil {
			t.Fatal(err)
		}
		dead := a.addCall(t, wsA.id, "node-dead")
		res := do(t, http.MethodPost, b.baseURL+"/v1/calls/"+dead+"/operators?mode=listen", member, "application/sdp", []byte("v=0"))
		if res.status != http.StatusBadGateway || res.apiError(t).Code != CodeBadGateway {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
}

// counterValue reads a counter of a node's registry with one label value.
func counterValue(t *testing.T, n *testNode, name, label string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
