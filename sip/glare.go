package sip

import (
	"math/rand/v2"
	"time"
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
