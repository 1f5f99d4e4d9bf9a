package media

import (
	"fmt"
	"time"
)

// DefaultMediaTimeout is the media timeout of DefaultConfig.
const DefaultMediaTimeout = 30 * time.Second

// Config tunes the sessions a Manager creates.
type Config struct {
	// MediaTimeout is how long a running session may go without receiving
	// RTP on any leg (both legs silent) before it reports a media timeout
	// (Session.TimedOut). Hold suspends it (Session.SetHold). Zero disables
	// the timer. Default DefaultMediaTimeout (30s).
	MediaTimeout time.Duration

	// LatchAnySource lets a leg latch onto the first RTP source it hears
	// from, even when that source's IP differs from the address its SDP
	// signalled (a phone behind NAT that advertises its private address).
	// When false a leg latches only onto a source with the signalled IP (any
	// port). After latching, other sources are dropped either way.
	// Default false.
	LatchAnySource bool

	// RTCPInterval is the mean interval of the reports the edge sends each
	// leg's peer (RFC 3550 section 6.2), randomised by half of it either
	// way. Zero sends none (RTCP is still received). Default
	// DefaultRTCPInterval (5s).
	RTCPInterval time.Duration
}

// DefaultConfig returns the defaults, the one place they are set.
func DefaultConfig() Config {
	return Config{
		MediaTimeout:   DefaultMediaTimeout,
		LatchAnySource: false,
		RTCPInterval:   DefaultRTCPInterval,
	}
}

// Validate reports whether c can be used.
func (c Config) Validate() error {
	if c.RTCPInterval < 0 {
		return fmt.Errorf("%w: rtcp interval %v is negative", ErrInvalidConfig, c.RTCPInterval)
	}
	if c.MediaTimeout < 0 {
		return fmt.Errorf("%w: media timeout %v is negative", ErrInvalidConfig, c.MediaTimeout)
	}
	return nil
}
