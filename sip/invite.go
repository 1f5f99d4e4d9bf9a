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
	if !s.router.KnownSource(sourceIP(req)) {
		s.refuse(req, tx, reject(ReasonUnknownSource, ""))
		return
	}
	// 100 Trying at once (RFC 3261 section 17.2.1): the rest may wait on Redis
	// and on the service.
	if err := tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil)); err != nil {
		return
	}
	if s.draining.Load() || s.closed.Load() {
		s.refuse(req, tx, classify(ErrDraining))
		return
	}
	adm, rej := s.admit(req)
	if rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	c, rej := s.newCall(req, tx, adm, start)
	if rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	s.metrics.invites.WithLabelValues("accepted", string(ReasonAnswered)).Inc()
	c.setup()
}

// newCall checks the SDP offer, opens the media session and takes a slot
// under the workspace's limits: the last checks a call can fail before it
// exists. Nothing is left behind when it fails.
func (s *Server) newCall(req *sip.Request, tx sip.ServerTransaction, adm *admission, start time.Time) (*call, *Rejection) {
	if len(req.Body()) == 0 {
		return nil, reject(ReasonNoCodec, "no SDP offer")
	}
	var ctype string
	if ct := req.ContentType(); ct != nil {
		ctype = ct.Value()
	}
	body, err := media.ExtractSDP(ctype, req.Body()) // SIP-I/SIP-T: the SDP part
	if err != nil {
		return nil, classify(err)
	}
	offer, err := media.ParseSDP(body)
	if err != nil {
		return nil, classify(err)
	}
	offer, ans, err := chooseOffer(offer, encryptionOf(adm.trunk), nil)
	if err != nil {
		return nil, classify(err)
	}
	id := newCallID()
	sess, err := s.media.NewSession(id)
	if err != nil {
		return nil, classify(err)
	}
	prof, err := applyOffer(sess, media.LegA, offer, ans, latchingOf(adm.trunk))
	if err != nil {
		_ = sess.Close()
		return nil, classify(err)
	}
	sess.SetHold(offer.OnHold())
	r := adm.route
	rec := tenancy.CallRecord{
		ID: id, WorkspaceID: r.Workspace.ID, ServiceID: r.Service.ID, From: adm.caller, To: r.Number,
		State: tenancy.CallRinging, StartedAt: start.UTC(), NodeID: s.cfg.NodeID,
	}
	ctx, cancel := s.storeCtx()
	err = s.store.AdmitCall(ctx, rec, r.Workspace.Limits, s.cfg.LeaseTTL)
	cancel()
	if err != nil {
		_ = sess.Close()
		return nil, classify(err)
	}
	c := newCallState(s, req, tx, adm, rec, sess, ans, prof)
	c.offerA = offer
	s.calls.Add(1)
	s.dialogs.addCall(c)
	s.metrics.activeCalls.Inc()
	c.event(tenancy.EventCallStarted, map[string]any{
		"from": rec.From, "to": rec.To, "service_id": r.Service.ID, "trunk_id": adm.trunk.ID,
		"node_id": s.cfg.NodeID, "codec": ans.Codec.Name, "srtp": !prof.Crypto.IsZero(),
	})
	return c, nil
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

// storeWrite runs one call-state write with the store timeout, counting a
// failure: the call goes on either way (leases expire by themselves).
func (s *Server) storeWrite(op string, fn func(ctx context.Context) error) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := fn(ctx); err != nil {
		s.metrics.storeErrors.WithLabelValues(op).Inc()
		s.log.Warn("call state write failed", "op", op, "error", err)
	}
}
