package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// Events of transfers (design section 11). Their data never carries the
// digits of a PSTN target (only the policy prefix that allowed it).
const (
	EventTransferRequested = "call.transfer_requested"
	EventTransferred       = "call.transferred"
	EventTransferFailed    = "call.transfer_failed"
)

// HeaderTransferredFrom tells the service a call is transferred to which
// service handed it over.
const HeaderTransferredFrom = "X-Transferred-From"

// notifyTimeout bounds one NOTIFY transaction.
const notifyTimeout = 5 * time.Second

// transferState is the REFERs of one call: one transfer at a time, at
// most maxRefersPerCall.
type transferState struct {
	mu     sync.Mutex
	active bool
	count  int
}

type beginResult int

const (
	beginOK beginResult = iota
	beginBusy
	beginExhausted
)

func (t *transferState) begin() beginResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.active:
		return beginBusy
	case t.count >= maxRefersPerCall:
		return beginExhausted
	}
	t.active = true
	t.count++
	return beginOK
}

func (t *transferState) done() {
	t.mu.Lock()
	t.active = false
	t.mu.Unlock()
}

// transferOf returns the transfer state of call id.
func (x *xferState) transferOf(id string) *transferState {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.transfers == nil {
		x.transfers = map[string]*transferState{}
	}
	st, ok := x.transfers[id]
	if !ok {
		st = &transferState{}
		x.transfers[id] = st
	}
	return st
}

func (x *xferState) forget(id string) {
	x.mu.Lock()
	delete(x.transfers, id)
	x.mu.Unlock()
}

// transferFailure is why a transfer did not happen: the sipfrag status
// line for the NOTIFY and the event's reason.
type transferFailure struct {
	code   int
	phrase string
	reason Reason
}

func (f *transferFailure) Error() string { return fmt.Sprintf("transfer: %s (%d)", f.reason, f.code) }

var errNotAllowed = &transferFailure{403, "Forbidden", ReasonNotAllowed}

// errPassedToTrunk: the caller's trunk accepted the REFER and carries the
// transfer out; the call ends when the carrier hangs its leg up.
var errPassedToTrunk = errors.New("transfer passed to the trunk")

// referToTrunk sends REFER on leg A (RFC 3515) and waits for its final
// answer: nil on 2xx.
func (c *call) referToTrunk(number string) error {
	req := sip.NewRequest(sip.REFER, c.remoteTarget(media.LegA))
	req.AppendHeader(sip.NewHeader("Refer-To", "<tel:"+number+">"))
	req.AppendHeader(sip.NewHeader("Referred-By", "<sip:"+c.route.Number+"@"+c.s.cfg.PublicIP.String()+">"))
	ctx, cancel := context.WithTimeout(c.ctx, notifyTimeout)
	defer cancel()
	tx, err := c.dialog(media.LegA).TransactionRequest(ctx, req)
	if err != nil {
		return err
	}
	defer tx.Terminate()
	res, err := finalResponse(ctx, tx)
	switch {
	case err != nil:
		return err
	case !res.IsSuccess():
		return &peerError{leg: media.LegA, code: res.StatusCode}
	}
	return nil
}

// onNotify answers the NOTIFYs of a REFER the edge passed to a trunk (and
// any NOTIFY of a known dialog) 200; others 481.
func (s *Server) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("NOTIFY").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok || ref.c.dialog(ref.leg).ReadRequest(req, tx) != nil {
		s.noDialog(req, tx)
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// failureOf maps a dial's failure to the NOTIFY and the reason.
func failureOf(err error) *transferFailure {
	var tf *transferFailure
	if errors.As(err, &tf) {
		return tf
	}
	var de *dialError
	if errors.As(err, &de) {
		if de.Reason == ReasonNotAllowed {
			return errNotAllowed
		}
		if de.Status != 0 {
			return &transferFailure{de.Status, statusPhrase(de.Status), de.Reason}
		}
		return &transferFailure{503, "Service Unavailable", de.Reason}
	}
	r := classify(err).Reason
	switch r {
	case ReasonNoAnswer:
		return &transferFailure{408, "Request Timeout", r}
	case ReasonServiceBusy:
		return &transferFailure{486, "Busy Here", r}
	}
	return &transferFailure{503, "Service Unavailable", r}
}

func statusPhrase(code int) string {
	switch code {
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	if code >= 500 {
		return "Service Unavailable"
	}
	return "Forbidden"
}

// newLeg is a connected transfer target, the call's next leg B.
type newLeg struct {
	dlg  serviceDialog
	peer netip.Addr
	sdp  []byte
}

// runTransfer carries out an accepted REFER of the service leg old:
// checks the policy, dials the target, reports progress with NOTIFY, and
// on answer bridges the caller to the target and ends the old leg.
func (c *call) runTransfer(t referTarget, referredBy string, st *transferState) {
	defer st.done()
	old := c.svc()
	ws := c.route.Workspace
	data := map[string]any{"kind": t.kind}
	c.event(EventTransferRequested, data)
	targets, _ := tenancy.TransferTargets(ws.OperatorConfig.Escalation)
	start := time.Now()
	var leg *newLeg
	var err error
	switch t.kind {
	case tenancy.TransferPSTN:
		leg, err = c.transferPSTN(old, targets, t.number, data)
	case tenancy.TransferService:
		leg, err = c.transferService(old, targets, t.id, referredBy, data)
	case tenancy.TransferOperators:
		err = c.transferOperators(old, targets)
		if err == nil {
			c.s.xfer.met.transfers.WithLabelValues(transferOperator).Inc()
			return
		}
	}
	if errors.Is(err, errPassedToTrunk) {
		c.notify(old, "SIP/2.0 200 OK", true)
		c.event(EventTransferred, data)
		c.s.xfer.met.transfers.WithLabelValues(transferToTrunk).Inc()
		return
	}
	if err != nil {
		f := failureOf(err)
		if c.ctx.Err() != nil {
			return // the call ended meanwhile
		}
		c.log.Info("transfer failed", "kind", t.kind, "reason", f.reason)
		c.notify(old, fmt.Sprintf("SIP/2.0 %d %s", f.code, f.phrase), true)
		data["reason"] = string(f.reason)
		c.event(EventTransferFailed, data)
		result := transferFailed
		if f == errNotAllowed {
			result = transferRefused
		}
		c.s.xfer.met.transfers.WithLabelValues(result).Inc()
		return
	}
	if err := c.swapServiceLeg(old, leg); err != nil {
		c.notify(old, "SIP/2.0 503 Service Unavailable", true)
		data["reason"] = string(ReasonServiceDown)
		c.event(EventTransferFailed, data)
		c.s.xfer.met.transfers.WithLabelValues(transferFailed).Inc()
		return
	}
	c.notify(old, "SIP/2.0 200 OK", true)
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ByeTimeout)
	if err := old.Bye(ctx); err != nil {
		c.log.Debug("bye transferring service", "error", err)
	}
	cancel()
	data["setup_ms"] = time.Since(start).Milliseconds()
	c.event(EventTransferred, data)
	c.s.xfer.met.transfers.WithLabelValues(transferDone).Inc()
}

// transferPSTN dials number through the outbound trunk of the policy's
// pstn target covering it, on leg B's port, presenting the workspace's own
// number of the call.
func (c *call) transferPSTN(old serviceDialog, targets []tenancy.TransferTarget, number string, data map[string]any) (*newLeg, error) {
	pol, ok := tenancy.MatchPSTN(targets, number)
	if !ok {
		return nil, errNotAllowed
	}
	trunk, ok := c.route.Workspace.OutboundTrunk(pol.OutboundTrunkID)
	if !ok || !trunk.Allows(number) {
		return nil, errNotAllowed
	}
	for _, p := range pol.Prefixes {
		if strings.HasPrefix(number, p) {
			data["prefix"] = p
			break
		}
	}
	data["outbound_trunk_id"] = trunk.ID
	c.notify(old, "SIP/2.0 100 Trying", false)
	if c.out == nil && c.trunk != nil && c.trunk.AcceptsRefer {
		// The caller's carrier carries out REFER itself (design section
		// 10, accepts_refer): pass it on, with a tel: Refer-To and the
		// edge's own Referred-By; dial ourselves if it refuses.
		err := c.referToTrunk(number)
		if err == nil {
			data["via"] = "trunk"
			return nil, errPassedToTrunk
		}
		c.log.Info("trunk refused the REFER, dialling through the outbound trunk", "error", err)
	}
	offer, err := c.legBOffer()
	if err != nil {
		return nil, err
	}
	own := c.route.Number // the workspace's number the caller dialled
	if c.out != nil {
		own = c.rec.From // a placed call's own number
	}
	ringCtx, cancel := context.WithTimeoutCause(c.ctx, time.Duration(trunk.RingTimeoutSeconds())*time.Second, ErrNoAnswer)
	defer cancel()
	var rang sync.Once
	out, err := c.s.dialTrunk(ringCtx, pstnDial{
		ws: c.rec.WorkspaceID, trunk: trunk, caller: presentedNumber(trunk, own), to: number, sdp: offer, log: c.log,
		onProgress: func(*sip.Response) { rang.Do(func() { c.notify(old, "SIP/2.0 180 Ringing", false) }) },
	})
	c.s.xfer.met.outbound.WithLabelValues(outboundResult(err)).Inc()
	if err != nil {
		return nil, err
	}
	return &newLeg{dlg: clientService{out.dlg}, peer: out.gateway, sdp: out.res.Body()}, nil
}

// transferService invites another service of the same workspace, named by
// the policy, with the call's X- headers (its own service id) and
// X-Transferred-From.
func (c *call) transferService(old serviceDialog, targets []tenancy.TransferTarget, id, referredBy string, data map[string]any) (*newLeg, error) {
	allowed := false
	for _, t := range targets {
		if t.Kind == tenancy.TransferService && t.ServiceID == id {
			allowed = true
		}
	}
	svc, ok := c.route.Workspace.Services[id]
	if !allowed || !ok {
		return nil, errNotAllowed
	}
	data["service_id"] = id
	c.notify(old, "SIP/2.0 100 Trying", false)
	offer, err := c.legBOffer()
	if err != nil {
		return nil, err
	}
	r := *c.route
	r.Service = svc
	req := c.s.targetServiceInvite(&r, svc, c, offer)
	req.AppendHeader(sip.NewHeader(HeaderTransferredFrom, c.route.Service.ID))
	_ = referredBy // the service's Referred-By names the service side: not passed on (topology hiding)
	ctx, cancel := context.WithTimeoutCause(c.ctx, c.s.cfg.NoAnswerTimeout, ErrNoAnswer)
	defer cancel()
	ua := &sipgo.DialogUA{Client: c.s.client, ContactHDR: c.s.contact(strings.ToLower(req.Transport()))}
	dlg, err := ua.WriteInvite(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("invite service %s: %w: %w", id, ErrServiceUnavailable, err)
	}
	var rang sync.Once
	err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		if res.StatusCode == 180 || res.StatusCode == 183 {
			rang.Do(func() { c.notify(old, "SIP/2.0 180 Ringing", false) })
		}
		return nil
	}})
	if err != nil {
		_ = dlg.Close()
		var dr *sipgo.ErrDialogResponse
		if errors.As(err, &dr) {
			return nil, calleeFailure(dr.Res.StatusCode)
		}
		if cause := context.Cause(ctx); cause != nil {
			return nil, cause
		}
		return nil, fmt.Errorf("service %s: %w: %w", id, ErrServiceUnavailable, err)
	}
	if err := dlg.Ack(ctx); err != nil {
		_ = dlg.Close()
		return nil, fmt.Errorf("ack service %s: %w: %w", id, ErrServiceUnavailable, err)
	}
	return &newLeg{dlg: clientService{dlg}, peer: ipOfSource(dlg.InviteResponse.Source()), sdp: dlg.InviteResponse.Body()}, nil
}

// transferOperators turns a REFER to the operators into an escalation
// request: the operators of the workspace are asked to join (operator
// legs, design section 8) while the caller hears hold audio; the service
// may stay on the call or leave it to the operator (hold.go).
func (c *call) transferOperators(old serviceDialog, targets []tenancy.TransferTarget) error {
	for _, t := range targets {
		if t.Kind == tenancy.TransferOperators {
			c.event(tenancy.EventEscalationRequested, map[string]any{"source": "refer", "reason": "transfer_to_operators"})
			c.notify(old, "SIP/2.0 200 OK", true)
			c.waitForOperator() // hold.go: hold audio until an operator is heard
			return nil
		}
	}
	return errNotAllowed
}

// legBOffer is the edge's offer to a transfer target, on leg B's port:
// the caller's codec first.
func (c *call) legBOffer() ([]byte, error) {
	c.mu.Lock()
	ansA := c.ansA
	c.mu.Unlock()
	codecs := []media.Codec{ansA.Codec}
	for _, k := range media.DefaultCodecs() {
		if k.PT != ansA.Codec.PT {
			codecs = append(codecs, k)
		}
	}
	dtmf := media.NoPayloadType
	if ansA.TelephoneEventPT != media.NoPayloadType {
		dtmf = media.DefaultTelephoneEventPT
	}
	// Plain RTP: a transfer target is a new peer (outbound trunks carry no
	// SRTP; an SRTP service as the target is not supported yet).
	return c.s.sdpFor(c.sess, media.LegB, codecs, dtmf, media.SendRecv, ansA.Ptime, c.sdpID, c.nextVersion(media.LegB), media.Profile{})
}

// targetServiceInvite builds the INVITE to service svc for call c on
// route r (r.Service is svc), as serviceInvite does for the first one.
func (s *Server) targetServiceInvite(r *routing.Route, svc *routing.Service, c *call, body []byte) *sip.Request {
	t := svc.Target
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
	req := sip.NewRequest(sip.INVITE, uri)
	req.SetTransport(strings.ToUpper(transport))
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.rec.From, Host: s.cfg.PublicIP.String()}}
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(16))
	callID := sip.CallIDHeader(newCallID())
	maxFwd := sip.MaxForwardsHeader(70)
	contact := s.contact(transport)
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&contact)
	for _, h := range serviceHeaders(c.id, r, c.ident, c.token, MaxServiceHeaders) {
		req.AppendHeader(h)
	}
	for _, h := range c.directionHeaders(req) {
		req.AppendHeader(h)
	}
	req.AppendHeader(&ct)
	req.SetBody(body)
	if transport == "udp" {
		if ap, ok := s.listener("udp"); ok {
			req.Laddr = sip.Addr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
		}
	}
	return req
}

// swapServiceLeg makes leg the call's leg B: the relay's leg B follows
// its SDP, the dialog cache knows its dialog and peer, and forgets the old
// leg's (a BYE of the old service crossing the edge's is answered 481).
func (c *call) swapServiceLeg(old serviceDialog, leg *newLeg) error {
	desc, err := media.ParseSDP(leg.sdp)
	if err == nil {
		var ans media.Answer
		if ans, err = media.Negotiate(desc, nil); err == nil {
			if err = c.sess.SetRemoteCodec(media.LegB, desc.RTPAddr(), ans.Codec, desc.TelephoneEventPT); err == nil {
				c.mu.Lock()
				c.answerB = ans
				c.mu.Unlock()
			}
		}
	}
	if err != nil || c.ctx.Err() != nil {
		bctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ByeTimeout)
		_ = leg.dlg.Bye(bctx)
		cancel()
		if err == nil {
			err = context.Cause(c.ctx)
		}
		return err
	}
	c.adoptServiceLeg(old, leg)
	return nil
}

// notify sends a NOTIFY of the refer subscription (RFC 3515 section 2.4.4)
// on the service's dialog, with the sipfrag status line frag.
func (c *call) notify(dlg serviceDialog, frag string, final bool) {
	req := sip.NewRequest(sip.NOTIFY, dlg.Target())
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	ct := sip.ContentTypeHeader("message/sipfrag;version=2.0")
	req.AppendHeader(&ct)
	req.SetBody([]byte(frag + "\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if res, err := dlg.Do(ctx, req); err != nil {
		c.log.Debug("notify", "frag", frag, "error", err)
	} else if res.StatusCode >= 300 {
		c.log.Debug("notify refused", "frag", frag, "status", res.StatusCode)
	}
}
