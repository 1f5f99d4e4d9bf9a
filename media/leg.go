package media

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Leg names one side of a session.
type Leg uint8

// The two legs of a call.
const (
	// LegA is the trunk side: the carrier's media gateway.
	LegA Leg = iota
	// LegB is the service side: the voice agent.
	LegB
)

// String returns "a" or "b".
func (l Leg) String() string {
	switch l {
	case LegA:
		return "a"
	case LegB:
		return "b"
	default:
		return "invalid"
	}
}

// other returns the opposite leg.
func (l Leg) other() Leg { return 1 - l }

func (l Leg) valid() bool { return l == LegA || l == LegB }

// peer is what a leg knows of the far end it exchanges RTP with. It is
// immutable once published: SetRemote and latching swap in a new one, so the
// relay reads it with one atomic load and no lock.
type peer struct {
	// signalled is the RTP address of the peer's SDP.
	signalled netip.AddrPort
	// latched is the source address RTP actually came from (RFC 4961);
	// invalid until the first packet is accepted.
	latched netip.AddrPort
	// codecPT and law describe the peer's audio codec; dtmfPT is its
	// telephone-event payload type or NoPayloadType.
	codecPT uint8
	law     law
	dtmfPT  uint8
}

// destination returns where RTP for this peer goes: the latched source
// once known (symmetric RTP), the signalled address before. It reports
// false when there is nowhere to send: no port, or a signalled address of
// 0.0.0.0, the RFC 2543 hold that means "do not send to me" (RFC 3264
// section 8.4).
func (p *peer) destination() (netip.AddrPort, bool) {
	if !p.signalled.IsValid() || p.signalled.Addr().IsUnspecified() || p.signalled.Port() == 0 {
		return netip.AddrPort{}, false
	}
	if p.latched.IsValid() {
		return p.latched, true
	}
	return p.signalled, true
}

// leg is one side of a session: its socket, its peer and its counters.
type leg struct {
	id    Leg
	conn  *net.UDPConn
	local netip.AddrPort
	peer  atomic.Pointer[peer]
	stats legCounters
	out   outStream // the RTP stream sent to this leg
}

// setRemote publishes a new peer from signalling. A latch survives a
// re-INVITE that keeps the address (hold, resume) or signals 0.0.0.0
// (legacy hold: the peer may still send, but is not sent to); a new IP or
// a new port restarts latching (the peer moved its media, RFC 3264
// section 8.3.1).
func (l *leg) setRemote(addr netip.AddrPort, codecPT, dtmfPT uint8) {
	next := &peer{signalled: addr, codecPT: codecPT, law: lawOf(codecPT), dtmfPT: dtmfPT}
	ip := addr.Addr()
	for {
		old := l.peer.Load()
		next.latched = netip.AddrPort{}
		if old != nil && old.latched.IsValid() &&
			(addr == old.signalled || ip.IsUnspecified()) {
			next.latched = old.latched
		}
		if l.peer.CompareAndSwap(old, next) {
			return
		}
	}
}

// accept checks the source of a packet received on the leg (RFC 4961
// symmetric RTP): once latched only the latched address is accepted; before
// that a source with the signalled IP (any port: NAT may rewrite it), or any
// source when anySource is set, is accepted and latched. It returns the peer
// in force, or nil when the packet must be dropped; notReady reports that
// the leg has no peer yet.
func (l *leg) accept(src netip.AddrPort, anySource bool) (p *peer, notReady bool) {
	for {
		p = l.peer.Load()
		switch {
		case p == nil:
			return nil, true
		case p.latched.IsValid():
			if p.latched == src {
				return p, false
			}
			return nil, false
		case src.Addr() != p.signalled.Addr() && !anySource:
			return nil, false
		}
		latched := *p
		latched.latched = src
		if l.peer.CompareAndSwap(p, &latched) {
			return &latched, false
		}
		// Signalling replaced the peer meanwhile: judge against the new one.
	}
}

// snapshot returns the leg's counters; epoch is the session's time origin.
func (l *leg) snapshot(epoch time.Time) LegStats {
	st := l.stats.snapshot(epoch)
	if p := l.peer.Load(); p != nil {
		st.Latched = p.latched.IsValid()
	}
	return st
}
