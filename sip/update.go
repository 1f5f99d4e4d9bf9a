package sip

import (
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// onUpdate takes an UPDATE (RFC 3311) of either leg, in an early or a
// confirmed dialog. Without a body it changes nothing but refreshes the
// session (a session timer refresh, RFC 4028 section 7) and is answered
// 200 without one: a 2xx to UPDATE cannot carry an offer (RFC 3311
// section 5.2). With an SDP offer, in an early dialog the offer is
// applied to its leg and answered at the edge (the other leg has no
// dialog to carry it in yet); in a confirmed one it is carried to the
// other leg like a re-INVITE (forward.go: as UPDATE when that peer allows
// UPDATE, else as re-INVITE) and the answer comes back in the 200. An
// exchange in progress gets 491 (RFC 3311 section 5.2).
func (s *Server) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("UPDATE").Inc()
	ref, ok := s.sessionRequest(req, tx)
	if !ok {
		return
	}
	c := ref.c
	if len(req.Body()) == 0 {
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		s.decorate2xx(res, transportOf(req), true)
		c.decorateTimer(ref.leg, res)
		_ = tx.Respond(res)
		return
	}
	if !c.lockOffer(ref.leg) {
		s.refuse(req, tx, c.pending(ref.leg))
		return
	}
	// The exchange ends with the answer: the lock is released before it
	// leaves, so that the peer's next offer, sent on receipt, finds none in
	// progress.
	body, rej := c.updateOffer(ref.leg, req)
	c.unlockOffer(ref.leg)
	if rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	s.decorate2xx(res, transportOf(req), true)
	c.decorateTimer(ref.leg, res)
	_ = tx.Respond(res)
}

// updateOffer takes the offer of an UPDATE of leg l (the offer lock held)
// and returns the edge's answer: carried to the other leg once the call is
// answered, answered at the edge before.
func (c *call) updateOffer(l media.Leg, req *sip.Request) ([]byte, *Rejection) {
	offer, ans, rej := c.readOffer(l, req)
	if rej != nil {
		return nil, rej
	}
	if c.answered() {
		return c.forwardOffer(l, offer, ans, sip.UPDATE)
	}
	return c.answerUpdateLocally(l, offer, ans)
}

// answerUpdateLocally applies an offer of an early dialog's UPDATE to its
// leg and returns the edge's answer.
func (c *call) answerUpdateLocally(l media.Leg, offer *media.Description, ans media.Answer) ([]byte, *Rejection) {
	if err := c.applyOffer(l, offer, ans); err != nil {
		return nil, classify(err)
	}
	body, err := c.answerFor(l, ans, ans.Direction)
	if err != nil {
		return nil, classify(err)
	}
	return body, nil
}
