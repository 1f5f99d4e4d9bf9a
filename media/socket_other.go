//go:build !linux

package media

import (
	"net"
	"net/netip"
)

// sock, where the relay has no poller of its own (poller_other.go), is
// the leg's socket as Go's net package has it.
type sock struct{ c *net.UDPConn }

func detach(c *net.UDPConn) (*sock, error) { return &sock{c: c}, nil }

func (s *sock) writeTo(b []byte, dst netip.AddrPort) (int, error) {
	return s.c.WriteToUDPAddrPort(b, dst)
}

func (s *sock) close() { _ = s.c.Close() }
