package media

import (
	mrand "math/rand/v2"
	"sync"
	"time"
)

// clocks are a session's timers: each leg's RTCP report every
// RTCPInterval, randomised by half of it either way (RFC 3550 section
// 6.3.1), and the media timeout: no packet on either leg for MediaTimeout,
// counted from Run or the end of the last hold, closes TimedOut and calls
// the OnTimeout hook (once; the watch then stops). While the call is on
// hold the timeout's timer is left to fire and is re-armed when the hold
// ends.
//
// They are runtime timers (time.AfterFunc), not a goroutine waiting on
// them: a goroutine is a stack of its own for the whole call, a timer a
// few words until it fires, and a call's timers fire every few seconds at
// most. mu serialises the callbacks with the hold and with Close; once
// closed, a callback that was already due does nothing.
type clocks struct {
	mu     sync.Mutex
	closed bool
	report *time.Timer
	idle   *time.Timer
	idleOn bool // the media timeout's timer is armed (not fired on hold, not passed)
}

// startClocks arms the session's timers; with s.mu held, from start.
func (s *Session) startClocks() {
	k := &s.clk
	k.mu.Lock()
	defer k.mu.Unlock()
	if s.cfg.RTCPInterval > 0 {
		k.report = time.AfterFunc(s.nextReport(), s.reportTick)
	}
	if s.cfg.MediaTimeout > 0 {
		k.idleOn = true
		k.idle = time.AfterFunc(s.cfg.MediaTimeout, s.checkTimeout)
	}
}

// stopClocks stops the timers; a callback running finishes first, and
// none runs after it returns.
func (s *Session) stopClocks() {
	k := &s.clk
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if k.report != nil {
		k.report.Stop()
	}
	if k.idle != nil {
		k.idle.Stop()
	}
}

// reportTick sends each leg's RTCP report and re-arms for the next.
func (s *Session) reportTick() {
	k := &s.clk
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	now := time.Now()
	for _, l := range s.legs {
		s.report(l, now)
	}
	k.report.Reset(s.nextReport())
}

// checkTimeout checks the media timeout when its timer fires, and when
// the hold changes (SetHold): checkIdle re-arms the timer that fired on
// hold.
func (s *Session) checkTimeout() {
	k := &s.clk
	k.mu.Lock()
	fired := !k.closed && k.idleOn && s.checkIdle(k.idle)
	if fired {
		k.idleOn = false
	}
	k.mu.Unlock()
	if fired {
		s.timeOut()
	}
}

// nextReport is the wait until the next RTCP report.
func (s *Session) nextReport() time.Duration {
	iv := s.cfg.RTCPInterval
	return iv/2 + time.Duration(mrand.Int64N(int64(iv)+1))
}

// checkIdle re-arms t for what is left of the media timeout, or reports
// (true) that it passed. On hold it does neither.
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
	s.log.Info("media timeout", "idle", idle, "timeout", timeout)
	return true
}

// timeOut closes TimedOut and calls the OnTimeout hook, once.
func (s *Session) timeOut() {
	s.timeoutOnce.Do(func() {
		s.metrics.timeouts.Inc()
		close(s.timedOut)
		if h := s.timeoutHook.Load(); h != nil {
			(*h)()
		}
	})
}

// OnTimeout sets a function called once, on a goroutine of its own, when
// TimedOut closes; set after the timeout, it is called at once. It is for
// a caller that would otherwise keep a goroutine waiting on TimedOut.
func (s *Session) OnTimeout(fn func()) {
	once := sync.OnceFunc(func() { go fn() })
	s.timeoutHook.Store(&once)
	select {
	case <-s.timedOut:
		once() // the timeout came first; once keeps it to one call
	default:
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
