package sip

import (
	"bytes"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
)

// packetFilter wraps the UDP socket sipgo reads, to act on each datagram
// before it is parsed into a transaction: requests from unknown sources
// are dropped when so configured, sources over their rate are dropped,
// requests sipgo's parser refuses get a stateless 400 (or 416 for a
// Request-URI scheme it cannot parse; sipgo would drop them silently and
// the sender would retransmit for 32 s), and requests that fail screen
// (RFC 3261 section 8.2) get its stateless answer. Responses and
// keepalives pass untouched.
type packetFilter struct {
	net.PacketConn
	s      *Server
	parser *sip.Parser
}

// ReadFrom returns the next datagram that passes the filter: a request
// whose parameters screen normalised is rewritten in b when it fits.
func (c *packetFilter) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, req, normalized, err := c.next(b)
	if err == nil && normalized {
		if out := req.String(); len(out) <= len(b) {
			n = copy(b, out)
		}
	}
	return n, addr, err
}

// ReadMessage is ReadFrom that also returns the request the filter parsed
// (sipgo's MessagePacketConn, third_party/sipgo/PATCH.md item 5), as
// normalised: sipgo's UDP transport handles it instead of parsing the
// datagram a second time. A response or a keepalive comes unparsed (nil).
func (c *packetFilter) ReadMessage(b []byte) (int, net.Addr, sip.Message, error) {
	n, addr, req, _, err := c.next(b)
	if req == nil {
		return n, addr, nil, err // not a nil *sip.Request in the interface
	}
	return n, addr, req, err
}

// next reads datagrams into b until one passes the filter, and returns it
// with what pass found of it.
func (c *packetFilter) next(b []byte) (n int, addr net.Addr, req *sip.Request, normalized bool, err error) {
	for {
		n, addr, err = c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, nil, false, err
		}
		var ok bool
		if req, normalized, ok = c.pass(b[:n], addr); ok {
			return n, addr, req, normalized, nil
		}
	}
}

// pass reports whether the datagram data goes on to sipgo, with the
// request it parsed (nil for a response or a keepalive, which pass
// untouched) and whether screen normalised its parameters.
func (c *packetFilter) pass(data []byte, addr net.Addr) (*sip.Request, bool, bool) {
	if len(bytes.Trim(data, "\r\n\x00")) == 0 || bytes.HasPrefix(data, []byte("SIP/")) {
		return nil, false, true
	}
	ip := addrIP(addr)
	refused := c.s.sourceVerdict(ip)
	if refused != "" && !c.s.dialogs.knowsCallID(rawCallID(data)) {
		c.s.metrics.dropped.WithLabelValues(string(refused)).Inc()
		return nil, false, false
	}
	msg, err := c.parser.ParseSIP(data)
	if refused != "" {
		// Let through only what belongs to a live dialog: the source filter
		// never drops those (issue 14 item 7), wherever they come from (a
		// service platform's other node), while the address of a live
		// call's service is no exemption of its own (a tenant chooses it).
		req, ok := msg.(*sip.Request)
		if err != nil || !ok || !hasToTag(req) {
			c.s.metrics.dropped.WithLabelValues(string(refused)).Inc()
			return nil, false, false
		}
		if _, live := c.s.dialogs.match(req); !live {
			c.s.metrics.dropped.WithLabelValues(string(refused)).Inc()
			return nil, false, false
		}
	}
	if err != nil {
		c.s.metrics.dropped.WithLabelValues(string(ReasonMalformed)).Inc()
		if resp := rawRefusal(data); resp != nil {
			// Best effort: a lost 400 is retransmitted for by the sender.
			_, _ = c.PacketConn.WriteTo(resp, addr)
		}
		return nil, false, false
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		return nil, false, true // a response after all ("SIP/" later in the datagram)
	}
	if req.IsInvite() && !hasToTag(req) && c.s.ended.has(req, time.Now()) {
		c.s.metrics.dropped.WithLabelValues(string(ReasonRetransmission)).Inc()
		return nil, false, false // a late copy of an ended call's INVITE (absorb.go)
	}
	normalized := normalizeParams(req)
	rej := screen(req, data)
	if rej == nil {
		rej = c.s.overBudget(req, ip)
	}
	if rej != nil {
		c.s.answerStateless(req, rej, func(out []byte) error {
			_, err := c.PacketConn.WriteTo(out, replyAddr(req, addr))
			return err
		})
		return nil, false, false
	}
	return req, normalized, true
}

// answerStateless answers a request the transport filters refused before
// any transaction (RFC 3261 section 8.2.7: a retransmission gets the same
// answer again, and the ACK of a refused INVITE matches nothing).
func (s *Server) answerStateless(req *sip.Request, rej *Rejection, write func([]byte) error) {
	s.countRefusal(req, rej)
	code, _ := rej.Status()
	if err := write([]byte(rej.responseTo(req).String())); err != nil {
		s.log.Debug("answer refusal", "status", code, "reason", rej.Reason, "error", err)
	}
	s.log.Debug("refused", "method", req.Method, "status", code, "reason", rej.Reason, "detail", rej.Detail, "source", req.Source())
}

// listenerFilter wraps a TCP or TLS listener: connections from unknown
// sources (when dropped) or from sources over their rate are closed at
// once; the others are read through a streamFilter.
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
		ip := addrIP(conn.RemoteAddr())
		if l.s.admitSource(ip) {
			if lc, ok := l.s.limitConn(conn, ip); ok {
				return newStreamFilter(lc, l.s), nil
			}
		}
		_ = conn.Close() // refused: nothing to report to the peer
	}
}

// admitSource applies the source ACL (when unknown sources are dropped)
// and the per-source scanner limit to a TCP or TLS connection, counting
// what it drops.
func (s *Server) admitSource(ip netip.Addr) bool {
	if why := s.sourceVerdict(ip); why != "" {
		s.metrics.dropped.WithLabelValues(string(why)).Inc()
		return false
	}
	return true
}

// sourceVerdict is why a message from ip would be dropped by the source
// filter, or "" when it passes. Carriers (sources in a trunk's CIDRs) pass:
// their requests are held to their trunks' budgets instead (budget.go),
// request by request. Every other source, the services of live calls
// included, is held to the per-source scanner limit; the UDP filter then
// still lets in the requests of live dialogs (packetFilter.pass).
func (s *Server) sourceVerdict(ip netip.Addr) Reason {
	if s.router.KnownSource(ip) {
		return ""
	}
	if s.cfg.DropUnknownSources {
		return ReasonUnknownSource
	}
	if !s.limiter.allow(ip) {
		return ReasonRateLimited
	}
	return ""
}

// rawCallID finds the Call-ID of a raw message (Call-ID or its compact
// form i, RFC 3261 section 7.3.3) without parsing it; "" when none.
func rawCallID(data []byte) string {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return "" // end of the headers
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Call-ID")) || bytes.EqualFold(name, []byte("i")) {
			return string(bytes.TrimSpace(value))
		}
	}
	return ""
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

// maxUDPMessage bounds what the edge sends in one UDP datagram.
const maxUDPMessage = 65000

// sipgo refuses to write a UDP message longer than UDPMTUSize-200 bytes
// (1300 by default), as RFC 3261 section 18.1.1 asks a client to move such
// a request to TCP; but a response must go back over the transport its
// request came by, whatever its size (section 18.2.2), and a long request
// gets a long answer (RFC 4475 longreq: a 1.5 KB 404 echoing its headers).
// The limit is a variable of sipgo's, read by its transports: it is set
// once, before any transport exists.
func init() { sip.UDPMTUSize = maxUDPMessage + 200 }
