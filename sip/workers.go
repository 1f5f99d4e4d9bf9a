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
	jobs chan *workerJob // unbuffered: a send succeeds only when a worker waits
	quit chan struct{}
	free sync.Pool // *workerJob

	mu      sync.Mutex
	started int // workers running
	max     int
	closed  bool
}

// workerJob is one handler call; done hands its end back to the caller.
type workerJob struct {
	fn   func()
	done chan struct{} // capacity 1
}

func newWorkerPool(max int) *workerPool {
	return &workerPool{jobs: make(chan *workerJob), quit: make(chan struct{}), max: max}
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
	j, _ := p.free.Get().(*workerJob)
	if j == nil {
		j = &workerJob{done: make(chan struct{}, 1)}
	}
	j.fn = fn
	select {
	case p.jobs <- j:
	default:
		if !p.start(j) {
			j.fn = nil
			p.free.Put(j)
			fn()
			return
		}
	}
	<-j.done
	p.free.Put(j)
}

// start starts a worker with j as its first job, unless the pool is full
// or closed.
func (p *workerPool) start(j *workerJob) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.started >= p.max {
		return false
	}
	p.started++
	go p.work(j)
	return true
}

func (p *workerPool) work(j *workerJob) {
	defer func() {
		p.mu.Lock()
		p.started--
		p.mu.Unlock()
	}()
	for {
		fn := j.fn
		j.fn = nil
		fn()
		j.done <- struct{}{}
		select {
		case j = <-p.jobs:
		case <-p.quit:
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
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
}
