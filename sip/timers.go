package sip

import (
	"context"
	"errors"
	"sync"
	"time"
)

// monitor watches an answered call until it ends: a hangup by either side
// or the control plane, shutdown, the media timeout (no RTP on both legs,
// media.Config.MediaTimeout) or the maximum duration. It then hangs up the
// legs that are still up and ends the call.
func (c *call) monitor() {
	maxT := time.NewTimer(c.s.cfg.MaxDuration)
	defer maxT.Stop()
	select {
	case <-c.ctx.Done():
	case <-c.sess.TimedOut():
		c.cancel(errMediaTime)
	case <-maxT.C:
		c.cancel(errMaxTime)
	}
	c.hangup(context.Cause(c.ctx))
}

// hangup sends BYE, in parallel, to each leg that is up and did not hang
// up itself, then ends the call.
func (c *call) hangup(cause error) {
	c.mu.Lock()
	byeA := c.aUp && !errors.Is(cause, errTrunkBye)
	byeB := c.bUp && !errors.Is(cause, errServiceBye)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.ByeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	if byeA {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.byeTrunk(ctx); err != nil {
				c.log.Debug("bye trunk", "error", err)
			}
		}()
	}
	if byeB {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.svc().Bye(ctx); err != nil {
				c.log.Debug("bye service", "error", err)
			}
		}()
	}
	wg.Wait()
	c.end(endReason(cause))
}

// endReason maps the cause that ended a call to its end reason.
func endReason(cause error) Reason {
	switch {
	case errors.Is(cause, errTrunkBye):
		return ReasonTrunkHangup
	case errors.Is(cause, errServiceBye):
		return ReasonServiceHangup
	case errors.Is(cause, errMediaTime):
		return ReasonMediaTimeout
	case errors.Is(cause, errMaxTime):
		return ReasonMaxDuration
	case errors.Is(cause, errNoAck):
		return ReasonNoAck
	}
	return classify(cause).Reason
}
