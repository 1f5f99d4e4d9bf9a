package sip

import (
	"sync"
	"testing"
	"time"
)

// runOn submits fn to p and returns once it has run.
func runOn(p *workerPool, fn func()) {
	done := make(chan struct{})
	p.submit(func() { fn(); close(done) })
	<-done
}

// waitIdle waits until n of p's workers wait for a function.
func waitIdle(t testing.TB, p *workerPool, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); idleWorkers(p) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers, want %d", idleWorkers(p), n)
		}
	}
}

// TestWorkerPoolReusesItsWorkers: handlers one after another run on one
// worker, and a handler that finds every worker busy and the pool full
// runs at once on a goroutine of its own.
func TestWorkerPoolReusesItsWorkers(t *testing.T) {
	p := newWorkerPool(2)
	defer p.close()
	for range 100 {
		runOn(p, func() {})
		waitIdle(t, p, 1)
	}
	if n := p.running(); n != 1 {
		t.Fatalf("%d workers after 100 handlers in a row, want 1", n)
	}

	release := make(chan struct{})
	var busy, held sync.WaitGroup
	for range 2 {
		busy.Add(1)
		held.Add(1)
		p.submit(func() { busy.Done(); <-release; held.Done() })
	}
	busy.Wait()
	if n := p.running(); n != 2 {
		t.Fatalf("%d workers with two handlers held, want 2", n)
	}
	done := make(chan struct{})
	p.submit(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a handler waited for a busy pool")
	}
	if n := p.running(); n != 2 {
		t.Fatalf("%d workers, want the bound of 2", n)
	}
	close(release)
	held.Wait()
}

// TestWorkerPoolCloseEndsItsWorkers: close ends the idle workers and the busy
// ones once their handlers return; handlers after it still run.
func TestWorkerPoolCloseEndsItsWorkers(t *testing.T) {
	p := newWorkerPool(4)
	release := make(chan struct{})
	started := make(chan struct{})
	p.submit(func() { close(started); <-release })
	<-started
	runOn(p, func() {})
	p.close()
	p.close()
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for p.running() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers left after close", p.running())
		}
		time.Sleep(time.Millisecond)
	}
	runOn(p, func() {})
	if n := p.running(); n != 0 {
		t.Fatalf("after close: %d workers", n)
	}
}

// deep uses about n KB of stack, as an INVITE's set-up does.
//
//go:noinline
func deep(n int) int {
	var pad [1000]byte
	pad[n%len(pad)] = byte(n)
	if n <= 1 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%len(pad)])
}

// BenchmarkHandlerStack compares a handler needing 16 KB of stack on a new
// goroutine per message (sipgo's way) with the same handler on the pool.
func BenchmarkHandlerStack(b *testing.B) {
	b.Run("goroutine per message", func(b *testing.B) {
		done := make(chan struct{})
		for b.Loop() {
			go func() { deep(16); done <- struct{}{} }()
			<-done
		}
	})
	b.Run("worker pool", func(b *testing.B) {
		p := newWorkerPool(maxWorkers)
		defer p.close()
		done := make(chan struct{})
		for b.Loop() {
			p.submit(func() { deep(16); done <- struct{}{} })
			<-done
		}
	})
}

// TestWorkerPoolSubmitNeverWaits: submitted functions run on the pool's
// workers, within its bound, and with every worker held a submitted
// function still runs at once, as after close.
func TestWorkerPoolSubmitNeverWaits(t *testing.T) {
	p := newWorkerPool(2)
	var ran sync.WaitGroup
	for range 100 {
		ran.Add(1)
		p.submit(ran.Done)
	}
	ran.Wait()
	if n := p.running(); n < 1 || n > 2 {
		t.Fatalf("%d workers after 100 submitted functions, want 1-2", n)
	}

	waitIdle(t, p, p.running())
	release := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(2)
	for range 2 {
		p.submit(func() { busy.Done(); <-release })
	}
	busy.Wait()
	if n := p.running(); n != 2 {
		t.Fatalf("%d workers with two functions held, want the bound of 2", n)
	}
	for _, when := range []string{"with the pool full", "after close"} {
		done := make(chan struct{})
		p.submit(func() { close(done) })
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("a function submitted %s waited", when)
		}
		if when == "with the pool full" {
			close(release)
			p.close()
		}
	}
}

// idleWorkers is the number of p's workers waiting for a function.
func idleWorkers(p *workerPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
