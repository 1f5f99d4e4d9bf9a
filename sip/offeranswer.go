package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// Offer/answer in every position (RFC 3261 section 13.2.1, RFC 3264): an
// offer in the INVITE is answered in the 2xx; an INVITE without SDP (the
// delayed offer of Cisco CUCM and others) gets the edge's offer in the 2xx
// and the answer comes in the ACK. The same holds for re-INVITEs of
// either leg (reinvite.go). An ACK that should carry an answer and does
// not, or carries one the edge cannot use, ends the call on both legs
// (end reason no_answer_sdp): the dialog exists but has no session.

// ackOf is an ACK the edge received, with the leg it belongs to.
type ackOf struct {
	leg media.Leg
	req *sip.Request
}

// errAckTimeout reports a 2xx that was never acknowledged.
var errAckTimeout = errors.New("no ACK within 64*T1")

// confirmTrunk answers the trunk's INVITE 200, with the edge's answer or,
// after a delayed offer, its offer, and waits for the ACK; a delayed
// offer's answer is taken from the ACK. Leg A counts as up from the 200
// on, so a trunk that never acknowledges is sent a BYE (RFC 3261 section
// 13.3.1.4).
func (c *call) confirmTrunk() error {
	var body []byte
	var err error
	if c.offerless {
		body, err = c.edgeOffer(media.LegA, media.SendRecv)
	} else {
		body, err = c.answerSDP(c.ansA.Direction)
	}
	if err != nil {
		return err
	}
	res := sip.NewResponseFromRequest(c.a.InviteRequest, 200, "OK", body)
	c.s.decorate2xx(res, transportOf(c.req), true)
	c.decorateTimer(media.LegA, res)
	c.a.InviteResponse = res
	c.mu.Lock()
	c.aUp = true
	c.mu.Unlock()
	ack, err := c.send2xx(c.tx, res, media.LegA)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoAck, err)
	}
	if !c.offerless {
		return nil
	}
	if _, err := c.applyAnswerDir(media.LegA, ack); err != nil {
		return fmt.Errorf("%w: %w", errNoAnswerSDP, err)
	}
	return nil
}

// decorate2xx adds what every 2xx of the edge carries: its Contact, Allow
// and Supported (RFC 3261 section 13.3.1.4), and Content-Type when there
// is a body.
func (s *Server) decorate2xx(res *sip.Response, transport string, dialog bool) {
	if dialog && res.Contact() == nil {
		contact := s.contact(transport)
		res.AppendHeader(&contact)
	}
	res.AppendHeader(sip.NewHeader("Allow", s.allow()))
	res.AppendHeader(sip.NewHeader("Supported", supportedValue()))
	if len(res.Body()) > 0 && res.ContentType() == nil {
		ct := sip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
}

// send2xx sends a 2xx to an INVITE of leg l and waits for its ACK,
// retransmitting over UDP at T1, doubling up to T2 (4*T1... 8*T1), for at
// most 64*T1 (RFC 3261 section 13.3.1.4: the UAS core, not the
// transaction, retransmits 2xx). It returns the ACK.
func (c *call) send2xx(tx sip.ServerTransaction, res *sip.Response, l media.Leg) (*sip.Request, error) {
	// ACKs of earlier 2xx (retransmitted by the peer for each 2xx
	// retransmission) would fill the buffer and crowd out this one's.
	for drained := false; !drained; {
		select {
		case <-c.acks:
		default:
			drained = true
		}
	}
	if err := tx.Respond(res); err != nil {
		return nil, fmt.Errorf("send 2xx: %w", err)
	}
	cseq := res.CSeq().SeqNo
	t1 := c.s.cfg.T1
	reliable := sip.IsReliable(res.Transport())
	interval := t1
	retrans := time.NewTimer(interval)
	defer retrans.Stop()
	deadline := time.NewTimer(64 * t1)
	defer deadline.Stop()
	for {
		select {
		case a := <-c.acks:
			if a.leg == l && a.req.CSeq().SeqNo == cseq {
				return a.req, nil
			}
		case <-retrans.C:
			if !reliable {
				if err := tx.Respond(res); err != nil {
					c.log.Debug("retransmit 2xx", "error", err)
				}
			}
			interval = min(2*interval, 8*t1)
			retrans.Reset(interval)
		case <-deadline.C:
			return nil, errAckTimeout
		case <-c.ctx.Done():
			return nil, fmt.Errorf("call ended: %w", context.Cause(c.ctx))
		}
	}
}

// offerCodecs are the codecs the edge offers on leg l: the leg's current
// codec first (or the other leg's, the relay transcodes otherwise), then
// the rest of the defaults.
func (c *call) offerCodecs(l media.Leg) []media.Codec {
	c.mu.Lock()
	first, other := c.ansA.Codec, c.answerB.Codec
	if l == media.LegB {
		first, other = other, first
	}
	if first.Name == "" {
		first = other
	}
	c.mu.Unlock()
	out := make([]media.Codec, 0, 2)
	if first.Name != "" {
		out = append(out, first)
	}
	for _, k := range media.DefaultCodecs() {
		if first.Name == "" || k.PT != first.PT {
			out = append(out, k)
		}
	}
	return out
}

// edgeOffer builds the edge's offer on leg l with direction dir, with the
// leg's profile (offerProfile: SAVP and a key where the leg requires
// SRTP, as after a delayed offer on a trunk with media_encryption
// require).
func (c *call) edgeOffer(l media.Leg, dir media.Direction) ([]byte, error) {
	prof, err := c.offerProfile(l)
	if err != nil {
		return nil, err
	}
	return c.s.sdpFor(c.sess, l, c.offerCodecs(l), media.DefaultTelephoneEventPT, dir, media.DefaultPtime, c.sdpID, c.nextVersion(l), prof)
}

// errNoSDP reports a message that should carry SDP and does not.
var errNoSDP = errors.New("no SDP body")

// applyAnswerDir takes the answer to the edge's offer on leg l from msg's
// body (RFC 3264 section 7; its application/sdp part for a multipart
// body) and points the relay at it: address, port, codec,
// telephone-event, RTCP, SRTP keys (the leg's media_encryption applies to
// answers too) and direction. It returns the answer's effective direction.
func (c *call) applyAnswerDir(l media.Leg, msg interface {
	Body() []byte
	ContentType() *sip.ContentTypeHeader
}) (media.Direction, error) {
	body := msg.Body()
	if len(body) == 0 {
		return 0, errNoSDP
	}
	var ctype string
	if ct := msg.ContentType(); ct != nil {
		ctype = ct.Value()
	}
	body, err := media.ExtractSDP(ctype, body)
	if err != nil {
		return 0, fmt.Errorf("answer of Content-Type %q: %w", ctype, err)
	}
	desc, err := media.ParseSDP(body)
	if err != nil {
		return 0, err
	}
	// An answer holds only what the edge offered: G.722 or Opus only when
	// a leg already carries it (offerCodecs).
	desc, ans, err := chooseOffer(desc, c.encryption(l), media.PassthroughCodecs())
	if err != nil {
		return 0, err
	}
	ans.TelephoneEventPT = desc.TelephoneEventPT
	if _, err := pointLeg(c.sess, l, desc, ans, c.latching(l)); err != nil {
		return 0, err
	}
	c.mu.Lock()
	if l == media.LegA {
		c.ansA = ans
	} else {
		c.answerB = ans
	}
	c.mu.Unlock()
	dir := desc.EffectiveDirection()
	c.setHeld(l, desc.OnHold() || dir != media.SendRecv)
	return dir, nil
}

// setHeld records whether leg l's last description holds the call and
// tells the relay (whose media timer waits while on hold); leaving hold
// restarts the per-leg media timeout.
func (c *call) setHeld(l media.Leg, on bool) {
	c.mu.Lock()
	c.held[l] = on
	any := c.held[0] || c.held[1]
	if !any {
		c.resumedAt = time.Now()
	}
	c.mu.Unlock()
	c.sess.SetHold(any)
}

// onHold reports whether either leg holds the call.
func (c *call) onHold() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[0] || c.held[1]
}

// heldBy reports whether leg l's last description holds the call.
func (c *call) heldBy(l media.Leg) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held[l]
}

// answered reports whether the trunk has the edge's 200.
func (c *call) answered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.confirmed && c.aUp && c.bUp
}

// awaitingTrunkAck reports whether the trunk has the edge's 200 and the
// edge waits for its ACK.
func (c *call) awaitingTrunkAck() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aUp && !c.confirmed && c.out == nil
}

// otherLeg returns the opposite leg.
func otherLeg(l media.Leg) media.Leg {
	if l == media.LegA {
		return media.LegB
	}
	return media.LegA
}
