package tenancy_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// reapFixture is a store on a real Redis with a clock the test moves, and
// what its reap observer saw.
type reapFixture struct {
	r    *tenancytest.Redis
	s    *tenancy.Store
	now  time.Time
	seen []tenancy.Reaped
}

func newReapFixture(t *testing.T) *reapFixture {
	t.Helper()
	r := tenancytest.StartRedis(t)
	f := reapFixtureOn(func(opts ...tenancy.StoreOption) *tenancy.Store { return r.Store(t, opts...) })
	f.r = r
	return f
}

// reapFixtureOn is a fixture on the store newStore makes.
func reapFixtureOn(newStore func(...tenancy.StoreOption) *tenancy.Store) *reapFixture {
	f := &reapFixture{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	f.s = newStore(tenancy.WithClock(func() time.Time { return f.now }),
		tenancy.WithReapObserver(func(r tenancy.Reaped) { f.seen = append(f.seen, r) }))
	return f
}

// admit admits an answered call of node in ws with a 10 s lease.
func (f *reapFixture) admit(t *testing.T, ws, id, node string, limits tenancy.Limits) error {
	t.Helper()
	ctx := context.Background()
	rec := tenancy.CallRecord{ID: id, WorkspaceID: ws, From: "+15550001111", To: "+15550002222", State: tenancy.CallRinging,
		StartedAt: f.now, NodeID: node, Direction: tenancy.DirectionInbound}
	if err := f.s.AdmitCall(ctx, rec, limits, 10*time.Second); err != nil {
		return err
	}
	answered := f.now.Add(time.Second)
	rec.State, rec.AnsweredAt = tenancy.CallAnswered, &answered
	if err := f.s.UpdateCall(ctx, rec); err != nil {
		t.Fatalf("update %s: %v", id, err)
	}
	return nil
}

func (f *reapFixture) call(t *testing.T, ws, id string) tenancy.CallRecord {
	t.Helper()
	rec, err := f.s.GetCall(context.Background(), ws, id)
	if err != nil {
		t.Fatalf("get %s/%s: %v", ws, id, err)
	}
	return rec
}

// endedEvents are the call.ended events of ws, by call id.
func (f *reapFixture) endedEvents(t *testing.T, ws string) map[string]map[string]any {
	t.Helper()
	evs, _, err := f.s.ListEvents(context.Background(), ws, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, e := range evs {
		if e.Type != tenancy.EventCallEnded {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("call.ended data %s: %v", e.Data, err)
		}
		out[e.CallID] = d
	}
	return out
}

func (f *reapFixture) wantNodeLost(t *testing.T, ws, id string) {
	t.Helper()
	rec := f.call(t, ws, id)
	if rec.State != tenancy.CallEnded || rec.EndReason != tenancy.ReasonNodeLost || rec.EndedAt == nil || !rec.EndedAt.Equal(f.now) {
		t.Errorf("%s: record %+v, want ended node_lost at %v", id, rec, f.now)
	}
	if rec.AnsweredAt == nil || rec.From == "" || rec.NodeID == "" {
		t.Errorf("%s: record lost fields in the rewrite: %+v", id, rec)
	}
	d, ok := f.endedEvents(t, ws)[id]
	if !ok {
		t.Fatalf("%s: no call.ended event", id)
	}
	want := float64(f.now.Sub(rec.StartedAt).Milliseconds())
	if d["reason"] != tenancy.ReasonNodeLost || d["duration_ms"] != want || d["talk_ms"] != want-1000 || d["node_id"] != rec.NodeID {
		t.Errorf("%s: call.ended data %v, want node_lost, duration %v", id, d, want)
	}
}

func (f *reapFixture) wantAnswered(t *testing.T, ws, id string) {
	t.Helper()
	if rec := f.call(t, ws, id); rec.State != tenancy.CallAnswered || rec.EndedAt != nil {
		t.Errorf("%s/%s: %+v, want untouched (answered)", ws, id, rec)
	}
	if _, ok := f.endedEvents(t, ws)[id]; ok {
		t.Errorf("%s/%s: has a call.ended event", ws, id)
	}
}

// TestSweepEndsExpiredCallsNodeLostAndLeavesLiveOnes: a call whose lease
// expired is ended node_lost with its call.ended and its slot freed; a
// call of a live node (renewed) of the same workspace is untouched.
func TestSweepEndsExpiredCallsNodeLostAndLeavesLiveOnes(t *testing.T) {
	f := newReapFixture(t)
	ctx := context.Background()
	w, _ := newWorkspace(t, f.s, tenancy.EnvDevelopment)
	for _, c := range []struct{ id, node string }{{"call-dead", "node-dead"}, {"call-live", "node-live"}} {
		if err := f.admit(t, w.ID, c.id, c.node, tenancy.Limits{}); err != nil {
			t.Fatal(err)
		}
	}
	f.now = f.now.Add(9 * time.Second)
	if err := f.s.RenewLeases(ctx, map[string][]string{w.ID: {"call-live"}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(2 * time.Second) // call-dead's lease ran out 1 s ago
	got, err := f.s.ReapExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].CallID != "call-dead" || got[0].Outcome != tenancy.ReapEnded || got[0].NodeID != "node-dead" {
		t.Fatalf("reaped %+v, want call-dead ended", got)
	}
	if len(f.seen) != 1 {
		t.Errorf("observer saw %+v", f.seen)
	}
	f.wantNodeLost(t, w.ID, "call-dead")
	f.wantAnswered(t, w.ID, "call-live")
	if n, _ := f.s.ActiveCalls(ctx, w.ID); n != 1 {
		t.Errorf("active %d, want 1", n)
	}
	if again, _ := f.s.ReapExpired(ctx); len(again) != 0 {
		t.Errorf("second sweep reaped %+v", again)
	}
}

// TestAdmissionReapsExpiredSlotsAndEndsTheirRecords: at its limit, a
// workspace whose only call's node died admits a new call once the lease
// has run out, and the old call's record is ended node_lost in the same
// script.
func TestAdmissionReapsExpiredSlotsAndEndsTheirRecords(t *testing.T) {
	f := newReapFixture(t)
	w, _ := newWorkspace(t, f.s, tenancy.EnvDevelopment)
	one := tenancy.Limits{MaxConcurrentCalls: 1}
	if err := f.admit(t, w.ID, "call-1", "node-dead", one); err != nil {
		t.Fatal(err)
	}
	if err := f.admit(t, w.ID, "call-2", "node-live", one); err == nil {
		t.Fatal("second call admitted over the limit of 1")
	}
	f.now = f.now.Add(11 * time.Second)
	if err := f.admit(t, w.ID, "call-3", "node-live", one); err != nil {
		t.Fatalf("admission after the lease: %v", err)
	}
	f.wantNodeLost(t, w.ID, "call-1")
	if len(f.seen) != 1 || f.seen[0].CallID != "call-1" || f.seen[0].Outcome != tenancy.ReapEnded {
		t.Errorf("observer saw %+v", f.seen)
	}
}

// TestRestartedNodeEndsItsOwnCallsAtOnce: ReapNode ends, before their
// leases run out, the calls of that node in every workspace, and no call
// of another node.
func TestRestartedNodeEndsItsOwnCallsAtOnce(t *testing.T) {
	f := newReapFixture(t)
	a, _ := newWorkspace(t, f.s, tenancy.EnvDevelopment)
	b, _ := newWorkspace(t, f.s, tenancy.EnvStaging)
	for _, ws := range []string{a.ID, b.ID} {
		for _, node := range []string{"node-x", "node-y"} {
			if err := f.admit(t, ws, "call-"+node, node, tenancy.Limits{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.now = f.now.Add(2 * time.Second)
	got, err := f.s.ReapNode(context.Background(), "node-x")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("reaped %+v, want node-x's two calls", got)
	}
	for _, ws := range []string{a.ID, b.ID} {
		f.wantNodeLost(t, ws, "call-node-x")
		f.wantAnswered(t, ws, "call-node-y")
		if n, _ := f.s.ActiveCalls(context.Background(), ws); n != 1 {
			t.Errorf("%s: active %d, want 1", ws, n)
		}
	}
}

// TestReapingOneWorkspaceNeverTouchesAnother: two workspaces hold a call
// with the same id; only one's lease expires: the other's record, events
// and slot stay as they were.
func TestReapingOneWorkspaceNeverTouchesAnother(t *testing.T) {
	f := newReapFixture(t)
	ctx := context.Background()
	a, _ := newWorkspace(t, f.s, tenancy.EnvDevelopment)
	b, _ := newWorkspace(t, f.s, tenancy.EnvStaging)
	for _, ws := range []string{a.ID, b.ID} {
		if err := f.admit(t, ws, "call-1", "node-1", tenancy.Limits{}); err != nil {
			t.Fatal(err)
		}
	}
	f.now = f.now.Add(9 * time.Second)
	if err := f.s.RenewLeases(ctx, map[string][]string{b.ID: {"call-1"}}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(2 * time.Second)
	got, err := f.s.ReapExpired(ctx)
	if err != nil || len(got) != 1 || got[0].WorkspaceID != a.ID {
		t.Fatalf("reaped %+v, %v: want a's call only", got, err)
	}
	f.wantNodeLost(t, a.ID, "call-1")
	f.wantAnswered(t, b.ID, "call-1")
	if n, _ := f.s.ActiveCalls(ctx, b.ID); n != 1 {
		t.Errorf("b: active %d, want 1", n)
	}
}

// TestReapCountsRecordsItCannotEnd: a slot whose record is gone, not JSON,
// already ended, or of a deleted workspace is freed; nothing is written,
// and each is reported (dropped, except the one that had ended).
func TestReapCountsRecordsItCannotEnd(t *testing.T) {
	f := newReapFixture(t)
	ctx := context.Background()
	rdb := f.r.Client(t)
	w, _ := newWorkspace(t, f.s, tenancy.EnvDevelopment)
	gone, _ := newWorkspace(t, f.s, tenancy.EnvStaging)
	for _, id := range []string{"missing", "garbled", "ended"} {
		if err := f.admit(t, w.ID, id, "node-dead", tenancy.Limits{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.admit(t, gone.ID, "deleted", "node-dead", tenancy.Limits{}); err != nil {
		t.Fatal(err)
	}
	calls := "{ws:" + w.ID + "}:calls"
	rdb.HDel(ctx, calls, "missing")
	rdb.HSet(ctx, calls, "garbled", "{not json")
	ended := f.call(t, w.ID, "ended")
	ended.State, ended.EndReason = tenancy.CallEnded, "bye_trunk"
	b, _ := json.Marshal(ended)
	rdb.HSet(ctx, calls, "ended", b)
	rdb.Set(ctx, "{ws:"+gone.ID+"}:deleted", "1", time.Hour)

	f.now = f.now.Add(11 * time.Second)
	got, err := f.s.ReapExpired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"missing": tenancy.ReapMissing, "garbled": tenancy.ReapUndecodable,
		"ended": tenancy.ReapAlreadyEnded, "deleted": tenancy.ReapWorkspaceDeleted}
	if len(got) != len(want) {
		t.Fatalf("reaped %+v", got)
	}
	for _, r := range got {
		if want[r.CallID] != r.Outcome || r.Dropped() != (r.CallID != "ended") {
			t.Errorf("%s: outcome %s (dropped %v), want %s", r.CallID, r.Outcome, r.Dropped(), want[r.CallID])
		}
	}
	if ev := f.endedEvents(t, w.ID); len(ev) != 0 {
		t.Errorf("call.ended written for records it could not end: %v", ev)
	}
	if s, _ := rdb.HGet(ctx, calls, "garbled").Result(); s != "{not json" {
		t.Errorf("garbled record rewritten: %q", s)
	}
	if rec := f.call(t, w.ID, "ended"); rec.EndReason != "bye_trunk" {
		t.Errorf("ended record rewritten: %+v", rec)
	}
	if n, _ := rdb.Exists(ctx, "{ws:"+gone.ID+"}:events").Result(); n != 0 {
		if ev := f.endedEvents(t, gone.ID); len(ev) != 0 {
			t.Errorf("deleted workspace got call.ended: %v", ev)
		}
	}
	for _, ws := range []string{w.ID, gone.ID} {
		if n, _ := rdb.ZCard(ctx, "{ws:"+ws+"}:active").Result(); n != 0 {
			t.Errorf("%s: %d slots left", ws, n)
		}
	}
}

// TestOneNodeSweepsPerInterval: the sweep lock goes to one node per
// interval.
func TestOneNodeSweepsPerInterval(t *testing.T) {
	s := tenancytest.StartRedis(t).Store(t)
	ctx := context.Background()
	if ok, err := s.TakeSweep(ctx, "node-1", 300*time.Millisecond); !ok || err != nil {
		t.Fatalf("first take: %v %v", ok, err)
	}
	if ok, _ := s.TakeSweep(ctx, "node-2", 300*time.Millisecond); ok {
		t.Fatal("a second node took the sweep in the same interval")
	}
	time.Sleep(400 * time.Millisecond)
	if ok, _ := s.TakeSweep(ctx, "node-2", 300*time.Millisecond); !ok {
		t.Fatal("nobody can sweep after the interval")
	}
}

// TestReapOnACluster: the reap scripts stay in each workspace's slot (a
// cross-slot one fails with CROSSSLOT) and the pipelined sweep and a
// restarted node's cleanup reach workspaces on different masters.
func TestReapOnACluster(t *testing.T) {
	cl := tenancytest.StartCluster(t)
	f := reapFixtureOn(func(opts ...tenancy.StoreOption) *tenancy.Store { return cl.Store(t, opts...) })
	ctx := context.Background()
	var ids []string
	masters := map[string]bool{}
	for i := 0; len(masters) < 2 && i < 40; i++ {
		w, _ := newWorkspace(t, f.s, tenancy.EnvDevelopment)
		ids = append(ids, w.ID)
		masters[cl.MasterOfKey("{ws:"+w.ID+"}:cfg").Addr] = true
	}
	if len(masters) < 2 {
		t.Fatal("workspaces on one master only")
	}
	for _, ws := range ids {
		for _, id := range []string{"restarted", "expired"} {
			if err := f.admit(t, ws, id, "node-"+id, tenancy.Limits{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, err := f.s.ReapNode(ctx, "node-restarted"); err != nil || len(got) != len(ids) {
		t.Fatalf("reap node: %d calls, %v; want %d", len(got), err, len(ids))
	}
	f.now = f.now.Add(11 * time.Second)
	if got, err := f.s.ReapExpired(ctx); err != nil || len(got) != len(ids) {
		t.Fatalf("sweep: %d calls, %v; want %d", len(got), err, len(ids))
	}
	for _, ws := range ids {
		f.wantNodeLost(t, ws, "expired")
		if rec := f.call(t, ws, "restarted"); rec.EndReason != tenancy.ReasonNodeLost {
			t.Errorf("%s: restarted node's call %+v", ws, rec)
		}
	}
}

// TestReapingHeldAfterAnOutage: while reaping is held (an edge whose Redis
// was away, for a lease after), neither the sweep nor an admission ends an
// expired lease, and admission still counts only live leases; once the
// hold is over, both reap again.
func TestReapingHeldAfterAnOutage(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	rec := func(id string) tenancy.CallRecord {
		return tenancy.CallRecord{ID: id, WorkspaceID: w.ID, State: tenancy.CallAnswered, StartedAt: time.Now().UTC(), NodeID: "n1"}
	}
	if err := s.AdmitCall(ctx, rec("call_old"), tenancy.Limits{MaxConcurrentCalls: 2}, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	s.HoldReaping(time.Now().Add(300 * time.Millisecond))
	if got, err := s.ReapExpired(ctx); err != nil || len(got) != 0 {
		t.Fatalf("sweep while held: %v %v", got, err)
	}
	if err := s.AdmitCall(ctx, rec("call_new"), tenancy.Limits{MaxConcurrentCalls: 2}, time.Minute); err != nil {
		t.Fatalf("admission while held: %v", err)
	}
	if got, _ := s.GetCall(ctx, w.ID, "call_old"); got.State == tenancy.CallEnded {
		t.Fatalf("an admission reaped while held: %+v", got)
	}
	time.Sleep(350 * time.Millisecond)
	if got, err := s.ReapExpired(ctx); err != nil || len(got) != 1 || got[0].CallID != "call_old" {
		t.Fatalf("sweep after the hold: %+v %v", got, err)
	}
}
