package admin

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the admin API (namespace edge, subsystem admin). Label values
// are bounded: route is a pattern of the route table (or "unmatched"),
// method one of the HTTP methods (or "OTHER"), code an HTTP status.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	authFailed  prometheus.Counter
	streams     prometheus.Gauge
	projected   prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	const ns, sub = "edge", "admin"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Admin API requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Admin API request duration by route pattern (event streams: until the client leaves).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "rate_limited_total",
			Help: "Requests refused with 429, by bucket: key, ip, auth_failures, hangup or workspace_writes.",
		}, []string{"bucket"}),
		authFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "auth_failures_total",
			Help: "Requests with a missing, unknown or revoked bearer token.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "event_streams",
			Help: "Live event streams (SSE) open now.",
		}),
		projected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "projected_events_total",
			Help: "Events the projection follower applied to the world model's entities.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.authFailed, m.streams, m.projected} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register admin metrics: %w", err)
		}
	}
	return m, nil
}

// knownMethods bounds the method label.
var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "OTHER"
}
