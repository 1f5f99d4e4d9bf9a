package sip

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the SIP layer (namespace "edge", subsystem "sip"). Every label
// takes values from a fixed set: results, Reasons, methods.
type metrics struct {
	invites      *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	ended        *prometheus.CounterVec
	requests     *prometheus.CounterVec
	refused      *prometheus.CounterVec
	activeCalls  prometheus.Gauge
	setupLatency prometheus.Histogram
	storeErrors  *prometheus.CounterVec
	localAdmits  prometheus.Counter // admitted from memory, Redis away (admit_local.go)
	// INVITEs to services (service_request.go).
	serviceTCP      prometheus.Counter
	settingsTrimmed prometheus.Counter
	dtmf            *prometheus.CounterVec
	// ACKs sent again for a retransmitted 2xx of the edge's re-INVITE.
	ackResent prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	const ns, sub = "edge", "sip"
	m := &metrics{
		invites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "invites_total",
			Help: "Initial INVITEs by result (accepted, rejected) and reason.",
		}, []string{"result", "reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dropped_total",
			Help: "SIP requests dropped without an answer, by reason (unknown_source, rate_limited, malformed, retransmission: a late copy of an ended call's INVITE).",
		}, []string{"reason"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "calls_ended_total",
			Help: "Admitted calls ended, by end reason.",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "SIP requests handled, by method.",
		}, []string{"method"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_refused_total",
			Help: "Requests other than initial INVITEs answered with a refusal, by method and reason.",
		}, []string{"method", "reason"}),
		activeCalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "active_calls",
			Help: "Calls this edge carries (admitted and not yet ended).",
		}),
		setupLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "setup_seconds",
			Help:    "Time from the trunk's INVITE to the 200 OK sent to the trunk.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "store_errors_total",
			Help: "Failed call-state writes to Redis, by operation.",
		}, []string{"op"}),
		localAdmits: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "local_admissions_total",
			Help: "Calls admitted from memory under this node's share of the workspace's limits while Redis was away.",
		}),
		serviceTCP: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "service_invites_tcp_total",
			Help: "INVITEs to UDP services sent over TCP because they exceeded 1300 bytes (RFC 3261 section 18.1.1).",
		}),
		settingsTrimmed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "service_settings_trimmed_total",
			Help: "INVITEs to UDP-only services whose X-Voice-Settings was cut down to stay under 1300 bytes.",
		}),
		dtmf: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dtmf_total",
			Help: "DTMF digits converted between SIP INFO and RFC 4733, by source (info, rfc4733) and result; never the digits.",
		}, []string{"source", "result"}),
		ackResent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "reinvite_acks_resent_total",
			Help: "ACKs the edge sent again because a peer retransmitted the 2xx of the edge's re-INVITE (its first ACK was lost).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.invites, m.dropped, m.ended, m.requests, m.refused, m.activeCalls, m.setupLatency, m.storeErrors, m.localAdmits, m.serviceTCP, m.settingsTrimmed, m.dtmf, m.ackResent} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register sip metrics: %w", err)
		}
	}
	return m, nil
}

// methodLabel bounds the method label.
func methodLabel(m string) string {
	switch m {
	case "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE", "REFER", "NOTIFY", "PRACK",
		"REGISTER", "SUBSCRIBE", "MESSAGE", "PUBLISH":
		return m
	}
	return "other"
}
