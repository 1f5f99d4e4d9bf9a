package tenancy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestRestoreAndReassertCallsAfterRedisLostThem: a call admitted from
// memory is restored (slot and record); when Redis loses its slot and
// record, ReassertCalls recreates both; once the call's end is written
// it re-adds nothing. Heartbeat counts the live nodes.
func TestRestoreAndReassertCallsAfterRedisLostThem(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	s := r.Store(t)
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	rec := tenancy.CallRecord{ID: "call_1", WorkspaceID: w.ID, State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: "n1"}
	active := func() int64 {
		t.Helper()
		n, err := s.ActiveCalls(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 2 { // a replay writes the same
		if err := s.RestoreCall(ctx, rec, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.GetCall(ctx, w.ID, rec.ID); err != nil || got.State != tenancy.CallRinging || active() != 1 {
		t.Fatalf("restored: %+v %v, active %d", got, err, active())
	}
	c := r.Client(t)
	if err := c.Del(ctx, "{ws:"+w.ID+"}:active", "{ws:"+w.ID+"}:calls").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RenewLeases(ctx, map[string][]string{w.ID: {rec.ID}}, time.Minute); err != nil || active() != 0 {
		t.Fatalf("RenewLeases recreated a lost slot: %v, active %d", err, active())
	}
	calls := map[string][]tenancy.CallRecord{w.ID: {rec}}
	if err := s.ReassertCalls(ctx, calls, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCall(ctx, w.ID, rec.ID); err != nil || active() != 1 {
		t.Fatalf("reasserted: %v, active %d", err, active())
	}
	ended := rec
	now := time.Now().UTC()
	ended.State, ended.EndedAt = tenancy.CallEnded, &now
	if err := s.EndCall(ctx, ended); err != nil {
		t.Fatal(err)
	}
	if err := s.ReassertCalls(ctx, calls, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCall(ctx, w.ID, rec.ID); got.State != tenancy.CallEnded || active() != 0 {
		t.Fatalf("reassert after the end: %+v, active %d", got, active())
	}
	if err := s.RestoreCall(ctx, rec, time.Minute); err != nil || active() != 0 {
		t.Fatalf("restore after the end reopened the call: %v, active %d", err, active())
	}

	for i, node := range []string{"n1", "n2", "n1"} {
		n, err := s.Heartbeat(ctx, node, time.Minute)
		if want := min(i+1, 2); err != nil || n != want {
			t.Fatalf("heartbeat %s: %d %v, want %d", node, n, err, want)
		}
	}
}

// TestReassertBringsBackACallReapedWhileItsNodeWasCutOff: a node that
// could not reach Redis longer than its lease finds its live call ended
// node_lost by a sweep; re-asserting it once Redis answers restores the
// record and the slot (the node knows the call is up), and the call's
// real end is then written as usual.
func TestReassertBringsBackACallReapedWhileItsNodeWasCutOff(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	rec := tenancy.CallRecord{ID: "call_cut", WorkspaceID: w.ID, State: tenancy.CallAnswered, StartedAt: time.Now().UTC(), NodeID: "n1"}
	if err := s.AdmitCall(ctx, rec, tenancy.Limits{MaxConcurrentCalls: 1}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if reaped, err := s.ReapExpired(ctx); err != nil || len(reaped) != 1 {
		t.Fatalf("reap: %v %v", reaped, err)
	}
	if got, _ := s.GetCall(ctx, w.ID, rec.ID); got.EndReason != "node_lost" {
		t.Fatalf("not reaped: %+v", got)
	}
	if err := s.ReassertCalls(ctx, map[string][]tenancy.CallRecord{w.ID: {rec}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, w.ID, rec.ID)
	if n, _ := s.ActiveCalls(ctx, w.ID); err != nil || got.State != tenancy.CallAnswered || got.EndReason != "" || n != 1 {
		t.Fatalf("after reassert: %+v %v, active %d", got, err, n)
	}
	// The slot is back: the workspace is at its limit of one again.
	other := tenancy.CallRecord{ID: "call_other", WorkspaceID: w.ID, State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: "n2"}
	if err := s.AdmitCall(ctx, other, tenancy.Limits{MaxConcurrentCalls: 1}, time.Minute); !errors.Is(err, tenancy.ErrLimit) {
		t.Fatalf("a second call beside the reasserted one: %v, want the limit", err)
	}
}
