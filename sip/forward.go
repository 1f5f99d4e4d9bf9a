package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// dialogLeg is what the edge does with the sipgo dialog session of a leg:
// the server session of leg A (the edge is its UAS), the client session of
// leg B (its UAC).
type dialogLeg interface {
	ReadRequest(req *sip.Request, tx sip.ServerTransaction) error
	TransactionRequest(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error)
	WriteRequest(req *sip.Request) error
}

// dialog returns leg l's dialog session.
func (c *call) dialog(l media.Leg) dialogLeg {
	if l == media.LegA {
		return c.trunkDialog() // xfer.go: a placed call's leg A is a client session
	}
	return c.svc() // service_dialog.go: transfers and Replaces replace leg B
}

// remoteTarget is the Request-URI of the edge's requests on leg l: the
// peer's Contact (RFC 3261 section 12.2.1.1); sipgo adds the route set.
func (c *call) remoteTarget(l media.Leg) sip.Uri {
	if l == media.LegA {
		if c.out != nil { // xfer.go
			return c.out.remoteTarget()
		}
		return c.a.InviteRequest.Contact().Address
	}
	return c.svc().Target() // service_dialog.go: either side's dialog
}

// peerError is a non-2xx final answer of a leg's peer to a request of the
// edge.
type peerError struct {
	leg  media.Leg
	code int
}

func (e *peerError) Error() string { return fmt.Sprintf("leg %s answered %d", e.leg, e.code) }

// forwardOffer carries an offer of leg from to the other leg, with the
// edge's own SDP for that leg in the offered direction, applies the
// answer to the relay, then the offer to leg from, and returns the edge's
// answer to leg from. method is the offerer's (UPDATE goes out as
// re-INVITE to a peer that does not allow UPDATE).
func (c *call) forwardOffer(from media.Leg, offer *media.Description, ans media.Answer, method sip.RequestMethod) ([]byte, *Rejection) {
	to := otherLeg(from)
	dir := offer.EffectiveDirection()
	body, err := c.edgeOffer(to, dir)
	if err != nil {
		return nil, classify(err)
	}
	if method == sip.UPDATE && !c.peerAllows(to, "UPDATE") {
		method = sip.INVITE
	}
	res, err := c.sendOffer(to, method, body)
	if err != nil {
		c.log.Info("offer not carried to the other leg", "from", from, "error", err)
		return nil, c.peerRejection(err)
	}
	peerDir, err := c.applyAnswerDir(to, res)
	if err != nil {
		c.log.Info("unusable answer of the other leg", "from", from, "error", err)
		return nil, reject(ReasonPeerRefused, "")
	}
	if err := c.applyOffer(from, offer, ans); err != nil {
		return nil, classify(err)
	}
	if !validAnswer(dir, peerDir) {
		peerDir = media.AnswerDirection(dir)
	}
	out, err := c.answerFor(from, ans, peerDir)
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// offerDirection offers leg l the current media in direction dir (a hold
// or resume learnt from the other leg) and applies the answer.
func (c *call) offerDirection(l media.Leg, dir media.Direction) {
	body, err := c.edgeOffer(l, dir)
	if err != nil {
		return
	}
	res, err := c.sendOffer(l, sip.INVITE, body)
	if err != nil {
		c.log.Info("hold change not carried", "leg", l, "error", err)
		return
	}
	if _, err := c.applyAnswerDir(l, res); err != nil {
		c.log.Info("unusable answer", "leg", l, "error", err)
	}
}

// validAnswer reports whether an answer of direction ans is a valid answer
// to an offer of direction offer (RFC 3264 section 6.1).
func validAnswer(offer, ans media.Direction) bool {
	switch offer {
	case media.SendOnly:
		return ans == media.RecvOnly || ans == media.Inactive
	case media.RecvOnly:
		return ans == media.SendOnly || ans == media.Inactive
	case media.Inactive:
		return ans == media.Inactive
	}
	return true
}

// maxGlareAttempts bounds the offers the edge sends for one exchange
// when the peer keeps answering 491.
const maxGlareAttempts = 3

// sendOffer sends a re-INVITE or UPDATE with body (nil: none) on leg l and returns
// its 2xx (ACKed for an INVITE). A 491 is retried after the glare delay of
// RFC 3261 section 14.1 (glare.go), a 422 with the peer's larger Min-SE
// (RFC 4028 section 7.4); other failures are a *peerError.
func (c *call) sendOffer(l media.Leg, method sip.RequestMethod, body []byte) (*sip.Response, error) {
	for attempt := 1; ; attempt++ {
		req := sip.NewRequest(method, c.remoteTarget(l))
		if body != nil {
			ct := sip.ContentTypeHeader("application/sdp")
			req.AppendHeader(&ct)
		}
		req.AppendHeader(sip.NewHeader("Allow", c.s.allow()))
		req.AppendHeader(sip.NewHeader("Supported", supportedValue()))
		for _, h := range c.timerHeaders(l) {
			req.AppendHeader(h)
		}
		req.SetBody(body)
		res, tx, err := c.request(l, req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode == 491 && attempt < maxGlareAttempts {
			if !sleep(c.ctx, glareDelay(l == media.LegB)) {
				return nil, fmt.Errorf("call ended: %w", context.Cause(c.ctx))
			}
			continue
		}
		if res.StatusCode == 422 && attempt < maxGlareAttempts && c.raiseForTooBrief(l, res) {
			continue // again with the peer's Min-SE as Session-Expires
		}
		if !res.IsSuccess() {
			return nil, &peerError{leg: l, code: res.StatusCode}
		}
		if method == sip.INVITE {
			c.ackReinvite(l, req, tx)
		}
		if t := c.timers[l]; t != nil {
			t.touch() // RFC 4028 section 7: any 2xx re-INVITE or UPDATE refreshes
		}
		return res, nil
	}
}

// request sends an in-dialog request on leg l and waits for its final
// response, for at most Config.ReinviteTimeout. The transaction of an
// INVITE answered 2xx is returned alive, to be given the ACK that answers
// the 2xx's retransmissions (ackReinvite); every other ends here.
func (c *call) request(l media.Leg, req *sip.Request) (*sip.Response, sip.ClientTransaction, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.ReinviteTimeout)
	defer cancel()
	tx, err := c.dialog(l).TransactionRequest(ctx, req)
	if err != nil {
		return nil, nil, fmt.Errorf("send %s on leg %s: %w", req.Method, l, err)
	}
	res, err := finalResponse(ctx, tx)
	if err != nil {
		tx.Terminate()
		return nil, nil, fmt.Errorf("%s on leg %s: %w", req.Method, l, err)
	}
	if req.IsInvite() && res.IsSuccess() {
		return res, tx, nil // Accepted until Timer M (RFC 6026): it ends by itself
	}
	tx.Terminate()
	return res, nil, nil
}

// errTransactionEnded: a client transaction ended without a final
// response or an error of its own.
var errTransactionEnded = errors.New("transaction ended")

// finalResponse waits for the final response of tx.
func finalResponse(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, error) {
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errTransactionEnded
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// ackReinvite acknowledges the 2xx of the edge's re-INVITE on leg l (the
// dialog layer gives it the INVITE's CSeq number), and sends the same ACK
// again for each retransmission of that 2xx its transaction sees (RFC 3261
// section 13.2.2.4: the peer retransmits until an ACK reaches it).
func (c *call) ackReinvite(l media.Leg, inv *sip.Request, tx sip.ClientTransaction) {
	// The hook is in place before the first ACK leaves: a peer may answer
	// it with a retransmission at once, and one arriving before the ACK
	// is built is answered as soon as it is.
	var (
		mu     sync.Mutex
		sent   *sip.Request // the ACK as sent: routed, with its Via
		missed bool
	)
	resend := func(ack *sip.Request) {
		c.s.metrics.ackResent.Inc()
		if err := c.s.client.WriteRequest(ack.Clone(), asBuilt); err != nil {
			c.log.Debug("ack re-INVITE again", "leg", l, "error", err)
		}
	}
	if tx != nil {
		tx.OnRetransmission(func(r *sip.Response) {
			if !r.IsSuccess() {
				return
			}
			mu.Lock()
			ack := sent
			missed = missed || ack == nil
			mu.Unlock()
			if ack != nil {
				resend(ack)
			}
		})
	}
	ack := sip.NewRequest(sip.ACK, inv.Recipient)
	if err := c.dialog(l).WriteRequest(ack); err != nil {
		c.log.Debug("ack re-INVITE", "leg", l, "error", err)
		return
	}
	mu.Lock()
	sent = ack.Clone()
	again := missed
	mu.Unlock()
	if again {
		resend(sent)
	}
}

// asBuilt is a client option that sends a request as it is (already
// built and routed once).
func asBuilt(*sipgo.Client, *sip.Request) error { return nil }

// peerRejection maps the failure of an offer carried to the other leg to
// the answer of the offerer: the peer's 491 stays 491 (the offerer
// retries), a refused offer is 488, anything else 500. A peer that says
// its dialog is gone (481) or does not answer (408) ends the call (RFC
// 3261 section 14.1).
func (c *call) peerRejection(err error) *Rejection {
	var pe *peerError
	if errors.As(err, &pe) {
		switch pe.code {
		case 491:
			return &Rejection{Reason: ReasonRequestPending, Err: err}
		case 488, 606, 415:
			return &Rejection{Reason: ReasonPeerRefused, Err: err}
		case 481, 408:
			c.terminate(legGone(pe.leg))
		}
	}
	return &Rejection{Reason: ReasonPeerFailed, Err: err}
}

// legGone is the cause that ends a call whose leg l no longer exists.
func legGone(l media.Leg) error {
	if l == media.LegA {
		return errTrunkBye
	}
	return errServiceBye
}

// peerAllows reports whether leg l's peer listed method in Allow (its
// INVITE for the trunk, its 200 for the service).
func (c *call) peerAllows(l media.Leg, method string) bool {
	var msg sip.Message = c.req
	if l == media.LegA && c.out != nil { // xfer.go: the callee's 200
		if d := c.out.dialog(); d != nil && d.InviteResponse != nil {
			msg = d.InviteResponse
		} else {
			return false
		}
	}
	if l == media.LegB {
		msg = c.svc().Peer()
	}
	for _, h := range msg.GetHeaders("Allow") {
		for _, m := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(m), method) {
				return true
			}
		}
	}
	return false
}
