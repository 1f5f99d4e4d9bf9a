package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// call is one bridged call: leg A is the trunk's dialog (the edge is its
// UAS), leg B the service's (the edge is its UAC). Its context lives as
// long as the call; cancelling it with a cause ends the call, whatever the
// state: before the answer the B-leg INVITE is cancelled and the trunk
// answered, after it the legs still up get a BYE.
type call struct {
	s     *Server
	id    string
	log   *slog.Logger
	route *routing.Route
	trunk *routing.Trunk
	ident identity // what the carrier said of the caller
	src   netip.Addr
	start time.Time
	sess  MediaSession
	ansA  media.Answer
	req   *sip.Request // the trunk's INVITE
	tx    sip.ServerTransaction
	sdpID uint64
	// token is the call's token (X-Edge-Call-Token): never logged.
	token  string
	ctx    context.Context
	cancel context.CancelCauseFunc

	a *sipgo.DialogServerSession
	// b is the edge's INVITE to the service while the call is set up
	// (PRACK, CANCEL); legB is leg B's dialog once it exists, replaced by
	// transfers and Replaces (service_dialog.go).
	b *sipgo.DialogClientSession
	// out is leg A of a call the edge placed (outbound.go), a is then nil.
	out *outLeg

	mu        sync.Mutex
	rec       tenancy.CallRecord
	legB      serviceDialog
	legIDs    []string
	peer      netip.Addr
	aUp, bUp  bool // leg answered (and not hung up by its side)
	sdpVer    [2]uint64
	prof      [2]media.Profile   // of the edge's SDP per leg (SRTP, m-lines)
	offerA    *media.Description // the trunk's offer (its codecs, in order, go to the service)
	answerB   media.Answer
	confirmed bool      // the trunk acknowledged the 200 (and its answer was usable)
	held      [2]bool   // the last offer or answer of each leg put the call on hold
	resumedAt time.Time // answer or end of the last hold: the media timeout counts from it
	endOnce   sync.Once
	setupDone chan struct{}

	// offerless: the trunk's INVITE had no SDP (delayed offer, RFC 3261
	// section 13.2.1): the edge offers in its 200 and the answer comes in
	// the ACK.
	offerless bool
	// acks carries the ACKs of 2xx of either leg (the initial INVITE's and
	// re-INVITEs'), read by waitAck.
	acks chan ackOf
	// offering is held while an offer/answer exchange (re-INVITE, UPDATE,
	// refresh) is in progress on the call; a second one meanwhile is
	// answered 491 (RFC 3261 section 14.2, RFC 3311 section 5.2).
	offering sync.Mutex
	// incoming marks the leg whose offer holds offering (glare.go).
	incoming [2]bool
	// rel is the 100rel state towards a trunk that supports it (prack.go);
	// serviceRSeq the last RSeq of the service the edge PRACKed.
	rel         *reliable
	serviceRSeq uint32
	// timers are the legs' session timers (session_timer.go), set before
	// the leg is in the dialog cache and never replaced.
	timers [2]*sessionTimer
	// askedSE is the session interval asked of the service after its 422.
	askedSE time.Duration
	// to is the call's warm transfer to an operator (takeover.go).
	to takeover
}

// Causes that end an answered call from one side.
var (
	errTrunkBye    = errors.New("trunk hung up")
	errServiceBye  = errors.New("service hung up")
	errNoAck       = errors.New("trunk did not acknowledge the answer")
	errMediaTime   = errors.New("media timeout")
	errMaxTime     = errors.New("maximum duration reached")
	errNoAnswerSDP = errors.New("trunk's ACK carried no usable SDP answer")
	errMediaTrunk  = errors.New("media timeout on the trunk leg")
	errMediaSvc    = errors.New("media timeout on the service leg")
	errExpired     = errors.New("session timer expired")
)

func newCallState(s *Server, req *sip.Request, tx sip.ServerTransaction, adm *admission, rec tenancy.CallRecord, sess MediaSession, ans media.Answer, prof media.Profile) *call {
	c := &call{
		s: s, id: rec.ID, route: adm.route, trunk: adm.trunk, ident: adm.identity, src: adm.src, start: rec.StartedAt,
		sess: sess, ansA: ans, req: req, tx: tx, sdpID: sdpSessionID(), rec: rec, prof: [2]media.Profile{prof},
		acks: make(chan ackOf, 4), setupDone: make(chan struct{}),
		log: s.log.With("call_id", rec.ID, "workspace_id", rec.WorkspaceID),
	}
	c.ctx, c.cancel = context.WithCancelCause(s.bgCtx)
	sess.OnDTMF(c.relayDTMF)
	return c
}

// terminate ends the call for cause, from any goroutine.
func (c *call) terminate(cause error) { c.cancel(cause) }

// setup bridges the call: it runs on the trunk INVITE's goroutine until the
// trunk has the final answer, then hands the call to its watch.
func (c *call) setup() {
	defer close(c.setupDone)
	_ = c.sess.Start(c.ctx) // the session closes when the call ends
	if err := c.readInvite(); err != nil {
		c.log.Warn("read trunk invite", "error", err)
		c.fail(classify(err))
		return
	}
	setupCtx, cancelSetup := context.WithTimeoutCause(c.ctx, c.s.cfg.NoAnswerTimeout, ErrNoAnswer)
	defer cancelSetup()
	if err := c.inviteService(setupCtx); err != nil {
		if cause := context.Cause(setupCtx); setupCtx.Err() != nil && cause != nil {
			err = cause
		}
		c.log.Info("call not connected", "error", err)
		if errors.Is(err, errTrunkBye) {
			// The trunk ended its early dialog with BYE: its INVITE is
			// answered 487 (RFC 3261 section 15.1.2).
			code, phrase := reject(ReasonCanceled, "").Status()
			c.respondTrunk(code, phrase, nil)
			c.end(ReasonTrunkHangup)
			return
		}
		c.fail(classify(err))
		return
	}
	c.answerTrunk()
	c.watch() // timers.go
}

// readInvite takes the trunk's INVITE as leg A's dialog and follows its
// CANCEL.
func (c *call) readInvite() error {
	ua := &sipgo.DialogUA{Client: c.s.client, ContactHDR: c.s.contact(transportOf(c.req)), RewriteContact: true}
	a, err := ua.ReadInvite(c.req, c.tx)
	if err != nil {
		return fmt.Errorf("read invite: %w", err)
	}
	c.a = a
	c.addLeg(a.ID, media.LegA)
	// CANCEL (RFC 3261 section 9.2): sipgo answers it 200 and the INVITE 487.
	// The callback holds only the call's cancel function, not the call:
	// sipgo keeps an answered INVITE's transaction, and so the callback,
	// for 32 s after the 200 (Timer L, RFC 6026), and holding the call would
	// keep its media session and both dialogs alive as long.
	cancel := c.cancel
	if !c.tx.OnCancel(func(*sip.Request) { cancel(ErrCanceled) }) {
		return ErrCanceled
	}
	return nil
}

// answerSDP is the edge's SDP answer to the trunk, on leg A.
func (c *call) answerSDP(dir media.Direction) ([]byte, error) {
	return c.s.sdpFor(c.sess, media.LegA, c.answerCodecs(), c.ansA.TelephoneEventPT, dir, c.ansA.Ptime, c.sdpID, c.nextVersion(media.LegA), c.profile(media.LegA))
}

// respondTrunk sends a response on leg A's INVITE transaction; a 18x
// reliably to a trunk that supports 100rel (prack.go).
func (c *call) respondTrunk(code int, phrase string, body []byte) {
	if c.a == nil { // a call the edge placed: nothing to relay (outbound.go)
		return
	}
	if c.rel != nil && code > 100 && code < 200 {
		if c.offerless {
			return // Require: 100rel after a delayed offer: no 18x (invite.go)
		}
		c.respondReliably(code, phrase, body)
		return
	}
	var hdrs []sip.Header
	if body != nil {
		ct := sip.ContentTypeHeader("application/sdp")
		hdrs = append(hdrs, &ct)
	}
	if err := c.a.Respond(code, phrase, body, hdrs...); err != nil {
		c.log.Debug("respond to trunk", "status", code, "error", err)
	}
}

// answerTrunk answers the trunk 200 and waits for its ACK (offeranswer.go):
// with the edge's answer, or, after a delayed offer, the edge's offer, whose
// answer the ACK carries.
func (c *call) answerTrunk() {
	c.s.metrics.setupLatency.Observe(time.Since(c.start).Seconds())
	if err := c.confirmTrunk(); err != nil {
		if c.ctx.Err() == nil {
			c.cancel(err)
		}
		return
	}
	now := time.Now().UTC()
	c.mu.Lock()
	c.rec.State, c.rec.AnsweredAt = tenancy.CallAnswered, &now
	c.resumedAt = time.Now()
	c.confirmed = true
	rec := c.rec
	c.mu.Unlock()
	c.transition(rec, false, tenancy.EventCallAnswered, map[string]any{"setup_ms": now.Sub(c.start).Milliseconds()})
}

// fail answers the trunk with a refusal and ends the call. A cancelled
// INVITE was answered 487 by the transaction layer already.
func (c *call) fail(rej *Rejection) {
	if rej.Reason != ReasonCanceled {
		code, phrase := rej.Status()
		var hdrs []sip.Header
		if rej.RetryAfter > 0 {
			hdrs = append(hdrs, sip.NewHeader("Retry-After", itoa(rej.RetryAfter)))
		}
		if c.a != nil {
			if err := c.a.Respond(code, phrase, nil, hdrs...); err != nil {
				c.log.Debug("answer trunk", "status", code, "error", err)
			}
		} else {
			res := sip.NewResponseFromRequest(c.req, code, phrase, nil)
			for _, h := range hdrs {
				res.AppendHeader(h)
			}
			_ = c.tx.Respond(res)
		}
	}
	c.end(rej.Reason)
}

func (c *call) addLeg(id string, l media.Leg) {
	c.mu.Lock()
	c.legIDs = append(c.legIDs, id)
	c.mu.Unlock()
	c.s.dialogs.addLeg(id, c, l)
}

func (c *call) nextVersion(l media.Leg) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sdpVer[l]++
	return c.sdpVer[l]
}

// transportOf returns the lower-case transport a request came over.
func transportOf(req *sip.Request) string {
	return strings.ToLower(req.Transport())
}
