package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestCallWritesShareThePipelineOnACluster: the writes of many calls of
// workspaces on every master, made at once through the edge's call
// pipeline, land each in its own workspace: every workspace admits
// exactly its limit, whatever the others do, and every admitted call's
// answer and end are written once, with their events.
func TestCallWritesShareThePipelineOnACluster(t *testing.T) {
	ctx := context.Background()
	cl := tenancytest.StartCluster(t)
	admin := cl.Store(t)
	rdb := cl.Client(t)
	edge := pipelinedStore(t, rdb)

	var wss []string
	masters := map[string]bool{}
	for i := 0; len(masters) < 3 && i < 60; i++ {
		w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
		wss = append(wss, w.ID)
		masters[cl.MasterOfKey("{ws:"+w.ID+"}:cfg").Addr] = true
	}
	if len(masters) < 3 {
		t.Fatalf("workspaces landed on %d masters only", len(masters))
	}
	before := map[string]int64{} // the events of the workspaces' creation
	for _, ws := range wss {
		before[ws] = rdb.XLen(ctx, "{ws:"+ws+"}:events").Val()
	}
	const limit, tries = 8, 20
	type result struct {
		ws, id string
		err    error
	}
	results := make(chan result, len(wss)*tries)
	var wg sync.WaitGroup
	start := time.Now().UTC()
	for _, ws := range wss {
		for i := range tries {
			wg.Go(func() {
				rec := tenancy.CallRecord{ID: fmt.Sprintf("call_%s_%d", ws[3:], i), WorkspaceID: ws, ServiceID: "front-desk",
					State: tenancy.CallRinging, StartedAt: start, NodeID: "n1"}
				err := edge.AdmitCallEvent(ctx, rec, tenancy.Limits{MaxConcurrentCalls: limit}, time.Minute, rec.ID+"-started",
					tenancy.Event{Type: tenancy.EventCallStarted, Time: start, CallID: rec.ID, Data: []byte(`{}`)})
				results <- result{ws, rec.ID, err}
			})
		}
	}
	wg.Wait()
	close(results)
	admitted := map[string][]string{}
	for r := range results {
		switch {
		case r.err == nil:
			admitted[r.ws] = append(admitted[r.ws], r.id)
		case !errors.Is(r.err, tenancy.ErrLimit):
			t.Fatalf("%s %s: %v", r.ws, r.id, r.err)
		}
	}
	for _, ws := range wss {
		if n := len(admitted[ws]); n != limit {
			t.Fatalf("workspace %s admitted %d calls at a limit of %d", ws, n, limit)
		}
	}

	for ws, ids := range admitted {
		for _, id := range ids {
			wg.Go(func() {
				rec := tenancy.CallRecord{ID: id, WorkspaceID: ws, ServiceID: "front-desk", StartedAt: start, NodeID: "n1"}
				now := time.Now().UTC()
				rec.State, rec.AnsweredAt = tenancy.CallAnswered, &now
				if _, err := edge.UpdateCallEvent(ctx, rec, id+"-answered", tenancy.Event{Type: tenancy.EventCallAnswered, Time: now, CallID: id, Data: []byte(`{}`)}); err != nil {
					t.Errorf("answer %s %s: %v", ws, id, err)
					return
				}
				rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &now, "trunk_hangup"
				if _, err := edge.EndCallEvent(ctx, rec, id+"-ended", tenancy.Event{Type: tenancy.EventCallEnded, Time: now, CallID: id, Data: []byte(`{}`)}); err != nil {
					t.Errorf("end %s %s: %v", ws, id, err)
				}
			})
		}
	}
	wg.Wait()
	for _, ws := range wss {
		if n, err := edge.ActiveCalls(ctx, ws); err != nil || n != 0 {
			t.Fatalf("workspace %s: %d active calls after every end (%v)", ws, n, err)
		}
		if n := rdb.XLen(ctx, "{ws:"+ws+"}:events").Val() - before[ws]; n != 3*limit {
			t.Fatalf("workspace %s: %d events, want %d", ws, n, 3*limit)
		}
		for _, id := range admitted[ws] {
			rec, err := edge.GetCall(ctx, ws, id)
			if err != nil || rec.State != tenancy.CallEnded {
				t.Fatalf("workspace %s call %s: %+v %v", ws, id, rec, err)
			}
		}
	}
	// A call of one workspace is no call of another.
	if _, err := edge.GetCall(ctx, wss[1], admitted[wss[0]][0]); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("a call of another workspace: %v", err)
	}
}

// TestCallWriteOfAStalledRedisEndsWithItsContext: while Redis does not
// answer, a write through the call pipeline fails when its context ends
// (the edge then spools it), not when Redis comes back; once it does, the
// pipeline carries writes again.
func TestCallWriteOfAStalledRedisEndsWithItsContext(t *testing.T) {
	r := tenancytest.StartRedis(t)
	w, _ := newWorkspace(t, r.Store(t), tenancy.EnvDevelopment)
	edge := newEdgeStore(t, r)
	admit := func(ctx context.Context, id string) error {
		rec := tenancy.CallRecord{ID: id, WorkspaceID: w.ID, ServiceID: "front-desk", State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: "n1"}
		return edge.AdmitCall(ctx, rec, tenancy.Limits{MaxConcurrentCalls: 10}, time.Minute)
	}
	if err := admit(context.Background(), "call_0"); err != nil {
		t.Fatal(err)
	}
	pause(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := admit(ctx, "call_1")
	took := time.Since(begin)
	if !errors.Is(err, tenancy.ErrUnavailable) {
		t.Fatalf("admission while Redis is stalled: %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("the stalled admission returned after %v, not with its context", took)
	}
	r.Resume()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admit(ctx, "call_2"); err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
}

// TestCallPipelineRefusesPastItsQueue: while Redis does not answer, the
// call writes waiting for it are bounded: past the bound a write fails at
// once, and the writes given up while Redis stalled are not sent when it
// comes back (their callers spooled them).
func TestCallPipelineRefusesPastItsQueue(t *testing.T) {
	r := tenancytest.StartRedis(t)
	p := tenancy.NewCallPipeline(r.Client(t))
	defer p.Close()
	inFlight := stallWithAWriteInFlight(t, r, p, "given-up")
	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	var full error
	for i := 0; i < 3*8192 && full == nil; i++ {
		begin := time.Now()
		err := p.Eval(gaveUp, script, []string{"given-up"}).Err()
		if took := time.Since(begin); took > time.Second {
			t.Fatalf("write %d returned after %v", i, took)
		}
		switch {
		case errors.Is(err, tenancy.ErrPipelineFull):
			full = err
		case !errors.Is(err, context.Canceled):
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if full == nil {
		t.Fatal("the queue took every write while Redis stalled")
	}
	if err := <-inFlight; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the write awaited while Redis stalled: %v", err)
	}
	r.Resume()
	ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	// The queue is full until the sender has taken it (at once, as soon
	// as the batch in flight is answered).
	n, err := p.Eval(ctx, script, []string{"given-up"}).Int()
	for errors.Is(err, tenancy.ErrPipelineFull) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		n, err = p.Eval(ctx, script, []string{"given-up"}).Int()
	}
	if err != nil {
		t.Fatalf("after Redis came back: %v", err)
	}
	// The first write, the one in flight when Redis stopped (which Redis
	// may still read once it runs again) and this one: none of the writes
	// given up in the queue.
	if n > 3 {
		t.Fatalf("the counter is %d: writes given up were sent", n)
	}
}

// TestCallPipelineKeepsTheOthersShare: while Redis does not answer, one
// workspace's writes take at most half the queue; past that its writes
// fail at once with ErrPipelineShare, while another workspace's still
// queue, as many as the first one's. When Redis is back both write again.
func TestCallPipelineKeepsTheOthersShare(t *testing.T) {
	r := tenancytest.StartRedis(t)
	p := tenancy.NewCallPipeline(r.Client(t))
	defer p.Close()
	keyA, keyB := "{ws:ws_a}:counter", "{ws:ws_b}:counter"
	inFlight := stallWithAWriteInFlight(t, r, p, keyA)
	// Writes given up at once hold their place in the queue, as the
	// writes of callers still waiting would.
	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	fill := func(key string) (queued int, refused error) {
		for range 3 * 8192 {
			err := p.Eval(gaveUp, script, []string{key}).Err()
			if !errors.Is(err, context.Canceled) {
				return queued, err
			}
			queued++
		}
		return queued, nil
	}
	nA, errA := fill(keyA)
	if !errors.Is(errA, tenancy.ErrPipelineShare) || !errors.Is(errA, tenancy.ErrPipelineFull) {
		t.Fatalf("workspace A after %d writes: %v, want its share refused", nA, errA)
	}
	nB, errB := fill(keyB)
	if nB < nA || !errors.Is(errB, tenancy.ErrPipelineFull) {
		t.Fatalf("workspace B queued %d writes (A %d) before %v", nB, nA, errB)
	}
	if err := p.Eval(gaveUp, script, []string{keyA}).Err(); !errors.Is(err, tenancy.ErrPipelineFull) {
		t.Fatalf("A once the queue is full: %v", err)
	}
	t.Logf("queued while Redis stalled: A %d, B %d", nA, nB)
	refused := map[string]float64{}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "edge_redis_call_writes_refused_total":
				refused[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			case "edge_redis_call_writes_queued":
				refused["queued"] = m.GetGauge().GetValue()
			}
		}
	}
	if refused["workspace_share"] < 1 || refused["queue_full"] < 1 || refused["queued"] != float64(nA+nB) {
		t.Errorf("metrics = %v, want both refusals counted and %d writes queued", refused, nA+nB)
	}
	if err := <-inFlight; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the write awaited while Redis stalled: %v", err)
	}
	r.Resume()
	for _, key := range []string{keyA, keyB} {
		ctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.Eval(ctx, script, []string{key}).Err()
		for errors.Is(err, tenancy.ErrPipelineFull) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			err = p.Eval(ctx, script, []string{key}).Err()
		}
		done()
		if err != nil {
			t.Fatalf("%s after Redis came back: %v", key, err)
		}
	}
}

// script is the call write of the pipeline tests: a counter per key.
const script = "return redis.call('INCR', KEYS[1])"

// stallWithAWriteInFlight writes key once, stalls r and makes a write of
// key that Redis does not answer: it holds the pipeline's one batch in
// flight, so the writes after it queue. Its error (its 200 ms deadline)
// comes on the channel.
func stallWithAWriteInFlight(t *testing.T, r *tenancytest.Redis, p *tenancy.CallPipeline, key string) <-chan error {
	t.Helper()
	if err := p.Eval(context.Background(), script, []string{key}).Err(); err != nil {
		t.Fatal(err)
	}
	pause(t, r)
	inFlight := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		inFlight <- p.Eval(ctx, script, []string{key}).Err()
	}()
	time.Sleep(50 * time.Millisecond)
	return inFlight
}

// pause stops r's process until the test resumes it, or until the test
// ends at the latest.
func pause(t *testing.T, r *tenancytest.Redis) {
	r.Pause()
	t.Cleanup(r.Resume)
}
