package sip

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// Session timers (RFC 4028), per leg. Each leg has a session interval
// and a refresher: the trunk's Session-Expires (at least Config.MinSE,
// else 422 with Min-SE) and refresher, or Config.SessionExpires with the
// trunk as refresher when it supports timer, the edge when it does not;
// towards the service the edge asks for Config.SessionExpires and the
// service's 200 decides (no Session-Expires in it: the edge refreshes).
// The edge's 200 to the trunk carries Session-Expires with the refresher
// (and Require: timer when the trunk supports timer). When the edge is a
// leg's refresher it sends a refresh at half the interval: UPDATE without
// SDP when the peer allows UPDATE, else re-INVITE with the edge's current
// SDP. When the peer is, any re-INVITE or UPDATE of the leg counts; none
// by interval - min(32 s, interval/3) (section 10) ends the call on both
// legs (end reason session_expired). Any successful re-INVITE or UPDATE
// in either direction refreshes the leg.

// sessionTimer is the session timer of one leg.
type sessionTimer struct {
	mu       sync.Mutex
	interval time.Duration
	edge     bool   // the edge refreshes
	peerTSup bool   // the peer supports timer (Require: timer in 2xx)
	clk      *clock // runs from the answer (runTimer)
}

func newSessionTimer(interval time.Duration, edgeRefreshes, peerSupports bool) *sessionTimer {
	return &sessionTimer{interval: interval, edge: edgeRefreshes, peerTSup: peerSupports}
}

func (t *sessionTimer) get() (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.interval, t.edge
}

// wait is the time from a refresh to the edge's next refresh, at half the
// interval, or, when the peer refreshes, to the expiry: interval -
// min(32 s, interval/3) (RFC 4028 section 10).
func (t *sessionTimer) wait() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked()
}

func (t *sessionTimer) waitLocked() time.Duration {
	if t.edge {
		return t.interval / 2
	}
	return t.interval - min(32*time.Second, t.interval/3)
}

// touch restarts the timer: the session was refreshed. Before the answer
// starts it, it does nothing.
func (t *sessionTimer) touch() {
	t.mu.Lock()
	k, wait := t.clk, t.waitLocked()
	t.mu.Unlock()
	if k != nil {
		k.reset(wait)
	}
}

// trunkTimer sets up leg A's session timer from the trunk's INVITE.
func (c *call) trunkTimer(tr timerRequest) {
	interval := tr.expires
	if interval == 0 {
		interval = max(c.s.cfg.SessionExpires, tr.minSE)
	}
	edge := tr.refresher == "uas" || tr.refresher == "" && !tr.supported
	c.timers[media.LegA] = newSessionTimer(interval, edge, tr.supported)
}

// serviceTimer sets up leg B's session timer from the service's 2xx.
func (c *call) serviceTimer(res *sip.Response) {
	c.mu.Lock()
	interval, edge := c.askedSE, true
	c.mu.Unlock()
	if interval == 0 {
		interval = c.s.cfg.SessionExpires
	}
	if h := sessionExpiresHeader(res); h != nil {
		if secs, refresher, err := parseSessionExpires(h.Value()); err == nil && time.Duration(secs)*time.Second >= c.s.cfg.MinSE {
			interval, edge = time.Duration(secs)*time.Second, refresher != "uas"
		}
	}
	c.timers[media.LegB] = newSessionTimer(interval, edge, hasOptionTag(res, "Require", "timer"))
}

// timerRequestHeaders are the session timer headers of the INVITE to the
// service, asking for interval.
func (s *Server) timerRequestHeaders(interval time.Duration) []sip.Header {
	return []sip.Header{
		sip.NewHeader("Session-Expires", strconv.Itoa(int(interval/time.Second))),
		sip.NewHeader("Min-SE", strconv.Itoa(int(s.cfg.MinSE/time.Second))),
	}
}

// maxSessionInterval bounds the interval the edge agrees to when a
// service asks for more with 422: a day.
const maxSessionInterval = 24 * time.Hour

// retryTooBrief returns the INVITE to send again when the service refused
// req with 422 and a larger Min-SE (RFC 4028 section 7.4: same Call-ID
// and tags, CSeq incremented, Session-Expires raised to the Min-SE), else
// nil.
func (c *call) retryTooBrief(req *sip.Request, err error) *sip.Request {
	var dr *sipgo.ErrDialogResponse
	if !errors.As(err, &dr) || dr.Res.StatusCode != 422 {
		return nil
	}
	h := dr.Res.GetHeader("Min-SE")
	if h == nil {
		return nil
	}
	secs, perr := parseMinSE(h.Value())
	minSE := time.Duration(secs) * time.Second
	if perr != nil || minSE <= c.s.cfg.SessionExpires || minSE > maxSessionInterval {
		return nil
	}
	next := req.Clone()
	next.RemoveHeader("Via")
	next.RemoveHeader("CSeq")
	next.RemoveHeader("Session-Expires")
	next.RemoveHeader("Min-SE")
	next.AppendHeader(&sip.CSeqHeader{SeqNo: req.CSeq().SeqNo + 1, MethodName: sip.INVITE})
	for _, h := range c.s.timerRequestHeaders(minSE) {
		next.AppendHeader(h)
	}
	c.mu.Lock()
	c.askedSE = minSE
	c.mu.Unlock()
	return next
}

// raiseForTooBrief takes a 422 to the edge's own re-INVITE or UPDATE on
// leg l: when its Min-SE is above the leg's interval (and at most a day),
// the interval becomes that Min-SE and the caller sends the request again
// (RFC 4028 section 7.4); it reports whether to.
func (c *call) raiseForTooBrief(l media.Leg, res *sip.Response) bool {
	t := c.timers[l]
	h := res.GetHeader("Min-SE")
	if t == nil || h == nil {
		return false
	}
	secs, err := parseMinSE(h.Value())
	minSE := time.Duration(secs) * time.Second
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil || minSE <= t.interval || minSE > maxSessionInterval {
		return false
	}
	t.interval = minSE
	return true
}

// refreshed notes a re-INVITE or UPDATE of leg l: it refreshes the
// session and may renegotiate the interval and the refresher.
func (c *call) refreshed(l media.Leg, req *sip.Request) {
	t := c.timers[l]
	if t == nil {
		return
	}
	if h := sessionExpiresHeader(req); h != nil {
		if secs, refresher, err := parseSessionExpires(h.Value()); err == nil && time.Duration(secs)*time.Second >= c.s.cfg.MinSE {
			t.mu.Lock()
			t.interval = time.Duration(secs) * time.Second
			if refresher != "" {
				t.edge = refresher == "uas"
			}
			t.mu.Unlock()
		}
	}
	t.touch()
}

// decorateTimer adds leg l's Session-Expires (and Require: timer when the
// peer supports timer) to a 2xx of the edge's.
func (c *call) decorateTimer(l media.Leg, res *sip.Response) {
	t := c.timers[l]
	if t == nil {
		return
	}
	interval, edge := t.get()
	refresher := "uac"
	if edge {
		refresher = "uas"
	}
	res.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(interval/time.Second), refresher)))
	if t.peerTSup {
		res.AppendHeader(sip.NewHeader("Require", "timer"))
	}
}

// timerHeaders are leg l's session timer headers in a request of the
// edge's (the edge is its UAC: refresher=uac names the edge).
func (c *call) timerHeaders(l media.Leg) []sip.Header {
	t := c.timers[l]
	if t == nil {
		return nil
	}
	interval, edge := t.get()
	refresher := "uas"
	if edge {
		refresher = "uac"
	}
	return []sip.Header{sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(interval/time.Second), refresher))}
}

// runTimer starts leg l's session timer: it refreshes the leg when the
// edge is its refresher, and ends the call (errExpired) when the peer is
// and has not refreshed in time. The clock stops with the call (watch).
func (c *call) runTimer(l media.Leg, t *sessionTimer) *clock {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clk = startClock(t.waitLocked(), func() time.Duration {
		if c.ctx.Err() != nil || l == media.LegB && c.agentIsGone() {
			return 0 // takeover.go: leg B was let go
		}
		if interval, edge := t.get(); !edge {
			c.log.Info("session expired: no refresh from the peer", "leg", l, "interval", interval)
			c.cancel(errExpired)
			return 0
		}
		c.refresh(l)
		return t.wait()
	})
	return t.clk
}

// refresh sends leg l a session refresh: UPDATE without SDP when the peer
// allows UPDATE, else a re-INVITE with the edge's current SDP. An
// exchange in progress is a refresh already (it touches the timer when it
// succeeds).
func (c *call) refresh(l media.Leg) {
	if !c.offering.TryLock() {
		return
	}
	defer c.offering.Unlock()
	method := sip.UPDATE
	var body []byte
	if !c.peerAllows(l, "UPDATE") {
		method = sip.INVITE
		var rej *Rejection
		if body, rej = c.currentSDP(l); rej != nil {
			return
		}
	}
	res, err := c.sendOffer(l, method, body)
	if err != nil {
		c.log.Info("session refresh failed", "leg", l, "error", err)
		_ = c.peerRejection(err) // 481 and 408 end the call
		return
	}
	if method == sip.INVITE && len(res.Body()) > 0 {
		if _, err := c.applyAnswerDir(l, res); err != nil {
			c.log.Debug("refresh answer", "leg", l, "error", err)
		}
	}
}
