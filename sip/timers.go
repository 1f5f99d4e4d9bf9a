package sip

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// watch arms the watch of an answered call until it ends: a hangup by
// either side or the control plane, shutdown, the media timeout of either
// leg (mediawatch.go) or of both (the relay's, media.Session.OnTimeout),
// an expired session timer (session_timer.go) or the maximum duration.
// Each of them cancels the call's context; its end stops the others and
// hangs up the legs that are still up.
//
// The watch holds no goroutine while it waits: runtime timers
// (time.AfterFunc, clock.go) and context.AfterFunc run their function on
// a goroutine of its own when they fire, and a call waits minutes between
// them. A goroutine waiting on a select for the whole call, and one per
// session timer, were 3 stacks (8 to 16 KB) of every live call.
func (c *call) watch() {
	maxT := time.AfterFunc(c.s.cfg.MaxDuration, func() { c.cancel(errMaxTime) })
	mediaWatch := c.watchMedia() // mediawatch.go
	var refresh [2]*clock
	for l, t := range c.timers {
		if t != nil {
			refresh[l] = c.runTimer(media.Leg(l), t) // session_timer.go
		}
	}
	c.sess.OnTimeout(func() { c.cancel(c.silentLeg()) })
	context.AfterFunc(c.ctx, func() {
		maxT.Stop()
		mediaWatch.stop()
		refresh[media.LegA].stop()
		refresh[media.LegB].stop()
		// The hangup goes deep: it runs on the worker pool (workers.go).
		c.s.workers.submit(func() { c.hangup(context.Cause(c.ctx)) })
	})
}

// hangup sends BYE, in parallel, to each leg that is up and did not hang
// up itself, then ends the call. Each BYE is retransmitted by its client
// transaction until answered or Config.ByeTimeout (Timer F by default).
func (c *call) hangup(cause error) {
	c.mu.Lock()
	byeA := c.aUp && !errors.Is(cause, errTrunkBye)
	byeB := c.bUp && !errors.Is(cause, errServiceBye)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ByeTimeout)
	defer cancel()
	reason := endReason(cause)
	var wg sync.WaitGroup
	if byeA {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.bye(ctx, media.LegA, reason); err != nil {
				c.log.Debug("bye trunk", "error", err)
			}
		}()
	}
	if byeB {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.bye(ctx, media.LegB, reason); err != nil {
				c.log.Debug("bye service", "error", err)
			}
		}()
	}
	wg.Wait()
	c.end(reason)
}

// bye sends BYE on leg l: on leg A whether or not the trunk acknowledged
// the 200 (RFC 3261 section 13.3.1.4: a 2xx never acknowledged within
// 64*T1 ends the session with BYE; sipgo's own Bye waits for the ACK
// first), on leg B whatever sipgo thinks of the dialog's state (a PRACK
// leaves it unconfirmed, see prack.go). It carries the Reason header of
// reason, if it has one (byeReasons).
func (c *call) bye(ctx context.Context, l media.Leg, reason Reason) error {
	var hdrs []sip.Header
	if v := byeReason(reason); v != "" {
		hdrs = append(hdrs, sip.NewHeader("Reason", v))
	}
	err := byeOn(ctx, c.dialog(l), c.remoteTarget(l), hdrs...)
	c.endInvite(l)
	return err
}

// endInvite terminates the INVITE transaction of leg l once the edge's
// BYE on the leg is answered or given up, as sipgo's own Bye does. An
// INVITE answered 2xx keeps its transaction Accepted for 64*T1 (Timer L
// or M, RFC 6026 section 7), holding the INVITE, its 2xx and the leg's
// dialog: 5 to 8 KB per call for 32 s after a call that is over.
func (c *call) endInvite(l media.Leg) {
	var tx sip.Transaction
	switch {
	case l == media.LegB:
		if d := c.svc(); d != nil {
			tx = d.InviteTx()
		}
	case c.out != nil: // xfer.go: a placed call's leg A is a client session
		if d := c.out.dialog(); d != nil {
			if ct := d.InviteTransaction(); ct != nil {
				tx = ct
			}
		}
	case c.tx != nil:
		tx = c.tx
	}
	if tx != nil {
		tx.Terminate()
	}
}

// endReason maps the cause that ended a call to its end reason.
func endReason(cause error) Reason {
	switch {
	case errors.Is(cause, errTrunkBye):
		return ReasonTrunkHangup
	case errors.Is(cause, errServiceBye):
		return ReasonServiceHangup
	case errors.Is(cause, errMediaTrunk):
		return ReasonMediaTimeoutTrunk
	case errors.Is(cause, errMediaSvc):
		return ReasonMediaTimeoutService
	case errors.Is(cause, errMediaTime):
		return ReasonMediaTimeout
	case errors.Is(cause, errMaxTime):
		return ReasonMaxDuration
	case errors.Is(cause, errNoAnswerSDP):
		return ReasonNoAnswerSDP
	case errors.Is(cause, errNoAck):
		return ReasonNoAck
	case errors.Is(cause, errExpired):
		return ReasonSessionExpired
	case errors.Is(cause, errOperatorLeft):
		return ReasonOperatorLeft
	case errors.Is(cause, errNoOperator):
		return ReasonNoOperator
	}
	return classify(cause).Reason
}
