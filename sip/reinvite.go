package sip

import (
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// onReinvite takes an INVITE inside a dialog (RFC 3261 section 14.2) from
// the trunk or the service and carries it end to end (forward.go): the
// other leg gets a re-INVITE with the edge's own offer for that leg (in
// the direction the offerer asked for, so a voice agent learns that the
// caller put it on hold), its answer points the relay at the new media,
// and the offerer gets the edge's answer in the 200. A re-INVITE without
// SDP gets the edge's offer in the 200 and its answer is read from the
// ACK (RFC 3261 section 14.1, RFC 3264); a change of hold it brings is
// then offered to the other leg. An exchange already in progress on the
// call gets 491 (section 14.2).
// sessionRequest takes in a re-INVITE or UPDATE: it checks the request,
// finds its dialog (481 when none), orders its CSeq in the dialog, checks
// its session timer headers (RFC 4028) and counts it as the refresh of its
// leg. It reports false when it answered the request itself.
func (s *Server) sessionRequest(req *sip.Request, tx sip.ServerTransaction) (legRef, bool) {
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return legRef{}, false
	}
	ref, ok := s.matchDialog(req)
	if !ok {
		s.noDialog(req, tx)
		return legRef{}, false
	}
	if err := ref.c.dialog(ref.leg).ReadRequest(req, tx); err != nil {
		s.refuse(req, tx, reject(ReasonOutOfOrder, "CSeq"))
		return legRef{}, false
	}
	if _, rej := readTimer(req, s.cfg.MinSE); rej != nil {
		s.refuse(req, tx, rej)
		return legRef{}, false
	}
	ref.c.refreshed(ref.leg, req)
	return ref, true
}

func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	ref, ok := s.sessionRequest(req, tx)
	if !ok {
		return
	}
	c := ref.c
	if ref.leg == media.LegA && c.awaitingTrunkAck() {
		// The trunk's re-INVITE overtook the ACK of its INVITE (UDP may
		// reorder them): the edge's INVITE transaction is still in
		// progress, so 491 and the trunk offers again (RFC 3261 section 14.2).
		s.refuse(req, tx, reject(ReasonRequestPending, ""))
		return
	}
	if !c.answered() {
		// The service re-offers before the trunk has its 200: answered at
		// the edge, the trunk's leg has nothing to forward to yet.
		c.answerLocally(ref.leg, req, tx)
		return
	}
	if !c.lockOffer(ref.leg) {
		s.refuse(req, tx, c.pending(ref.leg))
		return
	}
	locked := true
	release := func() {
		if locked {
			locked = false
			c.unlockOffer(ref.leg)
		}
	}
	defer release()
	if len(req.Body()) == 0 {
		c.offerInAnswer(ref.leg, req, tx)
		return
	}
	// A refusal ends the exchange: released before it leaves (a 200 holds
	// the lock until its ACK).
	offer, ans, rej := c.readOffer(ref.leg, req)
	if rej != nil {
		release()
		s.refuse(req, tx, rej)
		return
	}
	body, rej := c.forwardOffer(ref.leg, offer, ans, sip.INVITE)
	if rej != nil {
		release()
		s.refuse(req, tx, rej)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	s.decorate2xx(res, transportOf(req), true)
	c.decorateTimer(ref.leg, res)
	if _, err := c.send2xx(tx, res, ref.leg); err != nil {
		c.log.Debug("re-INVITE 2xx not acknowledged", "leg", ref.leg, "error", err)
	}
}

// offerInAnswer answers an offerless re-INVITE of leg l with the edge's
// offer and applies the answer of the ACK. An ACK without a usable answer
// ends the call (no_answer_sdp). A hold or resume the answer brings is
// offered to the other leg.
func (c *call) offerInAnswer(l media.Leg, req *sip.Request, tx sip.ServerTransaction) {
	before := c.heldBy(l)
	body, err := c.edgeOffer(l, media.SendRecv)
	if err != nil {
		c.s.refuse(req, tx, classify(err))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	c.s.decorate2xx(res, transportOf(req), true)
	c.decorateTimer(l, res)
	ack, err := c.send2xx(tx, res, l)
	if err != nil {
		c.log.Debug("offerless re-INVITE not acknowledged", "leg", l, "error", err)
		return
	}
	dir, err := c.applyAnswerDir(l, ack)
	if err != nil {
		c.log.Info("ACK without a usable answer", "leg", l, "error", err)
		c.terminate(errNoAnswerSDP)
		return
	}
	if c.heldBy(l) != before {
		c.offerDirection(otherLeg(l), dir)
	}
}

// answerLocally answers a re-INVITE of leg l at the edge, without the
// other leg: its offer is applied to leg l.
func (c *call) answerLocally(l media.Leg, req *sip.Request, tx sip.ServerTransaction) {
	var body []byte
	var rej *Rejection
	if len(req.Body()) == 0 {
		body, rej = c.currentSDP(l)
	} else {
		body, rej = c.reoffer(l, req)
	}
	if rej != nil {
		c.s.refuse(req, tx, rej)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	c.s.decorate2xx(res, transportOf(req), true)
	c.decorateTimer(l, res)
	if req.IsInvite() {
		_, _ = c.send2xx(tx, res, l)
		return
	}
	_ = tx.Respond(res)
}

// currentSDP is the edge's description of leg l as negotiated, with the
// leg's SRTP profile.
func (c *call) currentSDP(l media.Leg) ([]byte, *Rejection) {
	c.mu.Lock()
	cur := c.ansA
	if l == media.LegB {
		cur = c.answerB
	}
	c.mu.Unlock()
	if cur.Codec.Name == "" {
		body, err := c.edgeOffer(l, media.SendRecv)
		if err != nil {
			return nil, classify(err)
		}
		return body, nil
	}
	body, err := c.answerFor(l, cur, cur.Direction)
	if err != nil {
		return nil, classify(err)
	}
	return body, nil
}

// reoffer applies the offer of req on leg l and returns the edge's answer.
func (c *call) reoffer(l media.Leg, req *sip.Request) ([]byte, *Rejection) {
	offer, ans, rej := c.readOffer(l, req)
	if rej != nil {
		return nil, rej
	}
	if err := c.applyOffer(l, offer, ans); err != nil {
		return nil, classify(err)
	}
	out, err := c.answerFor(l, ans, ans.Direction)
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// applyOffer points leg l of the relay at an offer the edge accepted
// (address, codec, RTCP, latching, SRTP keys), records the profile of the
// edge's answer and the hold state.
func (c *call) applyOffer(l media.Leg, offer *media.Description, ans media.Answer) error {
	prof, err := pointLeg(c.sess, l, offer, ans, c.latching(l))
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.prof[l] = prof
	if l == media.LegA {
		c.ansA = ans
	} else {
		c.answerB = ans
	}
	c.mu.Unlock()
	c.setHeld(l, offer.OnHold())
	return nil
}

// onAck takes an ACK of a 2xx (a transaction of its own, RFC 3261 section
// 17.1.1.3) of either leg: it confirms leg A, or acknowledges a re-INVITE,
// and hands it, with any answer it carries, to the waiting send2xx.
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("ACK").Inc()
	if req.CSeq() == nil {
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok {
		return
	}
	if ref.leg == media.LegA {
		if err := ref.c.readTrunkAck(req, tx); err != nil {
			ref.c.log.Debug("read ack", "error", err)
		}
	}
	select {
	case ref.c.acks <- ackOf{leg: ref.leg, req: req}:
	default:
	}
}

// onOptions answers OPTIONS (RFC 3261 section 11): out of dialog, the
// trunks' keepalive, from a known source; inside a dialog (a To tag) only
// when the dialog is one of a live call, else 481 (section 12.2.2).
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("OPTIONS").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		if _, ok := s.matchDialog(req); !ok {
			s.noDialog(req, tx)
			return
		}
	} else {
		ip := sourceIP(req)
		if !s.router.KnownSource(ip) && !s.dialogs.isPeer(ip) {
			s.refuse(req, tx, reject(ReasonUnknownSource, ""))
			return
		}
	}
	if s.Draining() && !hasToTag(req) {
		s.refuse(req, tx, classify(ErrDraining)) // 503 with Retry-After: use another edge
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Supported", supportedValue()))
	_ = tx.Respond(res)
}
