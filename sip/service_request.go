package sip

import (
	"github.com/emiago/sipgo/sip"
)

// Sizes of the INVITE to a service over UDP (RFC 3261 section 18.1.1).
const (
	// udpRequestLimit is the largest request the edge sends over UDP: a
	// request larger than 1300 bytes (the MTU of 1500 less 200) goes over
	// TCP or is made to fit.
	udpRequestLimit = 1300
	// viaReserve is room for the Via header sipgo adds when it sends.
	viaReserve = 120
)

// defaultMaxForwards is the Max-Forwards of a request without one (RFC
// 3261 section 8.1.1.6).
const defaultMaxForwards = 70

// forwardHops is the Max-Forwards of the INVITE to the service: the
// trunk's, decremented (RFC 7332 section 3.2: a B2BUA decrements it, never
// resets it, so that loops through B2BUAs end). A trunk INVITE with
// Max-Forwards 0 never gets here: screen answers it 483.
func forwardHops(req *sip.Request) uint32 {
	if req == nil { // a call the edge placed (outbound.go)
		return defaultMaxForwards - 1
	}
	mf := req.MaxForwards()
	if mf == nil {
		return defaultMaxForwards - 1
	}
	if mf.Val() == 0 {
		return 0
	}
	return mf.Val() - 1
}

// serviceTransport decides how the INVITE to the service goes when its
// target is UDP and the request is larger than RFC 3261 section 18.1.1
// allows over UDP: over TCP when the target does not insist on UDP (no
// transport parameter) and the edge listens on TCP (the service's
// requests in the dialog then reach it); else it stays on UDP and
// X-Voice-Settings is cut down (voiceSettingsValue) until it fits. It
// returns the transport to use, "udp" or "tcp".
func (c *call) serviceTransport(req *sip.Request) string {
	size := len(req.String()) + viaReserve
	if size <= udpRequestLimit {
		return "udp"
	}
	if c.route.Service.Target.Transport == "" {
		if _, ok := c.s.listener("tcp"); ok {
			c.s.metrics.serviceTCP.Inc()
			return "tcp"
		}
	}
	h := req.GetHeader(HeaderVoiceSettings)
	if h == nil {
		return "udp"
	}
	room := len(h.Value()) - (size - udpRequestLimit)
	req.RemoveHeader(HeaderVoiceSettings)
	if v, ok := voiceSettingsValue(c.route, room); ok {
		req.AppendHeader(sip.NewHeader(HeaderVoiceSettings, v))
	}
	c.s.metrics.settingsTrimmed.Inc()
	return "udp"
}

// switchToTCP sends req, built for UDP, over TCP instead: transport,
// Contact and the local address of the UDP listener (Via follows the
// transport when sipgo adds it).
func (c *call) switchToTCP(req *sip.Request) {
	req.SetTransport("TCP")
	req.Laddr = sip.Addr{}
	req.RemoveHeader("Contact")
	contact := c.s.contact("tcp")
	req.AppendHeader(&contact)
}
