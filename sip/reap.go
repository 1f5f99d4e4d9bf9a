package sip

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/tenancy"
)

// Node loss. Each node renews its calls' leases (renewLoop); the calls of
// a node that dies are ended node_lost by the store's reaper: in
// admission, in the sweep every LeaseTTL/2 (sweepLoop, on one node per
// interval), and, for the calls its previous process left, by a node that
// restarts with the same id before it takes calls (ReapOwnCalls).

// Reaper ends the calls of lost edge nodes: *tenancy.Store. A CallStore
// that implements it is used for it; without one, a dead node's slots
// still come back through admission.
type Reaper interface {
	TakeSweep(ctx context.Context, node string, every time.Duration) (bool, error)
	ReapExpired(ctx context.Context) ([]tenancy.Reaped, error)
	ReapNode(ctx context.Context, node string) ([]tenancy.Reaped, error)
	HoldReaping(until time.Time)
}

var _ Reaper = (*tenancy.Store)(nil)

// ReapOwnCalls ends at once every call the registry holds for this node
// id: called at start, before the node takes calls, none of them can be
// alive (the process that carried them is gone). It returns how many.
func (s *Server) ReapOwnCalls(ctx context.Context) (int, error) {
	r, ok := s.store.(Reaper)
	if !ok {
		return 0, nil
	}
	got, err := r.ReapNode(ctx, s.cfg.NodeID)
	if err != nil {
		return len(got), fmt.Errorf("reap calls of node %s: %w", s.cfg.NodeID, err)
	}
	return len(got), nil
}

// sweepLoop runs the reaper over every workspace every LeaseTTL/2 when
// this node holds the sweep for that interval, so a dead node's slots and
// records come back even in a workspace that admits no new call.
func (s *Server) sweepLoop(ctx context.Context) {
	r, ok := s.store.(Reaper)
	if !ok {
		return
	}
	every := s.cfg.LeaseTTL / 2
	for sleep(ctx, every) {
		sctx, cancel := context.WithTimeout(ctx, every)
		mine, err := r.TakeSweep(sctx, s.cfg.NodeID, every)
		if err == nil && mine {
			_, err = r.ReapExpired(sctx)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			s.metrics.storeErrors.WithLabelValues("reap_expired").Inc()
			s.log.Warn("sweep of expired calls", "error", err)
		}
	}
}

// ReapMetrics counts and logs what the store's reaper did
// (tenancy.WithReapObserver(m.Observe)): calls ended node_lost, and slots
// freed whose record could not be ended (none, not JSON, or a deleted
// workspace's: never silently).
type ReapMetrics struct {
	log     *slog.Logger
	reaped  prometheus.Counter
	dropped *prometheus.CounterVec
}

// NewReapMetrics registers the reaper's metrics into reg (none when nil).
func NewReapMetrics(reg *prometheus.Registry, log *slog.Logger) (*ReapMetrics, error) {
	const ns, sub = "edge", "sip"
	m := &ReapMetrics{
		log: log,
		reaped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "calls_reaped_total",
			Help: "Calls of lost edge nodes this node ended with reason node_lost (record and call.ended written).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "call_records_dropped_total",
			Help: "Call slots freed without ending their record, by reason (missing, undecodable, workspace_deleted).",
		}, []string{"reason"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.reaped, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register reap metrics: %w", err)
		}
	}
	return m, nil
}

// Observe counts and logs one reaped call.
func (m *ReapMetrics) Observe(r tenancy.Reaped) {
	log := m.log.With("call_id", r.CallID, "workspace_id", r.WorkspaceID, "node_id", r.NodeID)
	switch {
	case r.Outcome == tenancy.ReapEnded:
		m.reaped.Inc()
		log.Info("call of a lost node ended", "reason", tenancy.ReasonNodeLost)
	case r.Dropped():
		m.dropped.WithLabelValues(r.Outcome).Inc()
		log.Warn("call record dropped: slot freed without ending its record", "reason", r.Outcome)
	}
}
