package media

import "time"

// watchTimeout reports a media timeout when neither leg has received RTP
// for Config.MediaTimeout, counting from Run, the last packet, or the end
// of a hold, whichever is latest. While on hold it waits.
func (s *Session) watchTimeout() {
	defer s.wg.Done()
	timeout := s.cfg.MediaTimeout
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-s.holdChanged:
		case <-timer.C:
		}
		if s.hold.Load() {
			continue // the timer is re-armed when the hold ends
		}
		idle := time.Since(s.epoch) - s.lastActivity()
		if idle >= timeout {
			s.timeoutOnce.Do(func() {
				s.metrics.timeouts.Inc()
				close(s.timedOut)
				s.log.Info("media timeout", "idle", idle, "timeout", timeout)
			})
			return
		}
		timer.Reset(timeout - idle)
	}
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
