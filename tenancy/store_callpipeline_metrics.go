package tenancy

import "github.com/prometheus/client_golang/prometheus"

// pipelineMetrics are the call pipeline's: what waits for Redis, and the
// writes refused at once because too much did.
type pipelineMetrics struct {
	refused     *prometheus.CounterVec
	full, share prometheus.Counter
	queued      prometheus.GaugeFunc
}

func newPipelineMetrics(p *CallPipeline) pipelineMetrics {
	const ns, sub = "edge", "redis"
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "call_writes_refused_total",
		Help: "Call writes the call pipeline refused at once, by reason: queue_full (callPipelineMaxQueued writes waiting for Redis) or workspace_share (the workspace holding half of them). The edge spools them."},
		[]string{"reason"})
	return pipelineMetrics{
		refused: refused,
		full:    refused.WithLabelValues("queue_full"),
		share:   refused.WithLabelValues("workspace_share"),
		queued: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "call_writes_queued",
			Help: "Call writes waiting for the batch in flight to be answered before they go to Redis."},
			p.queued),
	}
}

// Collectors returns the pipeline's metrics, for the edge's registry:
// edge_redis_call_writes_refused_total{reason} and
// edge_redis_call_writes_queued.
func (p *CallPipeline) Collectors() []prometheus.Collector {
	return []prometheus.Collector{p.metrics.refused, p.metrics.queued}
}

// queued is the number of writes in the batch being filled.
func (p *CallPipeline) queued() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(len(p.next.cmds))
}
