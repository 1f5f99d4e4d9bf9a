package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// inviteService sends the INVITE to the service and waits for its answer,
// relaying provisional responses to the trunk.
func (c *call) inviteService(ctx context.Context) error {
	req, err := c.serviceInvite()
	if err != nil {
		return err
	}
	ua := &sipgo.DialogUA{Client: c.s.client, ContactHDR: c.s.contact(strings.ToLower(req.Transport()))}
	var b *sipgo.DialogClientSession
	for attempt := 0; ; attempt++ {
		if b, err = ua.WriteInvite(ctx, req); err != nil {
			return fmt.Errorf("invite service: %w: %w", ErrServiceUnavailable, err)
		}
		c.b = b
		c.setService(clientService{b})
		err = b.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: c.onServiceResponse})
		if attempt == 0 {
			if next := c.retryTooBrief(req, err); next != nil {
				req = next
				continue
			}
		}
		break
	}
	if err != nil && ctx.Err() != nil {
		// Cancelled: a 2xx crossing the CANCEL is acknowledged and hung up.
		c.s.cancelled(b)
	}
	if err != nil {
		var dr *sipgo.ErrDialogResponse
		if errors.As(err, &dr) {
			return serviceFailure(dr.Res.StatusCode)
		}
		return fmt.Errorf("service invite: %w: %w", ErrServiceUnavailable, err)
	}
	res := b.InviteResponse
	c.mu.Lock()
	c.bUp = true
	c.peer = ipOfSource(res.Source())
	c.mu.Unlock()
	c.serviceTimer(res)
	c.addLeg(b.ID, media.LegB)
	c.s.dialogs.addPeer(c.peer)
	ack := b.Ack
	if c.pracked() {
		ack = func(context.Context) error { return c.ackService() }
	}
	if err := ack(ctx); err != nil {
		return fmt.Errorf("ack service: %w: %w", ErrServiceUnavailable, err)
	}
	if err := c.applyServiceSDP(res.Body()); err != nil {
		return fmt.Errorf("service answer: %w: %w", ErrServiceUnavailable, err)
	}
	return nil
}

// serviceInvite builds the INVITE to the route's service target, with the
// X- headers and the edge's offer on leg B.
func (c *call) serviceInvite() (*sip.Request, error) {
	t := c.route.Service.Target
	transport := t.Transport
	if transport == "" {
		transport = "udp"
	}
	uri := sip.Uri{Scheme: "sip", User: t.User, Host: t.Host, Port: t.Port}
	to := sip.ToHeader{Address: uri}
	if transport != "udp" {
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", transport)
	}
	codecs := serviceCodecs(c.offerA, c.ansA)
	dtmf := media.NoPayloadType
	if c.offerless || c.ansA.TelephoneEventPT != media.NoPayloadType {
		dtmf = eventPT(codecs)
	}
	prof, err := serviceOfferProfile(c.sess, c.route)
	if err != nil {
		return nil, err
	}
	c.setProfile(media.LegB, prof)
	body, err := c.s.sdpFor(c.sess, media.LegB, codecs, dtmf, media.SendRecv, c.ansA.Ptime, c.sdpID, c.nextVersion(media.LegB), prof)
	if err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.INVITE, uri)
	req.SetTransport(strings.ToUpper(transport))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.rec.From, Host: c.s.mediaIP(media.LegB).String()}}
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader(newCallID())
	maxFwd := sip.MaxForwardsHeader(forwardHops(c.req))
	contact := c.s.contact(transport)
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("Supported", supportedValue()))
	for _, h := range c.s.timerRequestHeaders(c.s.cfg.SessionExpires) {
		req.AppendHeader(h)
	}
	for _, h := range serviceHeaders(c.id, c.route, c.ident, c.token, MaxServiceHeaders) {
		req.AppendHeader(h)
	}
	for _, h := range c.directionHeaders(req) { // outbound.go
		req.AppendHeader(h)
	}
	req.AppendHeader(&ct)
	req.SetBody(body)
	if transport == "udp" {
		if ap, ok := c.s.listener("udp"); ok {
			// Send from the listening socket, so the service sees the edge's
			// SIP address and its answers come back to it.
			req.Laddr = sip.Addr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
		}
		if c.serviceTransport(req) == "tcp" {
			c.switchToTCP(req)
		}
	}
	return req, nil
}

// onServiceResponse relays the service's provisional responses to the
// trunk as the edge's own: 180 as 180, 183 with SDP as 183 with the
// edge's SDP (early media flows through the relay).
func (c *call) onServiceResponse(res *sip.Response) error {
	if res.IsProvisional() && res.StatusCode > 100 && !c.prackService(res) {
		return nil // a retransmission of a reliable provisional
	}
	c.earlyDialog(res)
	switch {
	case res.StatusCode == 180 || (res.StatusCode == 183 && len(res.Body()) == 0):
		c.respondTrunk(180, "Ringing", nil)
	case res.StatusCode == 183 && c.offerless:
		// No offer of the edge's in an unreliable provisional response
		// (RFC 3261 section 13.2.1): the trunk hears ringing until the 200.
		c.respondTrunk(180, "Ringing", nil)
	case res.StatusCode == 183:
		if err := c.applyServiceSDP(res.Body()); err != nil {
			c.log.Debug("ignore early media of the service", "error", err)
			c.respondTrunk(180, "Ringing", nil)
			return nil
		}
		body, err := c.answerSDP(c.ansA.Direction)
		if err != nil {
			return nil
		}
		c.respondTrunk(183, "Session Progress", body)
	}
	return nil
}

// earlyDialog indexes the service's early dialog of a provisional
// response with a To tag (RFC 3261 section 12.1), so that its UPDATE
// (RFC 3311) or PRACK finds the call before the 200.
func (c *call) earlyDialog(res *sip.Response) {
	if res.StatusCode == 100 {
		return
	}
	id, err := sip.DialogIDFromResponse(res)
	if err != nil {
		return
	}
	if ref, ok := c.s.dialogs.leg(id); ok && ref.c == c {
		return
	}
	c.addLeg(id, media.LegB)
}

// applyServiceSDP points leg B of the relay at the service's SDP answer.
func (c *call) applyServiceSDP(body []byte) error {
	desc, err := media.ParseSDP(body)
	if err != nil {
		return err
	}
	desc, ans, err := chooseOffer(desc, serviceEncryption(c.route), media.PassthroughCodecs())
	if err != nil {
		return err
	}
	ans.TelephoneEventPT = desc.TelephoneEventPT
	if _, err := pointLeg(c.sess, media.LegB, desc, ans, media.LatchStrict); err != nil {
		return err
	}
	c.mu.Lock()
	c.answerB = ans
	c.mu.Unlock()
	return c.followServiceCodec(ans)
}
