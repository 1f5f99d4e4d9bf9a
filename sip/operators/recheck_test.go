package operators

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestOperatorDroppedWhenNoLongerAllowed: an operator on a call is checked
// again every RecheckInterval; whatever takes away its right to be there
// drops it within seconds, with operator.left naming why.
func TestOperatorDroppedWhenNoLongerAllowed(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mode   string
		revoke func(t *testing.T, e *isolationEnv)
		reason string
	}{
		{"key revoked", "listen", func(t *testing.T, e *isolationEnv) {
			if err := e.node.store.RevokeAPIKey(ctx, tenancy.PlatformPrincipal, e.a.id, e.a.keyIDs["member"], ""); err != nil {
				t.Fatal(err)
			}
		}, reasonKeyRevoked},
		{"account demoted to viewer", "listen", func(t *testing.T, e *isolationEnv) {
			acct, err := e.node.store.GetAccount(ctx, e.a.id, e.a.accounts["member"])
			if err != nil {
				t.Fatal(err)
			}
			acct.Role = tenancy.RoleViewer
			if _, err := e.node.store.UpdateAccount(ctx, tenancy.PlatformPrincipal, e.a.id, acct); err != nil {
				t.Fatal(err)
			}
		}, reasonRoleRevoked},
		{"account deleted", "listen", func(t *testing.T, e *isolationEnv) {
			if err := e.node.store.DeleteAccount(ctx, tenancy.PlatformPrincipal, e.a.id, e.a.accounts["member"]); err != nil {
				t.Fatal(err)
			}
		}, reasonAccountGone},
		{"removed from the operator config", "listen", func(t *testing.T, e *isolationEnv) {
			e.a.setOperatorConfig(t, e.node.store, []string{e.a.accounts["owner"]}, []string{"listen", "whisper"})
		}, reasonNotAllowed},
		{"mode no longer allowed", "whisper", func(t *testing.T, e *isolationEnv) {
			e.a.setOperatorConfig(t, e.node.store, nil, []string{"listen"})
		}, reasonNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newIsolationEnv(t)
			loc, op := e.joinOK(t, e.a.keys["member"], tc.mode)
			// Still there after a few rechecks.
			time.Sleep(600 * time.Millisecond)
			if len(e.node.h.ops.all()) != 1 {
				t.Fatal("operator dropped while still allowed")
			}
			start := time.Now()
			tc.revoke(t, e)
			waitEvent(t, e.node.store, e.a.id, tenancy.EventOperatorLeft, map[string]any{
				"operator_id": lastSegment(loc), "reason": tc.reason}, 3*time.Second)
			select {
			case <-op.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("the browser's connection stayed up")
			}
			t.Logf("dropped after %v", time.Since(start).Round(time.Millisecond))
			if res := do(t, http.MethodGet, e.node.baseURL+"/v1/calls/"+e.call, e.a.keys["owner"], "", nil); res.status != 200 || strings.Contains(string(res.body), lastSegment(loc)) {
				t.Fatalf("call still lists the operator: %s", res.body)
			}
		})
	}
}

// TestCloseTakesOperatorsOff: closing the handler (the edge stops) takes
// every operator off with operator.left "shutdown", leaves no presence
// behind, and answers later requests 503.
func TestCloseTakesOperatorsOff(t *testing.T) {
	e := newIsolationEnv(t)
	loc, op := e.joinOK(t, e.a.keys["member"], "listen")
	if err := e.node.h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.node.h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := len(e.node.h.ops.all()); n != 0 {
		t.Fatalf("%d operators after Close", n)
	}
	waitEvent(t, e.node.store, e.a.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": lastSegment(loc), "reason": "shutdown"}, time.Second)
	if ops, err := e.node.store.ListOperators(context.Background(), e.a.id); err != nil || len(ops) != 0 {
		t.Fatalf("presence after Close: %v %v", ops, err)
	}
	select {
	case <-op.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the browser's connection stayed up")
	}
	if res := do(t, http.MethodGet, e.node.baseURL+"/v1/calls", e.a.keys["member"], "", nil); res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
		t.Fatalf("after Close: %d %s", res.status, res.body)
	}
}
