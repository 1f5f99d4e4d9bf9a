//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// poller, where there is no epoll, reads each socket on a goroutine of
// its own, the way the relay did before poller_linux.go: the same
// contract, without its savings.
type poller struct {
	mu     sync.Mutex
	n      int
	closed bool
}

type pollee struct {
	conn *net.UDPConn
	dead chan struct{}
	done chan struct{}
}

func newPoller() (*poller, error) { return &poller{}, nil }

func (p *poller) add(s *sock, limit int, handle func(pkt []byte, src netip.AddrPort)) (*pollee, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	p.n++
	conn := s.c
	pe := &pollee{conn: conn, dead: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pe.done)
		buf := make([]byte, min(limit, readBufferSize))
		for {
			n, src, err := conn.ReadFromUDPAddrPort(buf)
			select {
			case <-pe.dead:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				handle(buf[:n], src)
			}
		}
	}()
	return pe, nil
}

func (p *poller) remove(pe *pollee) {
	if pe == nil {
		return
	}
	close(pe.dead)
	_ = pe.conn.SetReadDeadline(time.Now())
	<-pe.done
	p.mu.Lock()
	p.n--
	p.mu.Unlock()
}

func (p *poller) load() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *poller) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}
