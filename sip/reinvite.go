package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// onReinvite answers an INVITE inside a dialog (RFC 3261 section 14.2),
// from the trunk or the service, at the edge: the media of that leg follows
// the new offer (hold, resume, a new address) and the answer takes the
// direction of RFC 3264 section 8.4 (media.AnswerDirection). The other leg
// is not disturbed: the relay anchors the media.
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
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
	var dlg interface {
		ReadRequest(*sip.Request, sip.ServerTransaction) error
	}
	if ref.leg == media.LegA {
		dlg = c.trunkDialog()
	} else {
		dlg = c.svc()
	}
	if err := dlg.ReadRequest(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	body, rej := c.reoffer(ref.leg, req.Body())
	if rej != nil {
		code, phrase := rej.Status()
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, phrase, nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	contact := s.contact(transportOf(req))
	ct := sip.ContentTypeHeader("application/sdp")
	res.AppendHeader(&contact)
	res.AppendHeader(&ct)
	if err := tx.Respond(res); err != nil {
		return
	}
	if ref.leg == media.LegA && !sip.IsReliable(req.Transport()) {
		c.retransmitUntilAck(tx, res, req.CSeq().SeqNo)
	}
}

// reoffer applies a new offer on leg l and returns the edge's answer. An
// offerless re-INVITE gets the edge's current SDP as its offer.
func (c *call) reoffer(l media.Leg, body []byte) ([]byte, *Rejection) {
	c.mu.Lock()
	cur := c.ansA
	if l == media.LegB {
		cur = c.answerB
	}
	c.mu.Unlock()
	if len(body) == 0 {
		out, err := c.s.sdpFor(c.sess, l, []media.Codec{cur.Codec}, cur.TelephoneEventPT, media.SendRecv, cur.Ptime, c.sdpID, c.nextVersion(l))
		if err != nil {
			return nil, classify(err)
		}
		return out, nil
	}
	offer, err := media.ParseSDP(body)
	if err != nil {
		return nil, classify(err)
	}
	ans, err := media.Negotiate(offer, nil)
	if err != nil {
		return nil, classify(err)
	}
	if err := c.sess.SetRemote(l, offer.RTPAddr(), ans.Codec.PT, ans.TelephoneEventPT); err != nil {
		return nil, classify(err)
	}
	c.sess.SetHold(offer.OnHold())
	c.mu.Lock()
	if l == media.LegA {
		c.ansA = ans
	} else {
		c.answerB = ans
	}
	c.mu.Unlock()
	out, err := c.s.sdpFor(c.sess, l, []media.Codec{ans.Codec}, ans.TelephoneEventPT, ans.Direction, ans.Ptime, c.sdpID, c.nextVersion(l))
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// retransmitUntilAck resends a re-INVITE's 200 over UDP until its ACK
// arrives (RFC 3261 section 13.3.1.4: the UAS core, not the transaction,
// retransmits 2xx), for at most 64*T1.
func (c *call) retransmitUntilAck(tx sip.ServerTransaction, res *sip.Response, cseq uint32) {
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	for {
		t := time.NewTimer(interval)
		select {
		case n := <-c.acks:
			t.Stop()
			if n == cseq {
				return
			}
		case <-t.C:
			if err := tx.Respond(res); err != nil {
				return
			}
			interval = min(2*interval, sip.T2)
		case <-deadline.C:
			t.Stop()
			return
		case <-c.ctx.Done():
			t.Stop()
			return
		}
	}
}

// onAck takes the trunk's ACK of a 2xx (a transaction of its own, RFC 3261
// section 17.1.1.3): it confirms leg A, or a re-INVITE of it.
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("ACK").Inc()
	if req.CSeq() == nil {
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok || ref.leg != media.LegA {
		return
	}
	if err := ref.c.readTrunkAck(req, tx); err != nil {
		ref.c.log.Debug("read ack", "error", err)
	}
	select {
	case ref.c.acks <- req.CSeq().SeqNo:
	default:
	}
}

// onOptions answers OPTIONS, the trunks' keepalive (RFC 3261 section 11),
// in or out of a dialog, from a known source.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("OPTIONS").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	ip := sourceIP(req)
	if !s.router.KnownSource(ip) && !s.dialogs.isPeer(ip) {
		s.refuse(req, tx, reject(ReasonUnknownSource, ""))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	_ = tx.Respond(res)
}
