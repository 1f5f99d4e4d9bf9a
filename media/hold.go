package media

import "math"

// Hold audio (design section 11): while a caller waits for a human (a
// REFER to the workspace's operators, or an agent gone before an operator
// is on), the edge plays it a tone pattern of its own in place of the
// agent's audio: HoldToneHz at about -18 dBFS, 600 ms on and 400 ms off.
// The mixer generates it, in leg A's law, in the same RTP
// stream as the rest of what leg A hears (outStream), for as long as hold
// audio is on and no operator is heard by the caller: an operator who
// barges in (or whose mode changes to barge) stops it, one who leaves
// brings it back if the wait goes on.

// The hold tone pattern.
const (
	HoldToneHz        = 620
	holdToneAmplitude = 4000 // of 32767: about -18 dBFS
	holdToneOnFrames  = 30   // 600 ms
	holdTonePeriod    = 50   // frames: 1 s (600 ms tone, 400 ms silence)
)

// holdTone is the generator of the hold tone; only the mixer goroutine
// touches it.
type holdTone struct {
	frame int     // frame of the pattern, 0..holdTonePeriod-1
	phase float64 // of the sine, radians
}

// next writes the pattern's next 20 ms into dst (frameSamples samples).
func (h *holdTone) next(dst []int32) {
	on := h.frame < holdToneOnFrames
	h.frame = (h.frame + 1) % holdTonePeriod
	if !on {
		clear(dst)
		h.phase = 0
		return
	}
	step := 2 * math.Pi * HoldToneHz / float64(frameSamples*50)
	for i := range dst {
		dst[i] = int32(holdToneAmplitude * math.Sin(h.phase))
		h.phase += step
	}
	h.phase = math.Mod(h.phase, 2*math.Pi)
}

// PlayHold starts (on) or stops hold audio to the caller (leg A). While it
// is on, the caller hears the hold tone instead of the agent until an
// operator is heard by it (barge). It returns ErrClosed for a closed
// session. Turning it off on a closed session is not an error.
func (s *Session) PlayHold(on bool) error {
	s.holdAudio.Store(on)
	if !on {
		return nil
	}
	// No operator engine gives its metrics here: hold audio alone counts
	// its frames in series of its own, registered nowhere.
	return s.withMixer("play hold audio on call", func() (*operatorMetrics, error) {
		return newOperatorMetrics(nil, func() float64 { return 0 })
	}, nil)
}

// HoldPlaying reports whether hold audio is on (PlayHold), whether or not
// an operator's voice covers it at the moment.
func (s *Session) HoldPlaying() bool { return s.holdAudio.Load() }

// DropRemote forgets leg l's peer: nothing is sent to it any more and what
// it still sends is dropped (not_ready), as before the leg was set up. A
// later SetRemote sets it up again. The sip package drops the service leg
// when the agent has left a call an operator takes over.
func (s *Session) DropRemote(l Leg) {
	if l.valid() {
		s.legs[l].peer.Store(nil)
	}
}

// startMixer starts the session's mixer with met; the caller holds s.mu
// and s.mixMu, and s.mixer is nil.
func (s *Session) startMixer(met *operatorMetrics) {
	m := newMixer(s, met, s.log)
	s.mixer = m
	s.mix.Store(m)
	s.wg.Add(1)
	go m.run()
}
