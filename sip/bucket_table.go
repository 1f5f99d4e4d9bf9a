package sip

import "time"

// bucket is one token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// maxRateEntries bounds each table of buckets (per-source scanner limit,
// carrier budgets).
const maxRateEntries = 100_000

// bucketTable is a bounded table of token buckets. When it is full, a new
// key evicts the oldest one (the first inserted), so that a flood of
// spoofed sources costs memory up to the bound and then only ages out
// earlier entries; it never refuses a new source for being new (issue 10:
// a full table used to refuse every new source, real trunks included). An
// evicted key that comes back starts with a full bucket again, which is
// what a key unseen for that long would have anyway. Not safe for
// concurrent use: its owner locks.
type bucketTable[K comparable] struct {
	max   int
	m     map[K]*bucket
	order []K // keys in insertion order, oldest at head
	head  int
}

func newBucketTable[K comparable](max int) *bucketTable[K] {
	return &bucketTable[K]{max: max, m: make(map[K]*bucket)}
}

// take takes a token of k's bucket (rate tokens per second, burst tokens
// at most) at now and reports whether there was one.
func (t *bucketTable[K]) take(k K, rate, burst float64, now time.Time) bool {
	b, ok := t.m[k]
	if !ok {
		if len(t.m) >= t.max {
			t.evictOldest()
		}
		b = &bucket{tokens: burst, last: now}
		t.m[k] = b
		t.order = append(t.order, k)
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evictOldest forgets the key inserted first.
func (t *bucketTable[K]) evictOldest() {
	var zero K
	k := t.order[t.head]
	t.order[t.head] = zero
	t.head++
	delete(t.m, k)
	if t.head*2 >= len(t.order) {
		t.order = append(t.order[:0], t.order[t.head:]...)
		t.head = 0
	}
}

func (t *bucketTable[K]) len() int { return len(t.m) }
