package sip

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per source IP (requests, not responses),
// in a bounded table (bucketTable: a new source evicts the oldest when it
// is full).
type rateLimiter struct {
	rate    float64 // tokens per second
	burst   float64
	trusted []netip.Prefix
	now     func() time.Time

	mu      sync.Mutex
	buckets *bucketTable[netip.Addr]
}

func newRateLimiter(rate float64, burst int, trusted []netip.Prefix) *rateLimiter {
	return &rateLimiter{
		rate: rate, burst: float64(burst), trusted: trusted, now: time.Now,
		buckets: newBucketTable[netip.Addr](maxRateEntries),
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
	return l.buckets.take(ip, l.rate, l.burst, now)
}

// size returns the number of tracked sources.
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buckets.len()
}
