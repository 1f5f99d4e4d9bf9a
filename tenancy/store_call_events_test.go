package tenancy_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// newEdgeStore is a Store of the edge's ACL user (tenancy.EdgeACL) on r.
func newEdgeStore(t *testing.T, r *tenancytest.Redis) *tenancy.Store {
	t.Helper()
	return pipelinedStore(t, r.EdgeClient(t))
}

// pipelinedStore is a Store on rdb whose call writes go through its
// CallPipeline, as the edge's do; the pipeline closes with the test.
func pipelinedStore(t *testing.T, rdb redis.UniversalClient) *tenancy.Store {
	t.Helper()
	calls := tenancy.NewCallPipeline(rdb)
	t.Cleanup(func() { _ = calls.Close() })
	return tenancy.NewStore(rdb, tenancy.WithCallClient(calls))
}

// TestCallTransitionsInOneScript: admission, answer and end each write
// their record and their event together, as the edge's ACL user; a
// transition sent again (its answer lost) writes nothing; a refused call
// gets no event; a deleted workspace gets nothing.
func TestCallTransitionsInOneScript(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t)
	w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	edge := newEdgeStore(t, r)
	events := func() int64 { return r.Client(t).XLen(ctx, "{ws:"+w.ID+"}:events").Val() }
	base := events()

	rec := tenancy.CallRecord{ID: "call_1", WorkspaceID: w.ID, State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: "n1"}
	started := tenancy.Event{Type: tenancy.EventCallStarted, CallID: rec.ID, Data: []byte(`{"from":"+15550001"}`)}
	if err := edge.AdmitCallEvent(ctx, rec, tenancy.Limits{MaxConcurrentCalls: 1}, time.Minute, "adm1", started); err != nil {
		t.Fatalf("admit: %v", err)
	}
	if n, _ := edge.ActiveCalls(ctx, w.ID); n != 1 || events()-base != 1 {
		t.Fatalf("after admission: %d active, %d events, want 1 and call.started", n, events()-base)
	}
	refused := rec
	refused.ID = "call_2"
	err := edge.AdmitCallEvent(ctx, refused, tenancy.Limits{MaxConcurrentCalls: 1}, time.Minute, "adm2", started)
	if !errors.Is(err, tenancy.ErrLimit) || events()-base != 1 {
		t.Fatalf("over the limit: %v, %d events; want ErrLimit and no event", err, events()-base)
	}

	now := time.Now().UTC()
	rec.State, rec.AnsweredAt = tenancy.CallAnswered, &now
	answered := tenancy.Event{Type: tenancy.EventCallAnswered, CallID: rec.ID, Data: []byte(`{"setup_ms":10}`)}
	if id, err := edge.UpdateCallEvent(ctx, rec, "ans", answered); err != nil || id == "" {
		t.Fatalf("answer: %q %v", id, err)
	}
	ended := rec
	ended.State, ended.EndedAt, ended.EndReason = tenancy.CallEnded, &now, "trunk_hangup"
	endEvent := tenancy.Event{Type: tenancy.EventCallEnded, CallID: rec.ID, Data: []byte(`{"reason":"trunk_hangup"}`)}
	if id, err := edge.EndCallEvent(ctx, ended, "end", endEvent); err != nil || id == "" {
		t.Fatalf("end: %q %v", id, err)
	}
	// The answer replayed after the end (sent again): the once key is
	// there, so neither the record nor the event is written again.
	if id, err := edge.UpdateCallEvent(ctx, rec, "ans", answered); err != nil || id != "" {
		t.Fatalf("the answer again: %q %v, want nothing written", id, err)
	}
	if id, err := edge.EndCallEvent(ctx, ended, "end", endEvent); err != nil || id != "" {
		t.Fatalf("the end again: %q %v, want nothing written", id, err)
	}
	got, err := admin.GetCall(ctx, w.ID, rec.ID)
	if err != nil || got.State != tenancy.CallEnded || got.EndReason != "trunk_hangup" {
		t.Fatalf("record: %+v %v, want ended trunk_hangup", got, err)
	}
	if n, _ := edge.ActiveCalls(ctx, w.ID); n != 0 {
		t.Fatalf("%d active after the end, want 0", n)
	}
	list, _, err := admin.ListEvents(ctx, w.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range list {
		if e.CallID == rec.ID {
			types = append(types, e.Type)
		}
	}
	want := []string{tenancy.EventCallStarted, tenancy.EventCallAnswered, tenancy.EventCallEnded}
	if !slices.Equal(types, want) {
		t.Fatalf("events of the call: %v, want %v", types, want)
	}

	if err := admin.DeleteWorkspace(ctx, tenancy.PlatformPrincipal, w.ID); err != nil {
		t.Fatal(err)
	}
	after := rec
	after.ID = "call_3"
	if err := edge.AdmitCallEvent(ctx, after, tenancy.Limits{}, time.Minute, "adm3", started); !errors.Is(err, tenancy.ErrDeleted) {
		t.Fatalf("admit in a deleted workspace: %v, want ErrDeleted", err)
	}
	if _, err := edge.UpdateCallEvent(ctx, after, "ans3", answered); !errors.Is(err, tenancy.ErrDeleted) {
		t.Fatalf("answer in a deleted workspace: %v, want ErrDeleted", err)
	}
	if _, err := edge.EndCallEvent(ctx, after, "end3", endEvent); !errors.Is(err, tenancy.ErrDeleted) {
		t.Fatalf("end in a deleted workspace: %v, want ErrDeleted", err)
	}
	if n := r.Client(t).HLen(ctx, "{ws:"+w.ID+"}:calls").Val(); n != 0 {
		t.Fatalf("%d records left in a deleted workspace", n)
	}
}
