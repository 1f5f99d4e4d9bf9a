package sip

import (
	"context"
	"sync"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// trunkPacer paces an outbound trunk's dials across every edge node
// (*tenancy.Store, one key in the workspace's slot): the carrier's CPS
// cap holds for the platform, not per node.
type trunkPacer interface {
	TakeTrunkSlot(ctx context.Context, ws, trunk string, cps int, maxWait time.Duration) (time.Duration, bool, error)
}

var _ trunkPacer = (*tenancy.Store)(nil)

// cpsLimiter paces the dials of each outbound trunk to its CPS: a dial
// waits for its moment up to cpsQueue, else fails with ReasonTrunkCPS.
// The moment comes from the shared pacer; when Redis does not answer, from
// this node's own pace (then the cap holds per node: a degraded mode,
// counted in edge_sip_store_errors_total{op="trunk_pace"}).
type cpsLimiter struct {
	shared trunkPacer // nil: this node's pace only

	mu   sync.Mutex
	next map[string]time.Time
}

func newCPSLimiter(shared trunkPacer) *cpsLimiter {
	return &cpsLimiter{shared: shared, next: map[string]time.Time{}}
}

func (l *cpsLimiter) take(ctx context.Context, s *Server, ws, trunk string, cps int) error {
	if cps <= 0 {
		cps = tenancy.DefaultOutboundCPS
	}
	wait, ok, err := time.Duration(0), false, error(nil)
	if l.shared != nil {
		sctx, cancel := s.storeCtx()
		wait, ok, err = l.shared.TakeTrunkSlot(sctx, ws, trunk, cps, cpsQueue)
		cancel()
		if err != nil {
			s.metrics.storeErrors.WithLabelValues("trunk_pace").Inc()
			s.log.Warn("trunk pace unavailable: pacing on this node only", "workspace_id", ws, "trunk_id", trunk, "error", err)
		}
	}
	if l.shared == nil || err != nil {
		wait, ok = l.local(ws+"/"+trunk, cps)
	}
	if !ok {
		return &dialError{Reason: ReasonTrunkCPS}
	}
	if wait > 0 && !sleep(ctx, wait) {
		return context.Cause(ctx)
	}
	return nil
}

// local reserves key's next moment on this node's own pace.
func (l *cpsLimiter) local(key string, cps int) (time.Duration, bool) {
	gap := time.Second / time.Duration(cps)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.next[key]
	if at.Before(now) {
		at = now
	}
	if at.Sub(now) > cpsQueue {
		return 0, false
	}
	l.next[key] = at.Add(gap)
	if len(l.next) > 10_000 { // forget idle trunks
		for k, t := range l.next {
			if t.Before(now) {
				delete(l.next, k)
			}
		}
	}
	return at.Sub(now), true
}
