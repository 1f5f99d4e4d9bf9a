package tenancy_test

import (
	"context"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestAppendEventOnceWritesAReplayOnce: the same write sent twice (its
// first answer lost) is one event; another key is another event; the
// edge's ACL user may write them; a deleted workspace gets none; the keys
// of one workspace never hide another's events.
func TestAppendEventOnceWritesAReplayOnce(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t)
	w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	other, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	edge := newEdgeStore(t, r)

	count := func(ws string) int64 {
		return r.Client(t).XLen(ctx, "{ws:"+ws+"}:events").Val()
	}
	base, baseOther := count(w.ID), count(other.ID)
	e := tenancy.Event{Type: tenancy.EventCallEnded, CallID: "call_1", Data: []byte(`{"reason":"trunk_hangup"}`)}
	id, err := edge.AppendEventOnce(ctx, w.ID, "k1", e)
	if err != nil || id == "" {
		t.Fatalf("first write: %q %v", id, err)
	}
	if id, err := edge.AppendEventOnce(ctx, w.ID, "k1", e); err != nil || id != "" {
		t.Fatalf("the same write again: %q %v, want nothing written", id, err)
	}
	if _, err := edge.AppendEventOnce(ctx, w.ID, "k2", e); err != nil {
		t.Fatal(err)
	}
	if _, err := edge.AppendEventOnce(ctx, other.ID, "k1", e); err != nil {
		t.Fatal(err)
	}
	if got := count(w.ID) - base; got != 2 {
		t.Fatalf("%d events written, want 2 (k1 once, k2)", got)
	}
	if got := count(other.ID) - baseOther; got != 1 {
		t.Fatalf("the other workspace has %d, want its own k1", got)
	}
	if _, err := edge.AppendEventOnce(ctx, w.ID, "", e); err == nil {
		t.Fatal("an empty key was accepted")
	}
	if err := admin.DeleteWorkspace(ctx, tenancy.PlatformPrincipal, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := edge.AppendEventOnce(ctx, other.ID, "k9", e); err != tenancy.ErrDeleted {
		t.Fatalf("a deleted workspace: %v, want ErrDeleted", err)
	}
}
