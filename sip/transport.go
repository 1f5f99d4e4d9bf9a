package sip

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// packetFilter wraps the UDP socket sipgo reads, to act on each datagram
// before it is parsed into a transaction: requests from unknown sources
// are dropped when so configured, sources over their rate are dropped,
// and requests sipgo's parser refuses get a stateless 400 (sipgo would
// drop them silently and the sender would retransmit for 32 s).
// Responses and keepalives pass untouched.
type packetFilter struct {
	net.PacketConn
	s      *Server
	parser *sip.Parser
}

// ReadFrom returns the next datagram that passes the filter.
func (c *packetFilter) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || c.pass(b[:n], addr) {
			return n, addr, err
		}
	}
}

func (c *packetFilter) pass(data []byte, addr net.Addr) bool {
	if len(bytes.Trim(data, "\r\n\x00")) == 0 || bytes.HasPrefix(data, []byte("SIP/")) {
		return true
	}
	ip := addrIP(addr)
	if !c.s.admitSource(ip) {
		return false
	}
	if _, err := c.parser.ParseSIP(data); err != nil {
		c.s.metrics.dropped.WithLabelValues(string(ReasonMalformed)).Inc()
		if resp := badRequestFor(data); resp != nil {
			// Best effort: a lost 400 is retransmitted for by the sender.
			_, _ = c.PacketConn.WriteTo(resp, addr)
		}
		return false
	}
	return true
}

// listenerFilter wraps a TCP or TLS listener: connections from unknown
// sources (when dropped) or from sources over their rate are closed at
// once. sipgo closes a stream connection on a framing error.
type listenerFilter struct {
	net.Listener
	s *Server
}

// Accept returns the next connection that passes the filter.
func (l *listenerFilter) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.s.admitSource(addrIP(conn.RemoteAddr())) {
			return conn, nil
		}
		_ = conn.Close() // refused: nothing to report to the peer
	}
}

// admitSource applies the source ACL (when unknown sources are dropped)
// and the per-source rate limit, counting what it drops. Peers of live
// calls (services) are always admitted.
func (s *Server) admitSource(ip netip.Addr) bool {
	if s.dialogs.isPeer(ip) {
		return true
	}
	if s.cfg.DropUnknownSources && !s.router.KnownSource(ip) {
		s.metrics.dropped.WithLabelValues(string(ReasonUnknownSource)).Inc()
		return false
	}
	if !s.limiter.allow(ip) {
		s.metrics.dropped.WithLabelValues(string(ReasonRateLimited)).Inc()
		return false
	}
	return true
}

// addrIP returns the IP of a UDP or TCP address.
func addrIP(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return v.AddrPort().Addr().Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// sourceIP returns the IP of a request's source ("ip:port").
func sourceIP(req *sip.Request) netip.Addr { return ipOfSource(req.Source()) }

// ipOfSource returns the IP of a message source ("ip:port").
func ipOfSource(src string) netip.Addr {
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
