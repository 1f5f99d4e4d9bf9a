package main

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"time"

	"github.com/voiceedge/edge/admin/client"
)

// sampler watches the edge while a step runs: CPU and resident memory from
// /proc, active calls, goroutines and Go memory from /metrics.
type sampler struct {
	s      *stack
	mu     sync.Mutex
	first  procSample
	last   procSample
	peak   edgePeak
	drops  *dropTracker // nil unless the step reads socket drops
	cancel context.CancelFunc
	done   chan struct{}
}

// edgePeak is what the edge looked like at its highest call count.
type edgePeak struct {
	ActiveCalls   float64 `json:"active_calls"`
	Goroutines    float64 `json:"goroutines"`
	RSSBytes      float64 `json:"rss_bytes"`
	HeapBytes     float64 `json:"heap_inuse_bytes"`
	StackBytes    float64 `json:"stack_inuse_bytes"`
	NextGC        float64 `json:"next_gc_bytes"`
	MaxRSS        float64 `json:"max_rss_bytes"`
	MaxGoroutines float64 `json:"max_goroutines"`
}

// startSampler samples every interval until stop. With socketDrops it
// also reads every socket's drops (/proc/net/udp) each time: only for the
// media steps, whose report shows them. With thousands of sockets open
// that read costs the kernel 20-40 ms of a core, which would land on the
// setups of every other step as a latency spike each interval.
func startSampler(s *stack, interval time.Duration, socketDrops bool) *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	sm := &sampler{s: s, cancel: cancel, done: make(chan struct{})}
	if socketDrops {
		sm.drops = newDropTracker()
	}
	sm.first, _ = sampleProc(s.edge.pid())
	sm.last = sm.first
	go func() {
		defer close(sm.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sm.sample()
			}
		}
	}()
	return sm
}

func (sm *sampler) sample() {
	if sm.drops != nil {
		sm.drops.sample()
	}
	ps, err := sampleProc(sm.s.edge.pid())
	if err != nil {
		return
	}
	m, err := scrape(sm.s.metricsURL + "/metrics")
	if err != nil {
		return
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	sm.last = ps
	g := m.sum("go_goroutines")
	sm.peak.MaxRSS = max(sm.peak.MaxRSS, ps.rssBytes)
	sm.peak.MaxGoroutines = max(sm.peak.MaxGoroutines, g)
	if a := m.sum("edge_sip_active_calls"); a >= sm.peak.ActiveCalls {
		sm.peak.ActiveCalls = a
		sm.peak.Goroutines = g
		sm.peak.RSSBytes = ps.rssBytes
		sm.peak.HeapBytes = m.sum("go_memstats_heap_inuse_bytes")
		sm.peak.StackBytes = m.sum("go_memstats_stack_inuse_bytes")
		sm.peak.NextGC = m.sum("go_memstats_next_gc_bytes")
	}
}

// stop ends sampling and returns the edge's CPU use over the sampled
// period (% of one core) and its peak.
func (sm *sampler) stop() (float64, edgePeak) {
	sm.cancel()
	<-sm.done
	sm.sample()
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return cpuPercent(sm.first, sm.last), sm.peak
}

// idle is the edge's footprint with no calls.
type idle struct {
	RSSBytes   float64 `json:"rss_bytes"`
	HeapBytes  float64 `json:"heap_inuse_bytes"`
	StackBytes float64 `json:"stack_inuse_bytes"`
	NextGC     float64 `json:"next_gc_bytes"`
	Goroutines float64 `json:"goroutines"`
}

// gcSnapshot is the edge right after a forced garbage collection
// (/debug/pprof/heap?gc=1): its heap in use is then the live heap.
type gcSnapshot struct {
	ActiveCalls float64 `json:"active_calls"`
	HeapBytes   float64 `json:"heap_inuse_bytes"`
	StackBytes  float64 `json:"stack_inuse_bytes"`
	RSSBytes    float64 `json:"rss_bytes"`
	Goroutines  float64 `json:"goroutines"`
}

func snapshotAfterGC(s *stack) (gcSnapshot, error) {
	if err := fetch(s.metricsURL+"/debug/pprof/heap?gc=1", os.DevNull, 30*time.Second); err != nil {
		return gcSnapshot{}, err
	}
	m, err := scrape(s.metricsURL + "/metrics")
	if err != nil {
		return gcSnapshot{}, err
	}
	ps, _ := sampleProc(s.edge.pid())
	return gcSnapshot{ActiveCalls: m.sum("edge_sip_active_calls"), HeapBytes: m.sum("go_memstats_heap_inuse_bytes"),
		StackBytes: m.sum("go_memstats_stack_inuse_bytes"), RSSBytes: ps.rssBytes, Goroutines: m.sum("go_goroutines")}, nil
}

// measureIdle takes the edge's footprint with no call, after a GC.
func measureIdle(s *stack) idle {
	if g, err := snapshotAfterGC(s); err == nil {
		m, _ := scrape(s.metricsURL + "/metrics")
		return idle{RSSBytes: g.RSSBytes, HeapBytes: g.HeapBytes, StackBytes: g.StackBytes, NextGC: m.sum("go_memstats_next_gc_bytes"), Goroutines: g.Goroutines}
	}
	ps, _ := sampleProc(s.edge.pid())
	m, _ := scrape(s.metricsURL + "/metrics")
	return idle{RSSBytes: ps.rssBytes, HeapBytes: m.sum("go_memstats_heap_inuse_bytes"),
		StackBytes: m.sum("go_memstats_stack_inuse_bytes"), NextGC: m.sum("go_memstats_next_gc_bytes"), Goroutines: m.sum("go_goroutines")}
}

// waitDrained waits (bounded) until the edge carries no call.
func waitDrained(ctx context.Context, s *stack, d time.Duration) {
	_ = waitUntil(ctx, s.edge, d, "edge drained", func() bool {
		m, err := scrape(s.metricsURL + "/metrics")
		return err == nil && m.sum("edge_sip_active_calls") == 0
	})
}

// mediaStats sums the call.ended statistics of the calls of a step.
type mediaStats struct {
	Calls        int     `json:"calls"`
	AReceived    float64 `json:"a_received"`
	ALost        float64 `json:"a_lost"`
	BSent        float64 `json:"b_sent"`
	BReceived    float64 `json:"b_received"`
	BLost        float64 `json:"b_lost"`
	ASent        float64 `json:"a_sent"`
	Dropped      float64 `json:"dropped"`
	Loss         float64 `json:"loss"` // (a_lost + b_lost + dropped) / expected
	JitterMeanMs float64 `json:"jitter_mean_ms"`
	JitterMaxMs  float64 `json:"jitter_max_ms"`
}

// eventReader reads the call.ended events of every workspace, each from
// where the previous read stopped.
type eventReader struct {
	c       *client.Client
	wss     []workspace
	cursors []string
}

func newEventReader(s *stack, wss []workspace) (*eventReader, error) {
	c, err := client.New(client.Config{BaseURL: s.adminURL, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	return &eventReader{c: c, wss: wss, cursors: make([]string, len(wss))}, nil
}

// skip moves every cursor to the end of its stream.
func (r *eventReader) skip(ctx context.Context) error {
	_, err := r.read(ctx)
	return err
}

// read returns the media statistics of the calls ended since the last read.
func (r *eventReader) read(ctx context.Context) (mediaStats, error) {
	var ms mediaStats
	var jitterSum float64
	for i, w := range r.wss {
		c := r.c.WithKey(w.key)
		for {
			evs, next, err := c.Events(ctx, w.id, r.cursors[i], 5000)
			if err != nil {
				return ms, err
			}
			for _, e := range evs {
				r.cursors[i] = e.ID
				if e.Type != "call.ended" {
					continue
				}
				var d struct {
					Packets map[string]float64 `json:"packets"`
					Loss    map[string]float64 `json:"loss"`
					Jitter  map[string]float64 `json:"jitter_ms"`
				}
				if json.Unmarshal(e.Data, &d) != nil {
					continue
				}
				ms.Calls++
				ms.AReceived += d.Packets["a_received"]
				ms.ASent += d.Packets["a_sent"]
				ms.BReceived += d.Packets["b_received"]
				ms.BSent += d.Packets["b_sent"]
				ms.Dropped += d.Packets["dropped"]
				ms.ALost += d.Loss["a_lost"]
				ms.BLost += d.Loss["b_lost"]
				j := max(d.Jitter["a"], d.Jitter["b"])
				jitterSum += j
				ms.JitterMaxMs = max(ms.JitterMaxMs, j)
			}
			if next == "" || len(evs) == 0 {
				break
			}
		}
	}
	if ms.Calls > 0 {
		ms.JitterMeanMs = jitterSum / float64(ms.Calls)
	}
	if exp := ms.AReceived + ms.ALost + ms.BReceived + ms.BLost; exp > 0 {
		ms.Loss = (ms.ALost + ms.BLost + ms.Dropped) / exp
	}
	return ms, nil
}
