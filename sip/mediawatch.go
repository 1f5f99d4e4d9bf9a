package sip

import (
	"time"

	"github.com/voiceedge/edge/media"
)

// mediaTicks is the clock of the media watch of an answered call (monitor
// checks idleLeg at each tick): a leg that has sent no RTP for
// Config.MediaTimeout, counted from the answer, the end of the last hold or
// its last packet, while the call is not on hold, ends the call. The
// relay's own timer (both legs silent) stays as a backstop. With the
// timeout off the channel is nil: it never fires.
func (c *call) mediaTicks() (<-chan time.Time, func()) {
	timeout := c.s.cfg.MediaTimeout
	if timeout <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(min(timeout/4, 500*time.Millisecond))
	return t.C, t.Stop
}

// idleLeg returns the media timeout cause of the first leg silent for
// timeout at now, the trunk's first, or nil.
func (c *call) idleLeg(now time.Time, timeout time.Duration) error {
	c.mu.Lock()
	held := c.held[0] || c.held[1]
	since := c.resumedAt
	c.mu.Unlock()
	if held {
		return nil
	}
	st := c.sess.Stats()
	silent := func(l media.LegStats) bool {
		last := since
		if l.LastPacket.After(last) {
			last = l.LastPacket
		}
		return now.Sub(last) >= timeout
	}
	switch {
	case silent(st.A):
		return errMediaTrunk
	case silent(st.B) && !c.agentIsGone(): // takeover.go: leg B let go
		return errMediaSvc
	}
	return nil
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
