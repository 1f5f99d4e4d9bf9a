package sip

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestClockRearmsUntilZero: a clock runs again after the wait its
// function returns and stops when it returns 0.
func TestClockRearmsUntilZero(t *testing.T) {
	var runs atomic.Int32
	done := make(chan struct{})
	k := startClock(time.Millisecond, func() time.Duration {
		if runs.Add(1) == 3 {
			close(done)
			return 0
		}
		return time.Millisecond
	})
	defer k.stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%d runs in 5 s, want 3", runs.Load())
	}
	time.Sleep(20 * time.Millisecond)
	if n := runs.Load(); n != 3 {
		t.Fatalf("%d runs after the function returned 0, want 3", n)
	}
}

// TestClockStopAndReset: a stopped clock never runs, a reset one runs
// after the new wait, and a stop during a run keeps it from re-arming;
// runs never overlap, even when reset fires the timer during one.
func TestClockStopAndReset(t *testing.T) {
	var runs atomic.Int32
	k := startClock(20*time.Millisecond, func() time.Duration { runs.Add(1); return time.Millisecond })
	k.stop()
	k.stop() // idempotent
	time.Sleep(50 * time.Millisecond)
	if n := runs.Load(); n != 0 {
		t.Fatalf("a stopped clock ran %d times", n)
	}
	var nilClock *clock
	nilClock.stop()

	ran := make(chan struct{}, 1)
	k = startClock(time.Hour, func() time.Duration { ran <- struct{}{}; return 0 })
	k.reset(time.Millisecond)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("a clock reset to 1 ms did not run")
	}
	k.stop()

	var inside, overlaps atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	k = startClock(time.Millisecond, func() time.Duration {
		if inside.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer inside.Add(-1)
		entered <- struct{}{}
		<-release
		return time.Millisecond
	})
	<-entered
	k.reset(time.Millisecond) // fires during the run: dropped
	time.Sleep(20 * time.Millisecond)
	k.stop()
	close(release)
	time.Sleep(20 * time.Millisecond)
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d runs overlapped another", n)
	}
	if n := len(entered); n != 0 {
		t.Fatalf("%d runs after stop, want 0", n)
	}
}
