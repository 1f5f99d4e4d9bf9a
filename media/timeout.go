package media

import (
	mrand "math/rand/v2"
	"time"
)

// clocks runs a session's timers in one goroutine, until it closes: each
// leg's RTCP report every RTCPInterval, randomised by half of it either way
// (RFC 3550 section 6.3.1), and the media timeout: no packet on either leg
// for MediaTimeout, counted from Run or the end of the last hold, closes
// TimedOut (once; the watch then stops). While the call is on hold the
// timeout's timer is left to fire and is re-armed when the hold ends.
// One goroutine a call for both (a goroutine is a stack of its own).
func (s *Session) clocks() {
	defer s.wg.Done()
	var report, idle <-chan time.Time
	var reportT, idleT *time.Timer
	if s.cfg.RTCPInterval > 0 {
		reportT = time.NewTimer(s.nextReport())
		defer reportT.Stop()
		report = reportT.C
	}
	if s.cfg.MediaTimeout > 0 {
		idleT = time.NewTimer(s.cfg.MediaTimeout)
		defer idleT.Stop()
		idle = idleT.C
	}
	for {
		select {
		case <-s.closing:
			return
		case now := <-report:
			for _, l := range s.legs {
				s.report(l, now)
			}
			reportT.Reset(s.nextReport())
		case <-s.holdChanged:
			if idle != nil && s.checkIdle(idleT) {
				idle = nil
			}
		case <-idle:
			if s.checkIdle(idleT) {
				idle = nil
			}
		}
	}
}

// nextReport is the wait until the next RTCP report.
func (s *Session) nextReport() time.Duration {
	iv := s.cfg.RTCPInterval
	return iv/2 + time.Duration(mrand.Int64N(int64(iv)+1))
}

// checkIdle re-arms t for what is left of the media timeout, or reports
// (true) that it passed and closes TimedOut. On hold it does neither.
func (s *Session) checkIdle(t *time.Timer) bool {
	if s.hold.Load() {
		return false // re-armed when the hold ends
	}
	timeout := s.cfg.MediaTimeout
	idle := time.Since(s.epoch) - s.lastActivity()
	if idle < timeout {
		t.Reset(timeout - idle)
		return false
	}
	s.timeoutOnce.Do(func() {
		s.metrics.timeouts.Inc()
		close(s.timedOut)
		s.log.Info("media timeout", "idle", idle, "timeout", timeout)
	})
	return true
}

// lastActivity is the latest of Run, the end of the last hold and the last
// packet received on either leg, as time since the epoch.
func (s *Session) lastActivity() time.Duration {
	last := s.resumed.Load()
	for _, l := range s.legs {
		if rx := l.stats.lastRx.Load() - 1; rx > last {
			last = rx
		}
	}
	return time.Duration(last)
}
