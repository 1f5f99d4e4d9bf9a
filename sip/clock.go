package sip

import (
	"sync"
	"time"
)

// A clock runs fn after a wait, on a goroutine of its own, and again after
// the wait fn returns, until fn returns 0 or stop is called. It is a
// runtime timer (time.AfterFunc) that re-arms itself: a call watched by
// clocks holds no goroutine, and no stack, between their runs (timers.go).
//
// fn runs without the clock's lock held, so it may take long (a session
// refresh waits for its answer) and reset may be called meanwhile; runs
// never overlap: the timer firing during a run is dropped, and the run
// re-arms the clock with what fn returns.
type clock struct {
	mu      sync.Mutex
	t       *time.Timer
	fn      func() time.Duration
	stopped bool
	running bool
}

// startClock arms a clock that runs fn after wait.
func startClock(wait time.Duration, fn func() time.Duration) *clock {
	k := &clock{fn: fn}
	k.mu.Lock()
	k.t = time.AfterFunc(wait, k.fire)
	k.mu.Unlock()
	return k
}

func (k *clock) fire() {
	k.mu.Lock()
	skip := k.stopped || k.running
	k.running = k.running || !skip
	k.mu.Unlock()
	if skip {
		return
	}
	next := k.fn()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.running = false
	if !k.stopped && next > 0 {
		k.t.Reset(next)
	}
}

// reset re-arms the clock to run fn after wait, unless it is stopped.
func (k *clock) reset(wait time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.t.Reset(wait)
	}
}

// stop ends the clock: fn does not run again, though a run in progress
// finishes. It is idempotent, and a nil clock is stopped.
func (k *clock) stop() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	k.t.Stop()
}
