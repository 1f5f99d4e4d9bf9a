package admin

import (
	"context"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestCalls lists, reads and hangs up calls; a call that is not active
// answers 409, an unknown one 404.
func TestCalls(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	viewer, member := fx.keys["viewer"], fx.keys["member"]
	env.admitCall(t, fx.id, "call-1")
	env.admitCall(t, fx.id, "call-2")

	var page listPage[tenancy.CallRecord]
	env.must(t, 200, "GET", fx.path("/calls?active=true"), viewer, nil).decode(t, &page)
	if len(page.Items) != 2 {
		t.Fatalf("active calls %+v", page.Items)
	}
	var c tenancy.CallRecord
	env.must(t, 200, "GET", fx.path("/calls/call-1"), viewer, nil).decode(t, &c)
	if c.WorkspaceID != fx.id || c.NodeID != "node-1" {
		t.Fatalf("call %+v", c)
	}
	var acc hangupAccepted
	env.must(t, 202, "POST", fx.path("/calls/call-1/hangup"), member, map[string]any{"reason": "abusive caller"}).decode(t, &acc)
	if acc.CallID != "call-1" {
		t.Fatalf("hangup answer %+v", acc)
	}
	ctl, err := env.store.ReadControl(context.Background(), "node-1", "0", 10*time.Millisecond)
	if err != nil || len(ctl) != 1 || ctl[0].CallID != "call-1" || ctl[0].Reason != "abusive caller" {
		t.Fatalf("control to the node: %+v %v", ctl, err)
	}

	now := time.Now()
	c.State, c.EndedAt, c.EndReason = tenancy.CallEnded, &now, "hangup"
	if err := env.store.EndCall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	r := env.must(t, 409, "POST", fx.path("/calls/call-1/hangup"), member, nil)
	if r.apiErr(t).Code != CodeConflict {
		t.Fatalf("%s", r.body)
	}
	env.must(t, 404, "POST", fx.path("/calls/call-9/hangup"), member, nil)
	env.must(t, 404, "GET", fx.path("/calls/call-9"), viewer, nil)
	env.must(t, 422, "POST", fx.path("/calls/call-2/hangup"), member, map[string]any{"reason": string(make([]byte, 300))})

	env.must(t, 200, "GET", fx.path("/calls?active=true"), viewer, nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != "call-2" {
		t.Fatalf("active calls after the end %+v", page.Items)
	}
	env.must(t, 200, "GET", fx.path("/calls?limit=1"), viewer, nil).decode(t, &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
}

// TestHangupsLimitedPerWorkspace: one workspace's flood of hangups is
// refused (429) before it reaches the node's control stream, and another
// workspace's hangup still goes through.
func TestHangupsLimitedPerWorkspace(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.HangupRate, c.HangupBurst = 0.01, 3 })
	a := env.newWorkspace(t, tenancy.EnvDevelopment)
	b := env.newWorkspace(t, tenancy.EnvDevelopment)
	env.admitCall(t, a.id, "call-a")
	env.admitCall(t, b.id, "call-b")
	for i := 0; i < 3; i++ {
		env.must(t, 202, "POST", a.path("/calls/call-a/hangup"), a.keys["member"], nil)
	}
	r := env.must(t, 429, "POST", a.path("/calls/call-a/hangup"), a.keys["owner"], nil)
	if r.header.Get("Retry-After") == "" {
		t.Fatalf("429 without Retry-After")
	}
	env.must(t, 202, "POST", b.path("/calls/call-b/hangup"), b.keys["member"], nil)
	ctl, err := env.store.ReadControl(context.Background(), "node-1", "0", 10*time.Millisecond)
	if err != nil || len(ctl) != 4 {
		t.Fatalf("control stream holds %d requests (%v), want A's 3 and B's 1", len(ctl), err)
	}
}
