package sip

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestAdaptiveBoundFollowsTheCPU: a saturated window drops the bound to
// three quarters of the setups in flight, never below the floor; windows
// that keep up raise it back, never above the configured bound.
func TestAdaptiveBoundFollowsTheCPU(t *testing.T) {
	const O, U = true, false // a window over the target, under it
	for _, tc := range []struct {
		name     string
		windows  []bool
		inFlight int
		want     int
	}{
		{"keeps up", []bool{U, U}, 10, 1024},
		{"a blip is not saturation", []bool{O, O, U, O, O, U}, 400, 1024},
		{"saturated", []bool{O, O, O}, 400, 300},
		{"stays saturated", []bool{O, O, O, O}, 400, 225},
		{"down to the floor", []bool{O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O}, 400, 4},
		{"grows back", []bool{O, O, O, U, U}, 400, 300 + 15 + 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newAdaptiveBound(1024)
			for _, over := range tc.windows {
				b.adjust(over, tc.inFlight)
			}
			if got := b.bound(); got != tc.want {
				t.Fatalf("bound %d, want %d", got, tc.want)
			}
		})
	}
	b := newAdaptiveBound(8)
	for range overloadAfter {
		b.adjust(O, 8)
	}
	if b.bound() != 6 {
		t.Fatalf("bound %d, want 6", b.bound())
	}
	for range 10 {
		b.adjust(U, 0)
	}
	if b.bound() != 8 {
		t.Fatalf("bound %d after recovery, want the configured 8", b.bound())
	}
}

// TestSetupGateShedsWhileTheCPUIsSaturated: the gate refuses past the
// bound in force once a window is over the target, and takes setups
// again when the windows keep up; windows of too few events (an idle
// edge) are not a verdict.
func TestSetupGateShedsWhileTheCPUIsSaturated(t *testing.T) {
	g := newSetupGate(64) // floor 4
	for range 8 {
		if !g.enter() {
			t.Fatal("refused under the bound")
		}
	}
	g.window(time.Second, minWindowSamples-1, 20*time.Millisecond)
	if !g.enter() {
		t.Fatal("a window of too few events shed")
	}
	for range overloadAfter {
		g.window(50*time.Millisecond, 1000, 20*time.Millisecond) // 9 in flight: bound 6
	}
	if g.enter() {
		t.Fatal("a saturated CPU let a setup in past three quarters of those in flight")
	}
	for range 3 {
		g.leave("")
	}
	if g.enter() {
		t.Fatal("let in at the bound in force")
	}
	g.window(time.Millisecond, 1000, 20*time.Millisecond) // keeps up: 7
	if !g.enter() {
		t.Fatal("the bound did not grow back")
	}
}

// TestSchedLatencyReadsTheRuntime: the runtime's scheduling latencies are
// read window by window (a delta of the cumulative histogram). How high
// the p99 goes under load is the load test's to show, not a timed test's.
func TestSchedLatencyReadsTheRuntime(t *testing.T) {
	s := newSchedLatency()
	var wg sync.WaitGroup
	end := time.Now().Add(50 * time.Millisecond)
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	_, n := s.window(0.99)
	if n == 0 {
		t.Fatal("no scheduling events read")
	}
	if _, n := s.window(0.99); n > 1000 {
		t.Fatalf("%d events in a window of nothing: the window is not a delta", n)
	}
}
