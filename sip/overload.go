package sip

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Overload control (RFC 6357, RFC 7339 describe the behaviour): the edge
// bounds the call setups it works on at once, from the INVITE to the
// INVITE sent to the service (routing, admission in Redis, media ports,
// the call token: the part that costs the edge CPU and Redis round
// trips). Past the bound an INVITE is refused at once, 503 with
// Retry-After, so that a carrier sends the excess to another edge while
// the setups admitted keep their latency, instead of every setup
// queueing for seconds behind Redis. Waiting for the service to answer is
// not counted: a service that rings long costs nothing here.
//
// One workspace may hold at most half the bound (the rest of its INVITEs
// get 480 with Retry-After, callee-scoped like its CPS limit), so that a
// tenant's flood cannot fill the gate and lock the others out.
//
// The bound in force is lower while the CPU is saturated (overload_cpu.go).
type setupGate struct {
	max int

	mu       sync.Mutex
	total    int
	adaptive *adaptiveBound // the bound in force, following the CPU
	perWS    *mediaShares   // each workspace's setups, at most half the bound (media_share.go's counter)

	inProgress prometheus.Gauge
	om         overloadMetrics
}

func newSetupGate(bound int) *setupGate {
	g := &setupGate{max: bound, adaptive: newAdaptiveBound(bound), perWS: newMediaShares(max(1, bound/2)),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "edge", Subsystem: "sip", Name: "setups_in_progress",
			Help: "Call setups the edge is working on (from the INVITE to the INVITE sent to the service).",
		}),
		om: newOverloadMetrics()}
	g.om.limit.Set(float64(bound))
	return g
}

// collectors are the gate's metrics.
func (g *setupGate) collectors() []prometheus.Collector {
	return append(g.om.collectors(), g.inProgress)
}

// enter takes a place for a setup before anything of it is known; false:
// the edge is at the bound in force (503).
func (g *setupGate) enter() bool {
	if g == nil || g.max <= 0 {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= min(g.max, g.adaptive.bound()) {
		return false
	}
	g.total++
	g.inProgress.Set(float64(g.total))
	return true
}

// enterWorkspace counts the setup against workspace ws once it is routed;
// false: ws holds its share already (480).
func (g *setupGate) enterWorkspace(ws string) bool {
	if g == nil || g.max <= 0 {
		return true
	}
	return g.perWS.acquire(ws)
}

// leave gives back the places of a setup (ws "": it was not routed, or
// its workspace refused).
func (g *setupGate) leave(ws string) {
	if g == nil || g.max <= 0 {
		return
	}
	g.mu.Lock()
	g.total--
	g.inProgress.Set(float64(g.total))
	g.mu.Unlock()
	if ws != "" {
		g.perWS.release(ws)
	}
}
