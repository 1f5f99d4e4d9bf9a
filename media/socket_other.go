//go:build !linux

package media

import (
	"net"
	"net/netip"
)

// sock, where the relay has no poller of its own (poller_other.go), is
// the leg's socket as Go's net package has it.
type sock struct{ c *net.UDPConn }

// bindSock opens a UDP socket bound to addr.
func bindSock(addr netip.AddrPort) (*sock, error) {
	network := "udp4"
	if addr.Addr().Is6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return &sock{c: c}, nil
}

func (s *sock) writeTo(b []byte, dst netip.AddrPort) (int, error) {
	return s.c.WriteToUDPAddrPort(b, dst)
}

func (s *sock) close() { _ = s.c.Close() }
