package sip

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voiceedge/edge/tenancy"
)

// pacerFunc is a trunkPacer of a function.
type pacerFunc func() (time.Duration, bool, error)

func (f pacerFunc) TakeTrunkSlot(context.Context, string, string, int, time.Duration) (time.Duration, bool, error) {
	return f()
}

// TestCPSLimiterSharedThenLocal: the shared pace decides while it answers
// (its refusal is trunk_cps_limit, its wait is waited); when it fails the
// node paces on its own, and counts the failure.
func TestCPSLimiterSharedThenLocal(t *testing.T) {
	met, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{metrics: met, log: testLogger(), bgCtx: context.Background(), cfg: Config{StoreTimeout: time.Second}}
	ctx := context.Background()

	refuse := newCPSLimiter(pacerFunc(func() (time.Duration, bool, error) { return 0, false, nil }))
	if err := refuse.take(ctx, s, "ws_a", "out", 5); dialReason(err) != ReasonTrunkCPS {
		t.Fatalf("shared refusal: %v, want %s", err, ReasonTrunkCPS)
	}
	waited := newCPSLimiter(pacerFunc(func() (time.Duration, bool, error) { return 120 * time.Millisecond, true, nil }))
	start := time.Now()
	if err := waited.take(ctx, s, "ws_a", "out", 5); err != nil || time.Since(start) < 120*time.Millisecond {
		t.Fatalf("shared wait: %v after %v", err, time.Since(start))
	}

	down := newCPSLimiter(pacerFunc(func() (time.Duration, bool, error) {
		return 0, false, fmt.Errorf("trunk pace: %w", tenancy.ErrUnavailable)
	}))
	// 1 CPS on this node alone: the first dial at once, the next two a
	// second apart, the fourth beyond the 2 s queue.
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second} {
		got, ok := down.local("ws_a/out", 1)
		if !ok || got < want-50*time.Millisecond || got > want {
			t.Fatalf("local dial %d: %v %v, want %v", i, got, ok, want)
		}
	}
	if _, ok := down.local("ws_a/out", 1); ok {
		t.Fatal("a local dial beyond the queue")
	}
	if _, ok := down.local("ws_b/out", 1); !ok {
		t.Fatal("another workspace's trunk waited for this one's")
	}
	before := testutil.ToFloat64(met.storeErrors.WithLabelValues("trunk_pace"))
	if err := down.take(ctx, s, "ws_c", "out", 1); err != nil {
		t.Fatalf("Redis away: %v, want this node's pace", err)
	}
	if testutil.ToFloat64(met.storeErrors.WithLabelValues("trunk_pace")) != before+1 {
		t.Fatal("the shared pace's failure is not counted")
	}
}
