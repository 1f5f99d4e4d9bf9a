package media

import (
	"fmt"
	"net/netip"
)

// Latching is a trunk's rtp_latching (design section 10): which source a
// leg accepts RTP from before it has latched (RFC 4961 symmetric RTP).
type Latching uint8

const (
	// LatchStrict accepts media only from the SDP address (any port: NAT
	// may rewrite it). The default.
	LatchStrict Latching = iota
	// LatchLearn latches to the first packet's source when the SDP
	// address is private (RFC 1918, RFC 6598, RFC 4193, link-local) or
	// unreachable (a host name, or none): a peer behind NAT that writes
	// its inside address. Until then nothing is sent to that address.
	LatchLearn
)

// ParseLatching parses "strict" or "learn"; "" is strict.
func ParseLatching(s string) (Latching, error) {
	switch s {
	case "", "strict":
		return LatchStrict, nil
	case "learn":
		return LatchLearn, nil
	}
	return 0, fmt.Errorf("%w: rtp latching %q", ErrInvalidConfig, s)
}

// String returns the configuration name.
func (l Latching) String() string {
	if l == LatchLearn {
		return "learn"
	}
	return "strict"
}

// LegOptions are what a leg takes from its peer's SDP besides the RTP
// address and payload types (SetRemote).
type LegOptions struct {
	// RTCP is where the peer wants RTCP (Description.RTCPAddr), RTCPMux
	// whether it multiplexes it on the RTP port (RFC 5761).
	RTCP    netip.AddrPort
	RTCPMux bool
	// Latching is the leg's rtp_latching.
	Latching Latching
	// Direction is the peer's direction (Description.EffectiveDirection):
	// sendonly or inactive means "do not send to me", so the relay stops
	// sending to the held party (RFC 3264 section 8.4).
	Direction Direction
	// ComfortNoise: the peer negotiated CN (PT 13); it is passed through to
	// a peer that did too.
	ComfortNoise bool
}

// SetLegOptions applies o to leg l. Call it before SetRemote with each new
// offer or answer.
func (s *Session) SetLegOptions(l Leg, o LegOptions) error {
	if !l.valid() {
		return fmt.Errorf("set leg options of call %s: %w: %d", s.callID, ErrInvalidLeg, l)
	}
	lg := s.legs[l]
	lg.learn.Store(o.Latching == LatchLearn)
	lg.noRecv.Store(o.Direction == SendOnly || o.Direction == Inactive)
	lg.cn.Store(o.ComfortNoise)
	return s.SetRTCP(l, o.RTCP, o.RTCPMux)
}

// needsLearning reports whether a signalled address is one the edge
// cannot send to as written: no address (a host name in c=), or a private
// one (RFC 1918, RFC 6598 shared space, RFC 4193, link-local, loopback is
// not private), behind a NAT.
func needsLearning(a netip.Addr) bool {
	if !a.IsValid() {
		return true
	}
	return a.IsPrivate() || a.IsLinkLocalUnicast() || cgnat.Contains(a)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
