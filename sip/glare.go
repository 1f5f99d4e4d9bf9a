package sip

import (
	"math/rand/v2"
	"time"

	"github.com/voiceedge/edge/media"
)

// glareDelay is how long the edge waits before retrying an offer its peer
// answered 491 Request Pending (RFC 3261 section 14.1): when the edge
// owns the dialog's Call-ID (it generated it: leg B, the service's
// dialog), a random time from 2.1 s to 4 s in units of 10 ms; otherwise
// (leg A, the trunk's Call-ID) from 0 to 2 s.
func glareDelay(owner bool) time.Duration {
	if owner {
		return 2100*time.Millisecond + time.Duration(rand.IntN(191))*10*time.Millisecond
	}
	return time.Duration(rand.IntN(201)) * 10 * time.Millisecond
}

// lockOffer starts an offer/answer exchange that leg l began (a
// re-INVITE or UPDATE with or without offer), unless one is in progress.
func (c *call) lockOffer(l media.Leg) bool {
	if !c.offering.TryLock() {
		return false
	}
	c.mu.Lock()
	c.incoming[l] = true
	c.mu.Unlock()
	return true
}

func (c *call) unlockOffer(l media.Leg) {
	c.mu.Lock()
	c.incoming[l] = false
	c.mu.Unlock()
	c.offering.Unlock()
}

// pending is the answer to an offer of leg l while another exchange is in
// progress: 500 with Retry-After when leg l's own earlier one is (RFC 3261
// section 14.2, RFC 3311 section 5.2), else 491: the edge has an offer of
// its own out on that leg, or is carrying the other leg's (glare).
func (c *call) pending(l media.Leg) *Rejection {
	c.mu.Lock()
	own := c.incoming[l]
	c.mu.Unlock()
	if own {
		return &Rejection{Reason: ReasonOutOfOrder, Detail: "offer in progress", RetryAfter: 1 + rand.IntN(10)}
	}
	return reject(ReasonRequestPending, "")
}
