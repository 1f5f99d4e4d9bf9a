package spool

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the spool (namespace "edge", subsystem "spool").
type metrics struct {
	spooled  *prometheus.CounterVec // by op
	replayed *prometheus.CounterVec // by op
	dropped  *prometheus.CounterVec // by reason: full, shutdown, refused
	corrupt  prometheus.Counter
	entries  prometheus.Gauge
	bytes    prometheus.Gauge
	diskFull prometheus.Gauge
	down     prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	const ns, sub = "edge", "spool"
	m := &metrics{
		spooled: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "spooled_total",
			Help: "Call-state writes spooled (the store unavailable, or the workspace's spool not empty), by op."}, []string{"op"}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "replayed_total",
			Help: "Spooled writes applied to the store, by op."}, []string{"op"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "dropped_total",
			Help: "Spooled writes lost (full: both bounds reached; shutdown: held in memory only when the edge stopped) or refused by the store on replay (refused: e.g. the workspace was deleted)."}, []string{"reason"}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "corrupt_records_total",
			Help: "Segment tails cut at start because a record failed its length or checksum (a crash mid-write)."}),
		entries: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "entries",
			Help: "Writes waiting in the spool (memory and disk)."}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "disk_bytes",
			Help: "Bytes of the spool's segment files."}),
		diskFull: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "disk_full",
			Help: "1 while the last disk append failed (bound reached or write error): entries are kept in memory only."}),
		down: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "store_down",
			Help: "1 while the store's last answer was unavailable."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.spooled, m.replayed, m.dropped, m.corrupt, m.entries, m.bytes, m.diskFull, m.down} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register spool metrics: %w", err)
		}
	}
	return m, nil
}
