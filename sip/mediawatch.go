package sip

import (
	"time"

	"github.com/voiceedge/edge/media"
)

// watchMedia starts the media watch of an answered call: a leg that has
// sent no RTP for Config.MediaTimeout, counted from the answer, the end of
// the last hold or its last packet, while the call is not on hold, ends
// the call. The relay's own timer (both legs silent) stays as a backstop.
// The clock fires at the earliest deadline of the legs, not on a tick: a
// call with media flowing is checked once a timeout, not twice a second.
// With the timeout off there is no clock (nil).
func (c *call) watchMedia() *clock {
	timeout := c.s.cfg.MediaTimeout
	if timeout <= 0 {
		return nil
	}
	return startClock(timeout, func() time.Duration {
		if c.ctx.Err() != nil {
			return 0
		}
		next, err := c.idleLeg(time.Now(), timeout)
		if err != nil {
			c.cancel(err)
			return 0
		}
		return next
	})
}

// idleLeg returns the media timeout cause of the first leg silent for
// timeout at now, the trunk's first, or the wait until the earliest leg
// can be: the leg's start (the answer or the end of the last hold) or its
// last packet, plus timeout. On hold it checks again a timeout later (the
// end of the hold moves every deadline past that).
func (c *call) idleLeg(now time.Time, timeout time.Duration) (time.Duration, error) {
	c.mu.Lock()
	held := c.held[0] || c.held[1]
	since := c.resumedAt
	c.mu.Unlock()
	if held {
		return timeout, nil
	}
	st := c.sess.Stats()
	left := func(l media.LegStats) time.Duration {
		last := since
		if l.LastPacket.After(last) {
			last = l.LastPacket
		}
		return timeout - now.Sub(last)
	}
	next := left(st.A)
	if next <= 0 {
		return 0, errMediaTrunk
	}
	if !c.agentIsGone() { // takeover.go: leg B let go is not watched
		b := left(st.B)
		if b <= 0 {
			return 0, errMediaSvc
		}
		next = min(next, b)
	}
	return next, nil
}

// silentLeg names the leg of a media timeout the relay reported (both
// legs silent): the one silent longer, the trunk's on a tie.
func (c *call) silentLeg() error {
	st := c.sess.Stats()
	if st.B.LastPacket.Before(st.A.LastPacket) {
		return errMediaSvc
	}
	return errMediaTrunk
}
