package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/tenancy"
)

// Dialling through an outbound trunk (design section 11): gateways in
// priority order (weighted within a priority, RFC 2782), each host resolved
// to its addresses (an IP literal as is, a name by its A/AAAA records; DNS
// SRV is not looked up), the carrier's digest challenge answered with the
// trunk's credentials (read from the store for this dial only), failover to
// the next gateway or address when one does not answer within
// Config-independent gatewayTimeout or answers 5xx or 408, never on the
// callee's own answers (486, 600, 603, 404 and every other 4xx/6xx: they
// end the dial).

// Bounds of a dial.
const (
	// gatewayTimeout is how long a gateway may take to send any response
	// (a 100 Trying) before the next one is tried.
	gatewayTimeout = 3 * time.Second
	// resolveTimeout bounds one host lookup.
	resolveTimeout = 2 * time.Second
	// maxAttempts bounds the addresses tried in one dial.
	maxAttempts = 8
	// cpsQueue is how long a dial may wait for the trunk's CPS budget.
	cpsQueue = 2 * time.Second
)

// Reasons of dials that did not connect (end reasons of agent-placed
// calls, reasons of failed transfers).
const (
	ReasonCalleeBusy       Reason = "busy"
	ReasonCalleeDeclined   Reason = "declined"
	ReasonCalleeRejected   Reason = "rejected"
	ReasonGatewaysFailed   Reason = "gateways_failed"
	ReasonTrunkCPS         Reason = "trunk_cps_limit"
	ReasonNotAllowed       Reason = "destination_not_allowed"
	ReasonFromNotOwned     Reason = "from_not_owned"
	ReasonNoOutboundTrunk  Reason = "no_outbound_trunk"
	ReasonDialExpired      Reason = "dial_expired"
	ReasonUnknownService   Reason = "unknown_service"
	ReasonTransferred      Reason = "transferred"
	ReasonCredentialsStore Reason = "credentials_unavailable"
)

// dialError is a dial that did not connect: the callee's final status
// (0 when none came) and the reason.
type dialError struct {
	Status int
	Reason Reason
	Err    error
}

func (e *dialError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("dial: %s (%d)", e.Reason, e.Status)
	}
	if e.Err != nil {
		return fmt.Sprintf("dial: %s: %v", e.Reason, e.Err)
	}
	return "dial: " + string(e.Reason)
}

func (e *dialError) Unwrap() error { return e.Err }

// calleeFailure maps the final status of a callee to a dial error.
func calleeFailure(code int) *dialError {
	switch code {
	case 486, 600:
		return &dialError{Status: code, Reason: ReasonCalleeBusy}
	case 603:
		return &dialError{Status: code, Reason: ReasonCalleeDeclined}
	case 404, 604:
		return &dialError{Status: code, Reason: ReasonNotFound}
	case 480, 487:
		return &dialError{Status: code, Reason: ReasonNoAnswer}
	}
	return &dialError{Status: code, Reason: ReasonCalleeRejected}
}

// failsOver reports whether a gateway's final status sends the dial to
// the next gateway: the gateway's own trouble (5xx, 408), not the callee's.
func failsOver(code int) bool { return code == 408 || code >= 500 && code < 600 }

// pstnDial is one call to place through an outbound trunk.
type pstnDial struct {
	ws     string
	trunk  *tenancy.OutboundTrunk
	caller string // the presented number (From, P-Asserted-Identity)
	to     string // E.164
	sdp    []byte // the edge's offer
	// onProgress sees the callee's provisional responses (180, 183).
	onProgress func(res *sip.Response)
	log        interface {
		Debug(msg string, args ...any)
	}
}

// dialed is a connected dial: the confirmed dialog (ACKed) and where it
// answered from.
type dialed struct {
	dlg     *sipgo.DialogClientSession
	res     *sip.Response
	gateway netip.Addr
}

// presentedNumber is the caller id a trunk presents for a call from
// number from (a number of the workspace).
func presentedNumber(t *tenancy.OutboundTrunk, from string) string {
	if t.CallerID.Mode == tenancy.CallerIDFixed && t.CallerID.Number != "" {
		return t.CallerID.Number
	}
	return from
}

// dialTrunk places d, trying the trunk's gateways in order until one
// answers 2xx or the callee gives a final answer; ctx bounds the whole dial
// (its cause is returned when it ends first).
func (s *Server) dialTrunk(ctx context.Context, d pstnDial) (*dialed, error) {
	if !d.trunk.Allows(d.to) {
		return nil, &dialError{Reason: ReasonNotAllowed}
	}
	if err := s.xfer.cps.take(ctx, s, d.ws, d.trunk.ID, d.trunk.CPS()); err != nil {
		return nil, err
	}
	user, pass := "", ""
	if d.trunk.Username != "" && s.xfer.dials != nil {
		sctx, cancel := s.storeCtx()
		u, p, err := s.xfer.dials.OutboundCredentials(sctx, d.ws, d.trunk.ID)
		cancel()
		if err != nil {
			return nil, &dialError{Reason: ReasonCredentialsStore, Err: err}
		}
		user, pass = u, p
	}
	var last error = &dialError{Reason: ReasonGatewaysFailed}
	attempts := 0
	for _, gw := range gatewayOrder(d.trunk.Gateways, rand.IntN) {
		addrs, err := resolveGateway(ctx, net.DefaultResolver, gw)
		if err != nil {
			d.log.Debug("resolve gateway", "host", gw.Host, "error", err)
			continue
		}
		for _, ap := range addrs {
			ip := ap.Addr()
			if attempts++; attempts > maxAttempts {
				return nil, last
			}
			out, err := s.dialGateway(ctx, d, gw, ap, user, pass)
			if err == nil {
				return out, nil
			}
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			var de *dialError
			if errors.As(err, &de) && de.Status != 0 && !failsOver(de.Status) {
				return nil, de
			}
			d.log.Debug("gateway failed, trying the next", "gateway", ip, "error", err)
			last = &dialError{Reason: ReasonGatewaysFailed, Err: err}
		}
	}
	return nil, last
}

// errGatewaySilent cancels an attempt whose gateway sent nothing.
var errGatewaySilent = errors.New("gateway did not respond")

// dialGateway sends the INVITE of d to one gateway address.
func (s *Server) dialGateway(ctx context.Context, d pstnDial, gw tenancy.Gateway, ap netip.AddrPort, user, pass string) (*dialed, error) {
	ip := ap.Addr()
	transport := gw.TransportOrDefault()
	req := s.trunkInvite(d, ap, transport)
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var responded, gaveUp atomic.Bool
	// A gateway that sent nothing cannot be sent a CANCEL (RFC 3261
	// section 9.1): the transaction is abandoned (sipgo's forced cancel).
	silent := time.AfterFunc(gatewayTimeout, func() {
		if !responded.Load() {
			gaveUp.Store(true)
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer silent.Stop()
	ua := &sipgo.DialogUA{Client: s.client, ContactHDR: s.contact(transport)}
	dlg, err := ua.WriteInvite(actx, req)
	if err != nil {
		return nil, fmt.Errorf("invite gateway %s: %w", ip, err)
	}
	err = dlg.WaitAnswer(actx, sipgo.AnswerOptions{Username: user, Password: pass, OnResponse: func(res *sip.Response) error {
		responded.Store(true)
		if (res.StatusCode == 180 || res.StatusCode == 183) && d.onProgress != nil {
			d.onProgress(res)
		}
		return nil
	}})
	if err != nil {
		_ = dlg.Close()
		var dr *sipgo.ErrDialogResponse
		if errors.As(err, &dr) {
			return nil, calleeFailure(dr.Res.StatusCode)
		}
		if gaveUp.Load() {
			return nil, fmt.Errorf("gateway %s: %w", ip, errGatewaySilent)
		}
		if c := context.Cause(ctx); c != nil {
			return nil, fmt.Errorf("gateway %s: %w", ip, c)
		}
		return nil, fmt.Errorf("gateway %s: %w", ip, err)
	}
	if err := dlg.Ack(ctx); err != nil {
		_ = dlg.Close()
		return nil, fmt.Errorf("ack gateway %s: %w", ip, err)
	}
	return &dialed{dlg: dlg, res: dlg.InviteResponse, gateway: ip}, nil
}

// trunkInvite builds the INVITE of d to a gateway: the callee in the
// Request-URI and To, the presented number in From and
// P-Asserted-Identity (RFC 3325), nothing of the workspace or service.
func (s *Server) trunkInvite(d pstnDial, ap netip.AddrPort, transport string) *sip.Request {
	ip := ap.Addr()
	uri := sip.Uri{Scheme: "sip", User: d.to, Host: ip.String(), Port: int(ap.Port())}
	uri.UriParams = sip.NewParams()
	uri.UriParams.Add("user", "phone")
	if transport != "udp" {
		uri.UriParams.Add("transport", transport)
	}
	req := sip.NewRequest(sip.INVITE, uri)
	req.SetTransport(strings.ToUpper(transport))
	host := s.cfg.PublicIP.String()
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: d.caller, Host: host}}
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: d.to, Host: ip.String()}}
	callID := sip.CallIDHeader(newCallID())
	maxFwd := sip.MaxForwardsHeader(70)
	contact := s.contact(transport)
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	req.AppendHeader(&maxFwd)
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("P-Asserted-Identity", "<sip:"+d.caller+"@"+host+";user=phone>"))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"))
	req.AppendHeader(&ct)
	req.SetBody(d.sdp)
	if transport == "udp" {
		if ap, ok := s.listener("udp"); ok {
			req.Laddr = sip.Addr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
		}
	}
	return req
}

// gatewayOrder returns gws in the order to try them: ascending priority,
// and within a priority a weighted random order (RFC 2782: a gateway of
// weight 0 is tried last among its peers). intn draws in [0, n).
func gatewayOrder(gws []tenancy.Gateway, intn func(n int) int) []tenancy.Gateway {
	byPrio := slices.Clone(gws)
	slices.SortStableFunc(byPrio, func(a, b tenancy.Gateway) int { return a.Priority - b.Priority })
	out := make([]tenancy.Gateway, 0, len(gws))
	for i := 0; i < len(byPrio); {
		j := i
		for j < len(byPrio) && byPrio[j].Priority == byPrio[i].Priority {
			j++
		}
		group := slices.Clone(byPrio[i:j])
		for len(group) > 0 {
			total := 0
			for _, g := range group {
				total += g.Weight + 1
			}
			n := intn(total)
			k := 0
			for ; k < len(group)-1; k++ {
				if n < group[k].Weight+1 {
					break
				}
				n -= group[k].Weight + 1
			}
			out = append(out, group[k])
			group = slices.Delete(group, k, k+1)
		}
		i = j
	}
	return out
}
