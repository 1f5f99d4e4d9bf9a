package sip

import (
	"context"
	"math"
	rtmetrics "runtime/metrics"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CPU overload. The setup gate's fixed bound (Config.MaxSetups) keeps a
// stalled Redis from gathering unbounded setups, but it is far above what
// the CPU can turn over quickly: at 800 calls/s a thousand setups in
// flight are a second of queue. So the bound in force also follows the
// CPU, measured where the edge feels it: the Go scheduler's latency, the
// time a runnable goroutine waits for a processor
// (/sched/latencies:seconds). While the CPU keeps up it is microseconds;
// once the CPU is saturated, by the edge or by anything else on the host,
// every goroutine of every call waits, and the setups of all queue.
//
// Every window (100 ms) the p99 of that window's scheduling latencies is
// compared with a target (Config.OverloadLatency). Over it for
// overloadAfter windows in a row (a collection cycle or a burst is one or
// two), the bound in force drops to three quarters of the setups in
// flight, and again each window it stays over (multiplicative decrease),
// never below a floor of 1/256 of MaxSetups (4 at the default: fast
// setups are few in flight, 8 at 1,600 calls/s taking 5 ms); under it, the bound
// grows by a twentieth and at least one a window, up to MaxSetups. Past the
// bound an INVITE gets 503 with Retry-After, as for the fixed bound, which
// costs the edge a tenth of a call. What Redis does is not a signal: a
// setup waiting on Redis is not runnable, so a slow Redis sheds nothing
// here (the fixed bound and the admission timeout handle it).

// overloadWindow is how often the scheduler's latency is read.
const overloadWindow = 100 * time.Millisecond

// overloadAfter is how many windows in a row over the target make the
// CPU saturated.
const overloadAfter = 3

// minWindowSamples is how many scheduling events a window needs to judge
// the CPU by: fewer (an idle edge) count as keeping up.
const minWindowSamples = 64

// schedLatency reads the runtime's scheduling latencies window by window.
type schedLatency struct {
	sample []rtmetrics.Sample
	prev   []uint64 // the cumulative counts of the last read
}

const schedLatencyMetric = "/sched/latencies:seconds"

func newSchedLatency() *schedLatency {
	s := &schedLatency{sample: []rtmetrics.Sample{{Name: schedLatencyMetric}}}
	s.window(0.99) // the counts so far are not a window
	return s
}

// window returns the q-quantile of the latencies since the last call (the
// upper edge of its bucket) and how many there were.
func (s *schedLatency) window(q float64) (time.Duration, uint64) {
	rtmetrics.Read(s.sample)
	if s.sample[0].Value.Kind() != rtmetrics.KindFloat64Histogram {
		return 0, 0 // not in this runtime
	}
	h := s.sample[0].Value.Float64Histogram()
	if len(s.prev) != len(h.Counts) {
		s.prev = make([]uint64, len(h.Counts))
	}
	var total uint64
	for i, c := range h.Counts {
		total += c - s.prev[i]
	}
	var at time.Duration
	if total > 0 {
		want := uint64(math.Ceil(q * float64(total)))
		var seen uint64
		for i, c := range h.Counts {
			seen += c - s.prev[i]
			if seen >= want {
				at = bucketTop(h.Buckets[i+1])
				break
			}
		}
	}
	copy(s.prev, h.Counts)
	return at, total
}

// bucketTop is a histogram bucket's upper edge as a duration (+Inf: an
// hour, longer than any window).
func bucketTop(sec float64) time.Duration {
	if math.IsInf(sec, 1) || sec > 3600 {
		return time.Hour
	}
	return time.Duration(sec * float64(time.Second))
}

// adaptiveBound is the bound in force, between floor and max.
type adaptiveBound struct {
	max, floor int
	limit      float64
	overRun    int // windows in a row over the target
}

func newAdaptiveBound(bound int) *adaptiveBound {
	return &adaptiveBound{max: bound, floor: max(4, bound/256), limit: float64(bound)}
}

// adjust takes one window's verdict: over, with inFlight setups.
func (b *adaptiveBound) adjust(over bool, inFlight int) {
	if !over {
		b.overRun = 0
		b.limit = min(float64(b.max), b.limit+max(1, b.limit/20))
		return
	}
	if b.overRun++; b.overRun >= overloadAfter {
		b.limit = max(float64(b.floor), min(b.limit, float64(inFlight))*3/4)
	}
}

func (b *adaptiveBound) bound() int { return int(b.limit) }

// overloadMetrics shows the CPU's verdicts.
type overloadMetrics struct {
	limit   prometheus.Gauge
	latency prometheus.Gauge
	over    prometheus.Counter
}

func newOverloadMetrics() overloadMetrics {
	return overloadMetrics{
		limit: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "edge", Subsystem: "sip", Name: "setup_bound",
			Help: "The bound of call setups in progress in force: EDGE_MAX_SETUPS, lowered while the CPU is saturated."}),
		latency: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "edge", Subsystem: "sip", Name: "sched_latency_p99_seconds",
			Help: "p99 of the Go scheduler's latency (runnable to running) over the last 100 ms: the CPU overload signal."}),
		over: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "edge", Subsystem: "sip", Name: "cpu_overload_windows_total",
			Help: "100 ms windows in which the scheduler's p99 latency was over EDGE_OVERLOAD_LATENCY."}),
	}
}

func (m overloadMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.limit, m.latency, m.over}
}

// watchCPU adjusts g's bound every window until ctx ends; target 0 or a
// gate without bound: nothing to adjust.
func (g *setupGate) watchCPU(ctx context.Context, target time.Duration) {
	if g == nil || g.max <= 0 || target <= 0 {
		return
	}
	lat := newSchedLatency()
	t := time.NewTicker(overloadWindow)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p99, n := lat.window(0.99)
		g.window(p99, n, target)
	}
}

// window applies one window's p99 scheduling latency over n events.
func (g *setupGate) window(p99 time.Duration, n uint64, target time.Duration) {
	over := n >= minWindowSamples && p99 > target
	g.mu.Lock()
	g.adaptive.adjust(over, g.total)
	bound := g.adaptive.bound()
	g.mu.Unlock()
	g.om.latency.Set(p99.Seconds())
	g.om.limit.Set(float64(bound))
	if over {
		g.om.over.Inc()
	}
}
