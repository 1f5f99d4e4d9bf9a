package sip

import (
	"time"

	"github.com/voiceedge/edge/media"
)

// watchMedia reports, once, the media timeout of either leg of an
// answered call: a leg that has sent no RTP for Config.MediaTimeout,
// counted from the answer, the end of the last hold or its last packet,
// while the call is not on hold. The relay's own timer (both legs silent)
// stays as a backstop. The channel never fires when the timeout is off.
func (c *call) watchMedia() <-chan error {
	out := make(chan error, 1)
	timeout := c.s.cfg.MediaTimeout
	if timeout <= 0 {
		return out
	}
	tick := min(timeout/4, 500*time.Millisecond)
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case now := <-t.C:
				if err := c.idleLeg(now, timeout); err != nil {
					out <- err
					return
				}
			}
		}
	}()
	return out
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
