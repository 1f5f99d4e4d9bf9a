package routing

import "time"

// Defaults of the options.
const (
	// DefaultReconcileInterval is how often the loaded versions are
	// compared with Redis.
	DefaultReconcileInterval = 30 * time.Second
	// DefaultPollWait is how long one read of the change stream blocks; it
	// also bounds how long Run takes to return after its context ends.
	DefaultPollWait = time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between
	// attempts to reach Redis after a failure.
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
)

// Option configures a Map.
type Option func(*options)

type options struct {
	reconcile  time.Duration
	pollWait   time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
}

func defaultOptions() options {
	return options{
		reconcile:  DefaultReconcileInterval,
		pollWait:   DefaultPollWait,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
	}
}

// WithReconcileInterval sets how often the map compares its workspace
// versions with Redis (default 30 s). Zero or less keeps the default.
func WithReconcileInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.reconcile = d
		}
	}
}

// WithPollWait sets how long one blocking read of the change stream waits
// (default 1 s, at least 1 ms).
func WithPollWait(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.pollWait = max(d, time.Millisecond)
		}
	}
}

// WithBackoff sets the first and the longest wait between attempts to reach
// Redis after a failure (defaults 100 ms and 5 s); the wait doubles up to
// max. Values of zero or less keep the defaults.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(o *options) {
		if minWait > 0 {
			o.minBackoff = minWait
		}
		if maxWait > 0 {
			o.maxBackoff = maxWait
		}
		o.maxBackoff = max(o.maxBackoff, o.minBackoff)
	}
}
