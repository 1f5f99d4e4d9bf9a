//go:build linux

package media

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// A poller reads the RTP and RTCP sockets of a few sessions on one
// goroutine (Manager.poller: four), instead of a goroutine blocked on
// each socket. Its sockets
// (sock: out of Go's netpoller) are in an epoll set of its own,
// level-triggered, whose descriptor is in Go's netpoller: the goroutine
// sleeps there while no socket has a datagram (woken as any goroutine
// waiting on a socket is, with no blocking system call of its own), and
// woken, takes every ready socket of one epoll_wait in turn, one datagram
// each, until none is ready. At load one wake-up serves many packets, and
// no read ends in EAGAIN: a goroutine per socket costs a wake-up, a
// context switch and a failed read for every packet.
//
// One datagram per ready socket per round is also what keeps it fair: a
// socket flooded by its peer gets no more turns than any other (its
// excess is dropped by the kernel when its buffer is full), so a call of
// one workspace cannot delay the media of another's. A handler runs on the
// poller's goroutine and must not block (Tap has the same rule).
//
// The poller runs only while it has sockets: its goroutine ends when the
// last is removed and starts again with the next.
type poller struct {
	epfd int
	ep   *os.File        // epfd, as Go's netpoller sees it
	rc   syscall.RawConn // ep's
	evs  []syscall.EpollEvent
	buf  []byte // the datagram being handled; handlers must not keep it
	wait func(fd uintptr) bool

	mu      sync.Mutex
	subs    map[int32]*pollee // by token (EpollEvent.Fd), from 1
	next    int32
	running bool
	closed  bool
}

// pollee is one socket of a poller and what handles its datagrams.
type pollee struct {
	fd     int
	tok    int32
	handle func(pkt []byte, src netip.AddrPort)
	limit  int // the longest datagram it reads; one that fills it is passed whole and is the handler's to judge

	mu   sync.Mutex // held while a datagram is handled; remove takes it to wait for the handler
	dead bool
}

func newPoller() (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media poller: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("media poller: %w", err)
	}
	ep := os.NewFile(uintptr(fd), "media-epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		return nil, fmt.Errorf("media poller: %w", err)
	}
	p := &poller{epfd: fd, ep: ep, rc: rc, evs: make([]syscall.EpollEvent, 128), buf: make([]byte, readBufferSize), subs: map[int32]*pollee{}}
	p.wait = p.round
	return p, nil
}

// add starts reading s: every datagram of up to limit bytes it receives
// goes to handle, on the poller's goroutine.
func (p *poller) add(s *sock, limit int, handle func(pkt []byte, src netip.AddrPort)) (*pollee, error) {
	pe := &pollee{fd: s.fd, handle: handle, limit: min(limit, readBufferSize)}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	p.next++
	pe.tok = p.next
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: pe.tok}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, pe.fd, &ev); err != nil {
		return nil, fmt.Errorf("media poller: epoll_ctl add: %w", err)
	}
	p.subs[pe.tok] = pe
	if !p.running {
		p.running = true
		go p.run()
	}
	return pe, nil
}

// remove stops reading pe's socket and returns once no handler of it runs
// or will run: its socket may then be closed. It must not be called from a
// handler.
func (p *poller) remove(pe *pollee) {
	if pe == nil {
		return
	}
	p.mu.Lock()
	if _, ok := p.subs[pe.tok]; ok {
		delete(p.subs, pe.tok)
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, pe.fd, nil)
		if len(p.subs) == 0 {
			_ = p.ep.SetReadDeadline(time.Now()) // wakes the goroutine, to end
		}
	}
	p.mu.Unlock()
	pe.mu.Lock() // a handler of an event taken before the removal ends first
	pe.dead = true
	pe.mu.Unlock()
}

// load is how many sockets p reads.
func (p *poller) load() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// close ends p; its sockets must have been removed.
func (p *poller) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ep.Close() // ends a goroutine still waiting
}

func (p *poller) run() {
	for {
		err := p.rc.Read(p.wait)
		p.mu.Lock()
		if p.closed || len(p.subs) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = p.ep.SetReadDeadline(time.Time{}) // sockets came back before it ended
		}
	}
}

// round is one turn over the ready sockets; false (none ready) lets the
// goroutine sleep in Go's netpoller until the epoll set is readable.
func (p *poller) round(fd uintptr) bool {
	n, err := syscall.EpollWait(int(fd), p.evs, 0)
	if n <= 0 {
		return err != nil && err != syscall.EINTR && err != syscall.EAGAIN // a broken epoll set: let run look
	}
	for i := range n {
		p.mu.Lock()
		pe := p.subs[p.evs[i].Fd]
		p.mu.Unlock()
		if pe != nil {
			pe.serve(p.buf)
		}
	}
	return true
}

// serve reads one datagram of pe's socket into buf and handles it.
func (pe *pollee) serve(buf []byte) {
	pe.mu.Lock()
	defer pe.mu.Unlock()
	if pe.dead {
		return
	}
	n, src := recvFrom(pe.fd, buf[:pe.limit])
	if n < 0 {
		return // nothing after all (a datagram the kernel dropped on reading it, or an ICMP error)
	}
	pe.handle(buf[:n], src)
}
