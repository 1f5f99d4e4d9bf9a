package sip

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits of SIP over TCP and TLS (issue 10): a connection costs a
// descriptor, buffers and a goroutine of sipgo's for as long as it is
// open, so the edge bounds how many there are (in all and per source),
// closes connections that stay silent (RFC 5626 keepalives keep good ones
// open), bounds the TLS handshake, and holds every message on a stream to
// the same per-source limit as a datagram (streamFilter.feed).

// connSlots counts the open stream connections, in all and per source.
type connSlots struct {
	total, perSource int

	mu    sync.Mutex
	open  int
	bySrc map[netip.Addr]int
}

func newConnSlots(total, perSource int) *connSlots {
	return &connSlots{total: total, perSource: perSource, bySrc: map[netip.Addr]int{}}
}

// acquire takes a slot for a connection from ip; release gives it back.
func (s *connSlots) acquire(ip netip.Addr) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open >= s.total || s.bySrc[ip] >= s.perSource {
		return nil, false
	}
	s.open++
	s.bySrc[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.open--
			if s.bySrc[ip]--; s.bySrc[ip] <= 0 {
				delete(s.bySrc, ip)
			}
		})
	}, true
}

// openConns is the number of stream connections open now.
func (s *connSlots) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// limitedConn is an accepted stream connection holding a slot: it frees
// the slot when closed, and each read waits at most its idle timeout (the
// first read of a TLS connection, which runs the handshake, at most the
// handshake timeout).
type limitedConn struct {
	net.Conn
	idle      time.Duration
	handshake time.Duration
	release   func()
	first     bool
}

func (c *limitedConn) Read(b []byte) (int, error) {
	d := c.idle
	if c.first {
		c.first = false
		if _, isTLS := c.Conn.(*tls.Conn); isTLS {
			d = c.handshake
		}
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	return c.Conn.Read(b)
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// limitConn gives an accepted connection from ip its slot and timeouts,
// or reports false (the connection is then to be closed at once).
func (s *Server) limitConn(conn net.Conn, ip netip.Addr) (net.Conn, bool) {
	release, ok := s.conns.acquire(ip)
	if !ok {
		s.metrics.dropped.WithLabelValues(string(ReasonTooManyConns)).Inc()
		return nil, false
	}
	idle := s.cfg.StreamIdleTimeout
	if s.router.KnownSource(ip) {
		idle = s.cfg.CarrierStreamIdleTimeout
	}
	return &limitedConn{Conn: conn, idle: idle, handshake: s.cfg.TLSHandshakeTimeout, release: release, first: true}, true
}
