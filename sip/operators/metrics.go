package operators

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the operator layer: namespace edge, subsystem operators.
type metrics struct {
	requests       *prometheus.CounterVec // route, status
	left           *prometheus.CounterVec // reason
	forwarded      *prometheus.CounterVec // result
	active         prometheus.Gauge
	streams        prometheus.Gauge
	streamsRefused prometheus.Counter
}

// Bounded label values of left_total.
const (
	reasonLeft         = "left"
	reasonDisconnected = "disconnected"
	reasonCallEnded    = "call_ended"
	reasonKeyRevoked   = "key_revoked"
	reasonAccountGone  = "account_removed"
	reasonRoleRevoked  = "role_revoked"
	reasonNotAllowed   = "not_allowed"
	reasonRemoved      = "removed"
	reasonShutdown     = "shutdown"
)

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "edge", Subsystem: "operators", Name: "requests_total",
			Help: "Requests of the operator API by route and HTTP status.",
		}, []string{"route", "status"}),
		left: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "edge", Subsystem: "operators", Name: "left_total",
			Help: "Operators that left calls of this node, by reason.",
		}, []string{"reason"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "edge", Subsystem: "operators", Name: "forwarded_total",
			Help: "Requests forwarded to the node holding their call, by result (ok, no_node, error).",
		}, []string{"result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "edge", Subsystem: "operators", Name: "sessions",
			Help: "Operators on calls of this node.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "edge", Subsystem: "operators", Name: "event_streams",
			Help: "Open event streams (the console's live updates).",
		}),
		streamsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "edge", Subsystem: "operators", Name: "event_streams_refused_total",
			Help: "Streams refused because this node, the workspace or the key had its streams open already.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.left, m.forwarded, m.active, m.streams, m.streamsRefused} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register operators metrics: %w", err)
		}
	}
	return m, nil
}
