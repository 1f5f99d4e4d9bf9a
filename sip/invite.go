package sip

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// onInvite handles every INVITE: re-INVITEs of a dialog go to onReinvite;
// an initial INVITE is checked, admitted and bridged. sipgo runs it on its
// own goroutine and terminates the transaction when it returns, so it
// returns only when the INVITE transaction is over: the call is answered
// (and carries on in its own goroutine) or refused.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("INVITE").Inc()
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" {
			s.onReinvite(req, tx)
			return
		}
	}
	start := time.Now()
	if rej := validateInvite(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	// Session timer headers depend on the request alone: malformed 400,
	// too brief 422 (RFC 4028), before anything of workspaces is checked.
	timer, rej := readTimer(req, s.cfg.MinSE)
	if rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	if replacesInvite(req) {
		s.onReplaces(req, tx) // replaces.go: the service hands its own leg over
		return
	}
	if !s.router.KnownSource(sourceIP(req)) {
		s.refuse(req, tx, reject(ReasonUnknownSource, ""))
		return
	}
	// A draining or overloaded edge refuses before it spends a 100 on the
	// INVITE: shedding is one response.
	if s.draining.Load() || s.closed.Load() {
		s.refuse(req, tx, classify(ErrDraining))
		return
	}
	if !s.setups.enter() {
		s.refuse(req, tx, &Rejection{Reason: ReasonOverload, RetryAfter: 1})
		return
	}
	// 100 Trying at once (RFC 3261 section 17.2.1): the rest may wait on Redis
	// and on the service.
	if err := tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil)); err != nil {
		s.setups.leave("")
		return
	}
	c, rej := s.setUp(req, tx, start, timer)
	if rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	s.metrics.invites.WithLabelValues("accepted", string(ReasonAnswered)).Inc()
	c.setup()
}

// setUp admits the INVITE and creates its call, holding a place of the
// setup gate meanwhile (overload.go).
func (s *Server) setUp(req *sip.Request, tx sip.ServerTransaction, start time.Time, timer timerRequest) (*call, *Rejection) {
	ws := ""
	defer func() { s.setups.leave(ws) }()
	adm, rej := s.admit(req)
	if rej != nil {
		return nil, rej
	}
	if !s.setups.enterWorkspace(adm.route.Workspace.ID) {
		return nil, &Rejection{Reason: ReasonWorkspaceOverload, RetryAfter: 1}
	}
	ws = adm.route.Workspace.ID
	return s.newCall(req, tx, adm, start, timer)
}

// newCall checks the SDP offer, opens the media session and takes a slot
// under the workspace's limits: the last checks a call can fail before it
// exists. Nothing is left behind when it fails.
func (s *Server) newCall(req *sip.Request, tx sip.ServerTransaction, adm *admission, start time.Time, timer timerRequest) (*call, *Rejection) {
	offer, ans, rej := readTrunkOffer(req, adm.trunk)
	if rej != nil {
		return nil, rej
	}
	offerless := offer == nil
	id := newCallID()
	sess, err := s.openSession(adm.route.Workspace.ID, id)
	if err != nil {
		return nil, classify(err)
	}
	var prof media.Profile
	if offer != nil {
		if prof, err = pointLeg(sess, media.LegA, offer, ans, latchingOf(adm.trunk)); err != nil {
			_ = sess.Close()
			return nil, classify(err)
		}
	}
	r := adm.route
	rec := tenancy.CallRecord{
		ID: id, WorkspaceID: r.Workspace.ID, ServiceID: r.Service.ID, From: adm.caller, To: r.Number,
		State: tenancy.CallRinging, StartedAt: start.UTC(), NodeID: s.cfg.NodeID, Direction: tenancy.DirectionInbound,
	}
	// srtp: the trunk's offer was SRTP, or the edge's offer in its 200
	// (delayed offer) will be, the trunk requiring it.
	srtp := !prof.Crypto.IsZero() || (offerless && encryptionOf(adm.trunk) == media.EncryptionRequire)
	started, err := callEvent(id, tenancy.EventCallStarted, map[string]any{
		"from": rec.From, "to": rec.To, "service_id": r.Service.ID, "trunk_id": adm.trunk.ID,
		"node_id": s.cfg.NodeID, "codec": ans.Codec.Name, "delayed_offer": offerless, "srtp": srtp,
	})
	var token string
	if err == nil {
		token, err = s.admitCall(rec, r.Workspace.Limits, started)
	}
	if err != nil {
		_ = sess.Close()
		return nil, classify(err)
	}
	c := newCallState(s, req, tx, adm, rec, sess, ans, prof)
	c.offerA = offer
	c.token = token
	c.offerless = offerless
	c.trunkTimer(timer)
	if wantsReliable(req) && (!offerless || hasOptionTag(req, "Require", "100rel")) {
		// After a delayed offer the first reliable response would have to
		// carry the edge's offer (RFC 3261 section 13.2.1, RFC 3262
		// section 5): a trunk that only supports 100rel gets unreliable
		// provisionals, one that requires it none (respondTrunk), and the
		// offer comes in the 200 either way.
		c.rel = newReliable(req.CSeq().SeqNo)
	}
	if offer != nil {
		c.setHeld(media.LegA, offer.OnHold())
	}
	s.calls.Add(1)
	s.dialogs.addCall(c)
	s.metrics.activeCalls.Inc()
	return c, nil
}

// readTrunkOffer reads the SDP offer of the trunk's INVITE: its
// application/sdp part for a multipart body (SIP-I/SIP-T), the audio
// stream the trunk's media_encryption allows, negotiated. An INVITE
// without a body is a delayed offer (RFC 3261 section 13.2.1): no offer,
// the edge offers in its 200 and reads the answer in the ACK.
func readTrunkOffer(req *sip.Request, t *routing.Trunk) (*media.Description, media.Answer, *Rejection) {
	if len(req.Body()) == 0 {
		return nil, media.Answer{}, nil
	}
	var ctype string
	if ct := req.ContentType(); ct != nil {
		ctype = ct.Value()
	}
	body, err := media.ExtractSDP(ctype, req.Body())
	if err != nil {
		return nil, media.Answer{}, classify(err)
	}
	offer, err := media.ParseSDP(body)
	if err != nil {
		return nil, media.Answer{}, classify(err)
	}
	offer, ans, err := chooseOffer(offer, encryptionOf(t), nil)
	if err != nil {
		return nil, media.Answer{}, classify(err)
	}
	return offer, ans, nil
}

// newCallID returns a random edge call id ("call_" and 20 base32 digits).
func newCallID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "call_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// sdpFor builds the edge's SDP for a leg: its public address and the
// leg's port, one codec (an answer) or the edge's offer.
func (s *Server) sdpFor(sess MediaSession, l media.Leg, codecs []media.Codec, dtmf uint8, dir media.Direction, ptime int, id, version uint64, prof media.Profile) ([]byte, error) {
	port := sess.LocalAddr(l).Port()
	if !prof.RTCPMux && port != 0 {
		prof.RTCPPort = int(port) + 1 // a=rtcp (RFC 3605): the pair's odd port
	}
	body, err := media.BuildSDP(media.SDPParams{
		Addr: s.mediaIP(l), Port: int(port), SessionID: id, SessionVersion: version,
		Codecs: codecs, TelephoneEventPT: dtmf, Direction: dir, Ptime: ptime, Profile: prof,
	})
	if err != nil {
		return nil, fmt.Errorf("build sdp for leg %s: %w", l, err)
	}
	return body, nil
}

// mediaIP is the edge's address as leg l's peer reaches it: PublicIP
// towards trunks, ServiceIP (default PublicIP) towards services.
func (s *Server) mediaIP(l media.Leg) netip.Addr {
	if l == media.LegB && s.cfg.ServiceIP.IsValid() {
		return s.cfg.ServiceIP
	}
	return s.cfg.PublicIP
}

// sdpSessionID returns a random o= session id (RFC 4566 section 5.2).
func sdpSessionID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var n uint64
	for _, x := range b {
		n = n<<8 | uint64(x)
	}
	return n % math.MaxInt64
}

// issueCallToken makes the token the call's service gets (design section
// 12), valid in the store for as long as the call can last
// (callTokenTTL), after its admission (admitCall) when the store does not
// issue it in the admission's script; "" when the store has no tokens or
// cannot be reached, or Redis is away (the call goes on without).
func (s *Server) issueCallToken(rec tenancy.CallRecord) string {
	if s.tokens == nil || !s.spool.Direct(rec.WorkspaceID) {
		return "" // Redis away: the control plane could not check it either
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	token, err := s.tokens.IssueCallToken(ctx, rec.WorkspaceID, rec.ID, rec.ServiceID, s.callTokenTTL())
	if err != nil {
		s.metrics.storeErrors.WithLabelValues("issue_call_token").Inc()
		s.log.Warn("call token not issued", "call_id", rec.ID, "workspace_id", rec.WorkspaceID, "error", err)
		return ""
	}
	return token
}

// callTokenTTL is how long a call's token is stored: as long as the call
// can last.
func (s *Server) callTokenTTL() time.Duration {
	return s.cfg.NoAnswerTimeout + s.cfg.MaxDuration + s.cfg.ByeTimeout + s.cfg.LeaseTTL
}

// storeWrite runs one write that is not spooled (the call token's end,
// callwrites.go) with the store timeout, counting a failure: the call goes
// on either way.
func (s *Server) storeWrite(op string, fn func(ctx context.Context) error) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := fn(ctx); err != nil {
		s.metrics.storeErrors.WithLabelValues(op).Inc()
		s.log.Warn("call state write failed", "op", op, "error", err)
	}
}
