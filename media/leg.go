package media

import (
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
	// enc names the codec whatever its payload type (Opus is dynamic);
	// clock is its RTP clock rate in Hz.
	codecPT uint8
	law     law
	enc     encoding
	clock   uint32
	dtmfPT  uint8
	// learn: latch to any source, and send nothing before (LatchLearn with
	// a private or unreachable signalled address). noRecv: the peer said
	// sendonly or inactive; nothing is sent to it.
	learn  bool
	noRecv bool
	// replaced is the source the leg was latched to before signalling
	// named another peer (a transfer, a Replaces): the party that left may
	// send on until its BYE, and must not latch the leg back to itself.
	replaced netip.AddrPort
}

// destination returns where RTP for this peer goes: the latched source
// once known (symmetric RTP), the signalled address before. It reports
// false when there is nowhere to send: no port, or a signalled address of
// 0.0.0.0, the RFC 2543 hold that means "do not send to me" (RFC 3264
// section 8.4).
func (p *peer) destination() (netip.AddrPort, bool) {
	switch {
	case p.noRecv:
		return netip.AddrPort{}, false // on hold: do not send to the held party
	case p.signalled.Port() == 0:
		return netip.AddrPort{}, false
	case p.latched.IsValid():
		if p.signalled.Addr().IsUnspecified() {
			return netip.AddrPort{}, false
		}
		return p.latched, true
	case p.learn, !p.signalled.Addr().IsValid(), p.signalled.Addr().IsUnspecified():
		return netip.AddrPort{}, false // learn first: never send to an inside address
	}
	return p.signalled, true
}

// leg is one side of a session: its socket, its peer and its counters.
type leg struct {
	id    Leg
	ports *portPair // as the port pool knows them (release)
	sock  *sock     // the RTP socket, read and written (socket_linux.go)
	local netip.AddrPort
	peer  atomic.Pointer[peer]
	learn atomic.Bool // rtp_latching: learn (LegOptions)
	// injecting is set while SendDTMF plays an event to the leg: relayed
	// audio to it is held back.
	injecting atomic.Bool
	cn        atomic.Bool // the peer negotiated CN (LegOptions)
	// onLatch counts a latch; learned: onto a source other than the SDP
	// address's IP.
	onLatch func(learned bool)
	noRecv  atomic.Bool // the peer's direction excludes receiving
	stats   legCounters
	out     outStream                   // the RTP stream sent to this leg
	sec     atomic.Pointer[legSecurity] // nil: plain RTP
	tx      sender
	rtcp    *rtcpLeg
	// The stream last sent to the leg, for its SR (noteTx).
	txSSRC, txTS atomic.Uint32
	txAt         atomic.Int64 // nanoseconds since the epoch, plus 1
}

// setRemote publishes a new peer from signalling. A latch survives a
// re-INVITE that signals the same address and port (hold, resume) or
// 0.0.0.0 (legacy hold: the peer may still send, but is not sent to); a new
// address or a new port moves the stream and restarts latching (RFC 3264
// section 8.3.1). With LatchLearn, a private or unreachable address is
// learnt from the first packet instead.
func (l *leg) setRemote(addr netip.AddrPort, c Codec, dtmfPT uint8) {
	next := &peer{signalled: addr, codecPT: c.PT, law: lawOf(c.PT), enc: encodingOf(c), clock: c.ClockRate,
		dtmfPT: dtmfPT, noRecv: l.noRecv.Load()}
	if next.clock == 0 {
		next.clock = clockRate
	}
	l.stats.clock.Store(next.clock)
	ip := addr.Addr()
	next.learn = l.learn.Load() && needsLearning(ip)
	for {
		old := l.peer.Load()
		next.latched, next.replaced = netip.AddrPort{}, netip.AddrPort{}
		switch {
		case old == nil:
		case old.latched.IsValid() && (addr == old.signalled || ip.IsUnspecified()):
			next.latched = old.latched
		case old.latched.IsValid():
			next.replaced = old.latched
		default:
			next.replaced = old.replaced
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
		case src.Addr() != p.signalled.Addr() && !anySource && !p.learn:
			return nil, false
		case src == p.replaced && src != p.signalled:
			return nil, false // the party signalling replaced
		}
		latched := *p
		latched.latched = src
		if l.peer.CompareAndSwap(p, &latched) {
			if l.onLatch != nil {
				l.onLatch(src.Addr() != p.signalled.Addr())
			}
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
	st.SRTP = l.sec.Load().active()
	if l.rtcp != nil {
		st.RTCP = l.rtcp.snapshot(st, l.stats.rate())
	}
	return st
}
