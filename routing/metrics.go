package routing

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for a reload, the values of the reason label of
// edge_routing_reloads_total.
const (
	ReasonStart     = "start"     // the first full load
	ReasonGap       = "gap"       // the change stream skipped sequence numbers
	ReasonReconnect = "reconnect" // Redis answered again after a failure
	ReasonReconcile = "reconcile" // reconciliation found workspaces out of date
)

// metrics of the map, namespace edge, subsystem routing.
type metrics struct {
	version       prometheus.Gauge
	workspaces    prometheus.Gauge
	numbers       prometheus.Gauge
	lastSync      prometheus.Gauge
	degraded      prometheus.Gauge
	ready         prometheus.Gauge
	reloads       *prometheus.CounterVec
	redisErrors   prometheus.Counter
	badItems      prometheus.Counter
	changes       prometheus.Counter
	itemChanges   prometheus.Counter
	lookupHit     prometheus.Counter
	lookupMiss    prometheus.Counter
	reconcileRuns prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, log *slog.Logger, staleness func() float64) *metrics {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "edge", Subsystem: "routing", Name: name, Help: help}
	}
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts(opts("lookups_total",
		"Number lookups by result (hit, miss).")), []string{"result"})
	m := &metrics{
		version: prometheus.NewGauge(prometheus.GaugeOpts(opts("map_version",
			"Change-stream sequence number the tenant map reflects."))),
		workspaces: prometheus.NewGauge(prometheus.GaugeOpts(opts("workspaces",
			"Workspaces loaded."))),
		numbers: prometheus.NewGauge(prometheus.GaugeOpts(opts("numbers",
			"Phone numbers loaded."))),
		lastSync: prometheus.NewGauge(prometheus.GaugeOpts(opts("last_sync_timestamp_seconds",
			"Unix time the map was last confirmed current with Redis."))),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts(opts("degraded",
			"1 while Redis is unreachable and the last good map is served."))),
		ready: prometheus.NewGauge(prometheus.GaugeOpts(opts("ready",
			"1 once the first full load has succeeded."))),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts(opts("reloads_total",
			"Full reloads of the map by reason (start, gap, reconnect), and reconciliations that found workspaces out of date (reconcile).")),
			[]string{"reason"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts(opts("redis_errors_total",
			"Failures to reach Redis: failed loads, change-stream reads and reconciliations."))),
		badItems: prometheus.NewCounter(prometheus.CounterOpts(opts("bad_items_total",
			"Workspaces or items left out of the map because they did not decode or parse."))),
		changes: prometheus.NewCounter(prometheus.CounterOpts(opts("changes_total",
			"Change-stream entries read."))),
		itemChanges: prometheus.NewCounter(prometheus.CounterOpts(opts("item_changes_total",
			"Number and trunk changes applied by reading the one item, without reloading its workspace."))),
		reconcileRuns: prometheus.NewCounter(prometheus.CounterOpts(opts("reconciliations_total",
			"Periodic reconciliations of workspace versions with Redis."))),
	}
	for _, r := range []string{ReasonStart, ReasonGap, ReasonReconnect, ReasonReconcile} {
		m.reloads.WithLabelValues(r)
	}
	stale := prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("staleness_seconds",
		"Seconds since the map was last confirmed current with Redis.")), staleness)
	if reg != nil {
		m.version = register(reg, log, m.version)
		m.workspaces = register(reg, log, m.workspaces)
		m.numbers = register(reg, log, m.numbers)
		m.lastSync = register(reg, log, m.lastSync)
		m.degraded = register(reg, log, m.degraded)
		m.ready = register(reg, log, m.ready)
		m.reloads = register(reg, log, m.reloads)
		m.redisErrors = register(reg, log, m.redisErrors)
		m.badItems = register(reg, log, m.badItems)
		m.changes = register(reg, log, m.changes)
		m.itemChanges = register(reg, log, m.itemChanges)
		m.reconcileRuns = register(reg, log, m.reconcileRuns)
		lookups = register(reg, log, lookups)
		register(reg, log, stale)
	}
	// Resolved once, so that a lookup only increments an atomic.
	m.lookupHit = lookups.WithLabelValues("hit")
	m.lookupMiss = lookups.WithLabelValues("miss")
	return m
}

// register registers c, or returns the collector of the same type already
// registered under its name (a second Map on one registry shares the
// metrics). On any other error c is kept unregistered and the error logged.
func register[C prometheus.Collector](reg *prometheus.Registry, log *slog.Logger, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Error("routing: register metric", "err", err)
	return c
}

func (m *metrics) synced(t time.Time) { m.lastSync.Set(float64(t.UnixNano()) / 1e9) }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
