package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"path/filepath"
	"sync"
	"time"
)

// step is one measured load level of a run.
type step struct {
	Run           string             `json:"run"`
	Label         string             `json:"label"`
	TargetRate    float64            `json:"target_rate_cps"`
	AchievedRate  float64            `json:"achieved_rate_cps"`
	TargetCalls   int                `json:"target_concurrent,omitempty"`
	Created       int                `json:"calls"`
	Successful    int                `json:"successful"`
	Failed        int                `json:"failed"`
	Refused       int                `json:"refused"`
	RefusedByCode map[string]int     `json:"refused_by_code,omitempty"`
	Retrans       int                `json:"retransmissions"`
	SetupP50      float64            `json:"setup_p50_ms"`
	SetupP95      float64            `json:"setup_p95_ms"`
	SetupP99      float64            `json:"setup_p99_ms"`
	SetupMax      float64            `json:"setup_max_ms"`
	EdgeSetupP99  float64            `json:"edge_setup_p99_ms"` // edge_sip_setup_seconds, bucket-interpolated
	EdgeCPU       float64            `json:"edge_cpu_percent"`  // of one core
	Peak          edgePeak           `json:"edge_peak"`
	RSSPerCall    float64            `json:"rss_per_call_bytes,omitempty"`
	HeapPerCall   float64            `json:"heap_stack_per_call_bytes,omitempty"`
	LivePerCall   float64            `json:"live_heap_stack_per_call_bytes,omitempty"` // after a forced GC at the plateau, over idle
	AtPlateau     *gcSnapshot        `json:"at_plateau_after_gc,omitempty"`
	Media         *mediaStats        `json:"media,omitempty"`
	SocketDrops   map[string]float64 `json:"socket_drops_by_ip"` // /proc/net/udp drops of the step, by local IP
	UDPRcvbufErrs float64            `json:"kernel_udp_rcvbuf_errors"`
	EdgeRejects   map[string]float64 `json:"edge_rejections,omitempty"`
	LoadAvg       float64            `json:"load_avg_1m"`
	Host          hostUsage          `json:"host"`
	// CPUSeconds is the CPU time (user + system) each process of the stack
	// used over the step, by name (edge, redis, kamailio, rtpengine), from
	// /proc; Wall is the step's length in seconds.
	CPUSeconds map[string]float64 `json:"cpu_seconds,omitempty"`
	Wall       float64            `json:"wall_s,omitempty"`
	Pass       bool               `json:"pass"`
	Note       string             `json:"note,omitempty"`
	Trunks     []*uacResult       `json:"trunks"`
}

// runner holds what every run needs.
type runner struct {
	o                           options
	s                           *stack
	wss                         []workspace
	dir                         string // scratch
	out                         string // results directory
	log                         io.Writer
	idle                        idle
	csvAll, csvFlood, csvOthers string
	flooder                     netip.Addr
	events                      *eventReader
}

// drive runs one load level: the trunks in parallel, the edge sampled,
// and the step's figures computed.
func (r *runner) drive(ctx context.Context, run, label string, specs []uacSpec) (*step, error) {
	if err := r.s.checkAlive(); err != nil {
		return nil, err
	}
	before, err := scrape(r.s.metricsURL + "/metrics")
	if err != nil {
		return nil, err
	}
	udp0 := udpCounters()
	host0, cpu0, t0 := sampleHost(), r.s.cpuTimes(), time.Now()
	sm := startSampler(r.s, time.Second, run == "concurrency")
	results := make([]*uacResult, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runUAC(ctx, r.s, r.dir, sp)
		}()
	}
	wg.Wait()
	cpu, peak := sm.stop()
	host, wall, cpuUsed := usageSince(host0), time.Since(t0).Seconds(), r.s.cpuTimes()
	for k, v := range cpuUsed {
		cpuUsed[k] = round(v-cpu0[k], 3)
	}
	var drops map[string]float64
	if sm.drops != nil {
		drops = sm.drops.byIP()
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	after, err := scrape(r.s.metricsURL + "/metrics")
	if err != nil {
		return nil, err
	}
	sum := combine(results)
	st := &step{Run: run, Label: label, TargetRate: sum.TargetRate, AchievedRate: round(sum.AchievedRate, 1),
		Created: sum.Created, Successful: sum.Successful, Failed: sum.Failed, Refused: sum.Refused,
		RefusedByCode: sum.RefusedByCode, Retrans: sum.Retransmissions, EdgeCPU: round(cpu, 1), Peak: peak,
		LoadAvg: host.Load1, Host: host, CPUSeconds: cpuUsed, Wall: round(wall, 2), Trunks: results, SocketDrops: drops}
	p50, p95, p99, mx := percentiles(sum.Setup)
	st.SetupP50, st.SetupP95, st.SetupP99, st.SetupMax = round(p50, 2), round(p95, 2), round(p99, 2), round(mx, 2)
	st.EdgeSetupP99 = round(1000*histogramQuantile(after, before, "edge_sip_setup_seconds", 0.99), 2)
	st.UDPRcvbufErrs = udpCounters()["RcvbufErrors"] - udp0["RcvbufErrors"]
	st.EdgeRejects = map[string]float64{}
	for _, reason := range []string{"cps_limit", "concurrent_limit", "not_found", "unknown_source", "no_ports", "store_unavailable", "service_unavailable", "rate_limited"} {
		if d := after.delta(before, "edge_sip_invites_total", `result="rejected"`, `reason="`+reason+`"`); d > 0 {
			st.EdgeRejects[reason] = d
		}
	}
	if d := after.delta(before, "edge_sip_dropped_total"); d > 0 {
		st.EdgeRejects["dropped"] = d
	}
	if peak.ActiveCalls > 0 {
		st.RSSPerCall = math.Round((peak.RSSBytes - r.idle.RSSBytes) / peak.ActiveCalls)
		st.HeapPerCall = math.Round((peak.HeapBytes + peak.StackBytes - r.idle.HeapBytes - r.idle.StackBytes) / peak.ActiveCalls)
	}
	return st, nil
}

// split divides a rate and a call count over the load generators.
func (r *runner) split(name, scenario, csv string, rate float64, calls, limit int, hold, timeout time.Duration) []uacSpec {
	n := len(r.o.UACIPs)
	var out []uacSpec
	for i, ip := range r.o.UACIPs {
		c := calls / n
		if i < calls%n {
			c++
		}
		if c == 0 {
			continue
		}
		out = append(out, uacSpec{name: fmt.Sprintf("%s-uac%d", name, i), scenario: scenario, src: ip, csv: csv,
			rate: rate / float64(n), calls: c, limit: max(limit/n, 1), hold: hold, timeout: timeout})
	}
	return out
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// writeCSVs writes the injection files.
func (r *runner) writeCSVs() error {
	r.csvAll = filepath.Join(r.dir, "numbers-all.csv")
	r.csvFlood = filepath.Join(r.dir, "numbers-flood.csv")
	r.csvOthers = filepath.Join(r.dir, "numbers-others.csv")
	if err := writeCSV(r.csvAll, r.wss); err != nil {
		return err
	}
	if err := writeCSV(r.csvFlood, r.wss[:1]); err != nil {
		return err
	}
	return writeCSV(r.csvOthers, r.wss[1:])
}
