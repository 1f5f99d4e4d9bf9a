package sip

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per source IP (requests, not responses).
// Its table is bounded: when it holds maxRateEntries sources, buckets that
// have refilled completely are forgotten, and if none has, the new source
// is refused (a flood of spoofed sources cannot grow memory).
type rateLimiter struct {
	rate    float64 // tokens per second
	burst   float64
	trusted []netip.Prefix
	now     func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const maxRateEntries = 100_000

func newRateLimiter(rate float64, burst int, trusted []netip.Prefix) *rateLimiter {
	return &rateLimiter{
		rate: rate, burst: float64(burst), trusted: trusted, now: time.Now,
		buckets: make(map[netip.Addr]*bucket),
	}
}

// allow takes a token of ip's bucket and reports whether there was one.
func (l *rateLimiter) allow(ip netip.Addr) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range l.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[ip]
	if !ok {
		if len(l.buckets) >= maxRateEntries && !l.evictLocked(now) {
			return false
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evictLocked forgets the buckets that are full again; it reports whether
// any room was made.
func (l *rateLimiter) evictLocked(now time.Time) bool {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	n := len(l.buckets)
	for ip, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, ip)
		}
	}
	return len(l.buckets) < n
}

// size returns the number of tracked sources.
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
