package sip

import (
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// maxWorkers bounds the goroutines a workerPool keeps. Handlers past it run
// on the goroutine sipgo started for their message, as they would with no
// pool.
const maxWorkers = 256

// A workerPool runs request handlers, and the deep steps of a call's
// monitor (its media checks and its hangup), on goroutines that outlive
// them.
//
// sipgo starts a goroutine per message, and an INVITE's handler goes deep
// on it: admission, routing, the service's INVITE, SDP, media ports, the
// call record and its events. A new goroutine starts with a small stack
// that the runtime grows by doubling, copying the whole stack each time;
// at 800 calls/s that growth (runtime.newstack and copystack) was 15% of
// the edge's CPU. A worker of the pool keeps the stack the handlers before
// it grew (the garbage collector halves an idle one at most once a cycle),
// so a handler costs a hand-off instead of three or four copies.
//
// Nothing waits for a worker: a handler finds an idle one, starts a new
// one, or, with maxWorkers busy, runs where it is. One workspace's slow
// calls can hold workers but never delay another's INVITE.
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

// workerJob is one handler call; done hands its end back to the caller.
type workerJob struct {
	fn   func()
	done chan struct{} // capacity 1
}

func newWorkerPool(max int) *workerPool {
	return &workerPool{max: max}
}

// handler wraps h so that it runs on the pool.
func (p *workerPool) handler(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		p.run(func() { h(req, tx) })
	}
}

// run calls fn on a worker and returns once fn has returned: sipgo ends a
// request's transaction when its handler returns. A nil pool runs fn
// where it is.
func (p *workerPool) run(fn func()) {
	if p == nil {
		fn()
		return
	}
	w := p.take()
	if w == nil {
		fn()
		return
	}
	j, _ := p.free.Get().(*workerJob)
	if j == nil {
		j = &workerJob{done: make(chan struct{}, 1)}
	}
	j.fn = fn
	w.jobs <- j // never blocks: w is off the idle list with an empty slot
	<-j.done
	j.fn = nil
	p.free.Put(j)
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

// work runs w's jobs. A worker goes back on the idle list before it hands
// a job's end to its caller, so the caller's next handler finds it.
func (p *workerPool) work(w *worker) {
	for j := range w.jobs {
		j.fn()
		p.mu.Lock()
		if p.closed {
			p.started--
			p.mu.Unlock()
			j.done <- struct{}{}
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		j.done <- struct{}{}
	}
	p.mu.Lock()
	p.started--
	p.mu.Unlock()
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
