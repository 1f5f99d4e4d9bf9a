package sip

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
)

// Carrier budgets (design section 10, issue 14 item 7). A source inside
// some trunk's CIDRs is a carrier, not a scanner: the per-source scanner
// limit (Config.RateLimit) does not apply to it. Instead each trunk has a
// budget of max_requests_per_second (default 500) per source address:
//
//   - an initial INVITE routed through a trunk takes a token of that trunk's
//     bucket for its source (admit), so two workspaces' trunks that share a
//     carrier address each keep their own budget;
//   - an initial INVITE that routes through none of the source's trunks
//     (unrouted: the 404 path), and any other out-of-dialog request (OPTIONS
//     keepalives, a request of an unknown or ended dialog), takes a token of
//     the source's own bucket, at the largest budget of the trunks
//     containing it (overBudget);
//   - requests of a known dialog (the edge's dialog cache matches them), ACK
//     and CANCEL (which belong to a transaction the edge holds or answer
//     481 at once) never count and are never refused by a budget.
//
// Over budget the request is answered 503 with Retry-After (a carrier fails
// over to another edge instead of retransmitting into silence). The 503 of
// the unrouted path and that of a routed trunk are the same bytes, so a
// budget reveals nothing about numbers of other workspaces. Buckets hold one
// second of the budget (burst = rate).
type budgets struct {
	now func() time.Time

	mu      sync.Mutex
	buckets *bucketTable[budgetKey]
}

// budgetKey names a bucket: a trunk (workspace and trunk id) and a source
// address; the zero workspace and trunk name the source's own bucket.
type budgetKey struct {
	workspace, trunk string
	ip               netip.Addr
}

// budgetRetryAfter is the Retry-After, in seconds, of a 503 over budget: a
// bucket refills within one second.
const budgetRetryAfter = 1

func newBudgets() *budgets {
	return &budgets{now: time.Now, buckets: newBucketTable[budgetKey](maxRateEntries)}
}

// allow takes a token of key's bucket, at rate tokens per second, and
// reports whether there was one. The table is bounded as rateLimiter's is.
func (b *budgets) allow(key budgetKey, rate int) bool {
	if rate <= 0 {
		return true
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buckets.take(key, float64(rate), float64(rate), now)
}

// overBudget decides, on the transport, whether a request from ip that
// passed screen is over its carrier budget (see budgets); nil lets it on.
// Requests of unknown sources were limited by admitSource already; initial
// INVITEs are charged by admission, to the trunk they route through.
func (s *Server) overBudget(req *sip.Request, ip netip.Addr) *Rejection {
	if req.IsAck() || req.IsCancel() || !s.router.KnownSource(ip) {
		return nil
	}
	inDialog := hasToTag(req)
	if req.IsInvite() && !inDialog {
		return nil
	}
	if inDialog {
		if _, ok := s.dialogs.match(req); ok {
			return nil
		}
	}
	return s.sourceBudget(ip, s.router.TrunksFrom(ip))
}

// sourceBudget takes a token of the source's own bucket, at the largest
// budget of its trunks.
func (s *Server) sourceBudget(ip netip.Addr, trunks []*routing.Trunk) *Rejection {
	rate := 0
	for _, t := range trunks {
		rate = max(rate, t.RequestsPerSecond)
	}
	if s.budget.allow(budgetKey{ip: ip}, rate) {
		return nil
	}
	return overBudgetRejection()
}

// trunkBudget takes a token of trunk t's bucket for source ip.
func (s *Server) trunkBudget(t *routing.Trunk, ip netip.Addr) *Rejection {
	if s.budget.allow(budgetKey{workspace: t.WorkspaceID, trunk: t.ID, ip: ip}, t.RequestsPerSecond) {
		return nil
	}
	return overBudgetRejection()
}

func overBudgetRejection() *Rejection {
	return &Rejection{Reason: ReasonTrunkBudget, RetryAfter: budgetRetryAfter}
}
