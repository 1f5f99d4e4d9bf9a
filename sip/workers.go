package sip

import "sync"

// maxWorkers bounds the goroutines a workerPool keeps. Messages past it
// get a goroutine of their own, as sipgo gives every message by default.
const maxWorkers = 256

// A workerPool runs the handling of every SIP message the edge receives
// (sipgo's runner, sip.WithTransactionLayerRunner), and the hangup that
// ends a call (timers.go), on goroutines that outlive them.
//
// sipgo starts a goroutine per message, and an INVITE's handler goes deep
// on it: admission, routing, the service's INVITE, SDP, media ports, the
// call record and its events. A new goroutine starts with a small stack
// that the runtime grows by doubling, copying the whole stack each time;
// at 800 calls/s that growth (runtime.newstack and copystack) was 15% of
// the edge's CPU. A worker of the pool keeps the stack the handlers before
// it grew (the garbage collector halves an idle one at most once a cycle),
// so a message costs a hand-off instead of a goroutine and three or four
// copies.
//
// Nothing waits for a worker: a message finds an idle one, starts a new
// one, or, with maxWorkers busy, gets a goroutine of its own. One
// workspace's slow calls can hold workers but never delay another's
// INVITE.
type workerPool struct {
	free sync.Pool // *workerJob

	mu      sync.Mutex
	idle    []*worker // LIFO: the most recently used stack is the warmest
	started int       // workers running
	max     int
	closed  bool
}

// A worker is one goroutine of the pool; jobs holds at most the one job
// handed to it while it is off the idle list.
type worker struct {
	jobs chan *workerJob // capacity 1
}

// workerJob is one function to run.
type workerJob struct {
	fn func()
}

func newWorkerPool(max int) *workerPool {
	return &workerPool{max: max}
}

// submit runs fn on a worker without waiting for it, or on a goroutine of
// its own when the pool is full or closed. It is sipgo's runner, called
// from a transport's read loop: it never blocks.
func (p *workerPool) submit(fn func()) {
	w := p.take()
	if w == nil {
		go fn()
		return
	}
	w.jobs <- p.job(fn) // never blocks: w is off the idle list with an empty slot
}

// job returns a pooled job for fn.
func (p *workerPool) job(fn func()) *workerJob {
	j, _ := p.free.Get().(*workerJob)
	if j == nil {
		j = &workerJob{}
	}
	j.fn = fn
	return j
}

// take returns an idle worker or a new one, or nil when the pool is full
// or closed.
func (p *workerPool) take() *worker {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		return w
	}
	if p.started >= p.max {
		return nil
	}
	p.started++
	w := &worker{jobs: make(chan *workerJob, 1)}
	go p.work(w)
	return w
}

// work runs w's jobs; after each the job goes back to the pool and the
// worker on the idle list.
func (p *workerPool) work(w *worker) {
	defer func() {
		p.mu.Lock()
		p.started--
		p.mu.Unlock()
	}()
	for j := range w.jobs {
		j.fn()
		j.fn = nil
		p.free.Put(j)
		p.mu.Lock()
		closed := p.closed
		if !closed {
			p.idle = append(p.idle, w)
		}
		p.mu.Unlock()
		if closed {
			return
		}
	}
}

// running returns the number of workers running.
func (p *workerPool) running() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started
}

// close ends the idle workers and, as their handlers return, the busy
// ones; handlers after it run on their own goroutines.
func (p *workerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.idle {
		close(w.jobs)
	}
	p.idle = nil
}
