package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// onBye ends a call on a BYE from either side (RFC 3261 section 15.1.2):
// it answers 200 and the call's watch (timers.go) sends BYE to the other leg.
func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("BYE").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok {
		s.noDialog(req, tx)
		return
	}
	c := ref.c
	var err error
	switch {
	case ref.leg == media.LegA && !c.trunkAnswered():
		// BYE in the trunk's early dialog (RFC 3261 section 15): 200 to
		// the BYE, and the INVITE gets 487 from the call's setup, which
		// cancels the service's INVITE.
		err = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		c.cancel(errTrunkBye)
	case ref.leg == media.LegA:
		c.cancel(errTrunkBye)
		err = c.readTrunkBye(req, tx)
	case c.agentLeaves(req, tx):
		// takeover.go: an operator takes the call over, it goes on.
	default:
		c.cancel(errServiceBye)
		err = c.svc().ReadBye(req, tx)
	}
	if err != nil {
		c.log.Debug("read bye", "leg", ref.leg, "error", err)
	}
}

// matchDialog finds the call leg of an in-dialog request by its dialog
// identifiers (Call-ID and both tags, RFC 3261 section 12.2.2), and checks
// that a trunk's requests come from its trunk's CIDRs. A service's
// requests are matched by dialog alone: an agent platform may send a BYE
// from another node than the one that answered. Anything else is outside
// every dialog.
func (s *Server) matchDialog(req *sip.Request) (legRef, bool) {
	ref, ok := s.dialogs.match(req)
	if !ok || !ref.c.fromSide(ref.leg, sourceIP(req)) {
		return legRef{}, false
	}
	return ref, true
}

// fromSide reports whether ip may send requests on leg l of the call:
// any address for the service's leg, the trunk's CIDRs for the trunk's.
func (c *call) fromSide(l media.Leg, ip netip.Addr) bool {
	if l == media.LegB {
		return true
	}
	if c.out != nil {
		return c.fromGateway(ip)
	}
	for _, p := range c.trunk.Prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// trunkAnswered reports whether the trunk was sent the 200.
func (c *call) trunkAnswered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aUp
}

// noDialog answers a request that matches no dialog (RFC 3261 section
// 12.2.2).
func (s *Server) noDialog(req *sip.Request, tx sip.ServerTransaction) {
	s.log.Debug("no dialog", "method", req.Method, "source", req.Source())
	if req.IsAck() {
		return
	}
	res := sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
	_ = tx.Respond(res)
}

// onCancel answers a CANCEL that matched no INVITE transaction (sipgo
// answers the others itself, and the call follows through its OnCancel).
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("CANCEL").Inc()
	s.noDialog(req, tx)
}
