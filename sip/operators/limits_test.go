package operators

import (
	"net/http"
	"testing"

	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestOperatorAPILimits: each limit of the operator API holds, and none of
// them reaches another tenant or a valid key.
func TestOperatorAPILimits(t *testing.T) {
	r := tenancytest.StartRedis(t)
	n := newTestNode(t, r, nodeOptions{id: "node-a", cfg: func(c *Config) {
		c.AuthFailRate, c.AuthFailBurst = 0.01, 3
		c.EscalationRate, c.EscalationBurst = 0.01, 2
		c.MaxOperatorsPerCall = 1
	}})
	wsA := newTestWorkspace(t, n.store, "Alpha")
	wsB := newTestWorkspace(t, n.store, "Beta")

	t.Run("failed authentications from one address, then a valid key from it", func(t *testing.T) {
		bad := "edk_" + randHex(32)
		for i := 0; i < 3; i++ {
			if res := do(t, http.MethodGet, n.baseURL+"/v1/calls", bad, "", nil); res.status != http.StatusUnauthorized {
				t.Fatalf("bad key %d: %d", i, res.status)
			}
		}
		res := do(t, http.MethodGet, n.baseURL+"/v1/calls", bad, "", nil)
		if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
			t.Fatalf("bad key past the budget: %d (Retry-After %q), want 429", res.status, res.header.Get("Retry-After"))
		}
		for _, key := range []string{wsA.keys["viewer"], wsB.keys["member"]} {
			if res := do(t, http.MethodGet, n.baseURL+"/v1/calls", key, "", nil); res.status != http.StatusOK {
				t.Fatalf("valid key from the same address: %d %s", res.status, res.body)
			}
		}
	})

	t.Run("escalations per workspace", func(t *testing.T) {
		callA, callB := n.addCall(t, wsA.id, n.id), n.addCall(t, wsB.id, n.id)
		esc := func(call, key string) int {
			return do(t, http.MethodPost, n.baseURL+"/v1/calls/"+call+"/escalations", key, "application/json", []byte(`{"reason":"help"}`)).status
		}
		for i := 0; i < 2; i++ {
			if got := esc(callA, wsA.keys["member"]); got != http.StatusAccepted {
				t.Fatalf("escalation %d of A: %d", i, got)
			}
		}
		if got := esc(callA, wsA.keys["owner"]); got != http.StatusTooManyRequests {
			t.Fatalf("A past its escalation budget (another key of A): %d, want 429", got)
		}
		if got := esc(callB, wsB.keys["member"]); got != http.StatusAccepted {
			t.Fatalf("B while A is over its budget: %d, want 202", got)
		}
	})

	t.Run("operators per call", func(t *testing.T) {
		call := n.addCall(t, wsA.id, n.id)
		first := newPionOperator(t, true)
		res := do(t, http.MethodPost, n.baseURL+"/v1/calls/"+call+"/operators?mode=listen", wsA.keys["member"], "application/sdp", first.offer(t))
		if res.status != http.StatusCreated {
			t.Fatalf("first operator: %d %s", res.status, res.body)
		}
		second := newPionOperator(t, true)
		res = do(t, http.MethodPost, n.baseURL+"/v1/calls/"+call+"/operators?mode=listen", wsA.keys["admin"], "application/sdp", second.offer(t))
		if res.status != http.StatusConflict {
			t.Fatalf("operator past the cap: %d %s, want 409", res.status, res.body)
		}
		other := n.addCall(t, wsB.id, n.id)
		third := newPionOperator(t, true)
		res = do(t, http.MethodPost, n.baseURL+"/v1/calls/"+other+"/operators?mode=listen", wsB.keys["member"], "application/sdp", third.offer(t))
		if res.status != http.StatusCreated {
			t.Fatalf("another workspace's call while A's is full: %d %s", res.status, res.body)
		}
	})
}
