package admin

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// buckets is a set of token buckets keyed by caller (an API key id or a
// source address). Buckets idle for longer than it takes them to refill
// are swept, so memory stays bounded by the callers of the last minutes.
type buckets struct {
	limit rate.Limit
	burst int
	off   bool

	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newBuckets returns buckets of perSecond with burst; perSecond < 0 turns
// them off.
func newBuckets(perSecond float64, burst int) *buckets {
	return &buckets{limit: rate.Limit(perSecond), burst: burst, off: perSecond < 0, m: map[string]*bucket{}}
}

// sweepEvery is how often idle buckets are dropped.
const sweepEvery = time.Minute

func (b *buckets) get(key string, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.lastSweep) > sweepEvery {
		b.lastSweep = now
		full := time.Duration(float64(b.burst)/float64(b.limit)*float64(time.Second)) + sweepEvery
		for k, v := range b.m {
			if now.Sub(v.seen) > full {
				delete(b.m, k)
			}
		}
	}
	e, ok := b.m[key]
	if !ok {
		e = &bucket{lim: rate.NewLimiter(b.limit, b.burst)}
		b.m[key] = e
	}
	e.seen = now
	return e.lim
}

// take spends a token of key's bucket; when there is none it returns how
// long until there is one.
func (b *buckets) take(key string) (ok bool, wait time.Duration) {
	if b.off {
		return true, 0
	}
	now := time.Now()
	r := b.get(key, now).ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// empty reports whether key's bucket has no token left, without spending
// one, and how long until it has.
func (b *buckets) empty(key string) (bool, time.Duration) {
	if b.off {
		return false, 0
	}
	now := time.Now()
	tokens := b.get(key, now).TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(b.limit) * float64(time.Second))
}

// limited is the 429 for a wait.
func limited(wait time.Duration) error {
	return &retryError{err: ErrRateLimited, retryAfter: max(1, int(math.Ceil(wait.Seconds())))}
}
