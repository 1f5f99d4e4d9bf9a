package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// writeReport writes report.json, report.md, chart.png (when there is a
// ramp) into outDir, and a copy of the Markdown as latest.md beside it.
func writeReport(rep *report, o options, outDir string) error {
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "report.json"), js, 0o644); err != nil {
		return err
	}
	// One file per run as well.
	for name, v := range map[string]any{"ramp": rep.Ramp, "concurrency": rep.Conc, "fairness": rep.Fairness, "benchmarks": rep.Benchmarks,
		"kamailio": rep.Kamailio, "rtpengine": rep.Relay} {
		if reflect.ValueOf(v).Len() == 0 {
			continue
		}
		b, err := json.MarshalIndent(map[string]any{"machine": rep.Machine, "started": rep.Started, name: v}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(outDir, name+".json"), b, 0o644); err != nil {
			return err
		}
	}
	chart := ""
	if len(rep.Ramp) > 0 || len(rep.Conc) > 0 {
		if err := writeChart(filepath.Join(outDir, "chart.png"), rep); err != nil {
			return err
		}
		chart = "chart.png"
	}
	md := markdown(rep, filepath.Base(outDir), chart)
	if err := os.WriteFile(filepath.Join(outDir, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	// latest.md links into the timestamped directory.
	latest := strings.ReplaceAll(md, "](chart.png)", "]("+filepath.Base(outDir)+"/chart.png)")
	latest = strings.ReplaceAll(latest, "](report.json)", "]("+filepath.Base(outDir)+"/report.json)")
	return os.WriteFile(filepath.Join(o.Out, "latest.md"), []byte(latest), 0o644)
}

func kib(b float64) string { return fmt.Sprintf("%.1f", b/1024) }
func mib(b float64) string { return fmt.Sprintf("%.0f", b/(1<<20)) }

func yes(b bool) string {
	if b {
		return "pass"
	}
	return "**fail**"
}

func codes(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// markdown renders the report.
func markdown(rep *report, stamp, chart string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# Edge load test, %s\n\n", stamp)
	w("Machine: %s. Everything (Redis, edge-admin, the edge, SIPp trunks and services) ran on this one host, on loopback; ", rep.Machine)
	w("other engineers' test runs shared the CPUs (load average per step below). Commit `%s`. Started %s, finished %s. Full figures: [report.json](report.json).\n\n",
		rep.Commit, rep.Started.Format("2006-01-02 15:04:05Z"), rep.Finished.Format("15:04:05Z"))
	w("Options: ")
	var ks []string
	for k := range rep.Options {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for i, k := range ks {
		if i > 0 {
			w("; ")
		}
		w("%s %v", k, rep.Options[k])
	}
	w(".\n\n")
	w("Edge at idle: RSS %s MiB, heap in use %s MiB, %.0f goroutines.\n\n", mib(rep.Idle.RSSBytes), mib(rep.Idle.HeapBytes), rep.Idle.Goroutines)

	w("## Headline\n\n| goal | result |\n|---|---|\n")
	w("| >= 1,000 CPS, zero failed calls | **%d CPS** (highest rate with no failure, no retransmission, held %s) |\n", rep.BestCPS, holdOf(rep))
	w("| >= 1,000 concurrent relayed G.711 calls, < 0.1%% loss | **%d calls** |\n", rep.BestConc)
	w("| INVITE->200 p99 < 20 ms | %s |\n", headlineP99(rep))
	w("| 0 allocs per relayed packet | %s |\n", headlineAllocs(rep))
	w("| < 64 KiB per active call | %s |\n\n", headlineMem(rep))
	if chart != "" {
		w("![rate vs latency and failures](%s)\n\n", chart)
	}
	if len(rep.Ramp) > 0 {
		w("## Session establishment rate (ramp, RFC 7502)\n\n")
		w("Each step runs SIPp trunks at the rate for the step time, calls hold then BYE; a step passes with every call answered, no refusal and no retransmission at the rate asked. Setup is INVITE->200 as SIPp saw it (includes the SIPp service's time); edge p99 is the edge's own `edge_sip_setup_seconds` histogram (bucket-interpolated).\n\n")
		stepTable(&b, rep.Ramp, false)
	}
	if len(rep.Conc) > 0 {
		w("## Concurrent calls with media (PCMU both ways)\n\n")
		w("Each step opens N calls; every call streams PCMU at 50 packets/s from SIPp (rtp_stream) through the edge to the SIPp service, which echoes it back through the edge. Loss = (sequence gaps seen by the edge on both legs + packets the relay dropped) / packets expected, from the calls' `call.ended` events; jitter is the RFC 3550 interarrival jitter the edge measured. Memory per call = (RSS at the peak - idle RSS) / calls up; heap+stack in use likewise from the Go runtime (includes garbage not yet collected); live = heap in use + stacks right after a forced GC (`/debug/pprof/heap?gc=1`) three quarters into the plateau, over the same at idle: the memory a call really holds.\n\n")
		stepTable(&b, rep.Conc, true)
		w("\n| calls | a received | a lost | b sent | b received | b lost | relay dropped | loss | loss without the services' socket drops | jitter mean / max ms | socket drops: edge / services / trunks |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range rep.Conc {
			if m := s.Media; m != nil {
				svc := s.SocketDrops[fmt.Sprint(rep.Options["service_ip"])]
				edgeLoss := 0.0
				if exp := m.AReceived + m.ALost + m.BReceived + m.BLost; exp > 0 {
					edgeLoss = max(m.ALost+m.BLost+m.Dropped-svc, 0) / exp
				}
				w("| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.4f%% | %.4f%% | %.2f / %.2f | %s |\n", s.TargetCalls, m.AReceived, m.ALost, m.BSent, m.BReceived, m.BLost, m.Dropped, 100*m.Loss, 100*edgeLoss, m.JitterMeanMs, m.JitterMaxMs, dropCols(s, rep))
			}
		}
		w("\n")
	}
	if len(rep.Fairness) > 0 {
		w("## Fairness\n\n")
		w("Workspace 0 gets limits from the platform token (`PATCH /v1/workspaces/{ws}` `limits`) and is flooded from its own carrier address; the other workspaces are called at the same time. The others must see no failure; the flooder must be refused (486/503) and admitted at about its max_cps at most.\n\n")
		w("| who | %s | calls | answered | refused (codes) | failed | setup p50 / p95 / p99 ms | edge rejections | result |\n|---|---|---|---|---|---|---|---|---|\n", "rate cps")
		for _, s := range rep.Fairness {
			w("| %s | %.0f | %d | %d | %d (%s) | %d | %.1f / %.1f / %.1f | %s | %s %s |\n", s.Label, s.TargetRate, s.Created, s.Successful, s.Refused, codes(s.RefusedByCode), s.Failed,
				s.SetupP50, s.SetupP95, s.SetupP99, rejects(s.EdgeRejects), yes(s.Pass), s.Note)
		}
		w("\n")
	}
	referenceMarkdown(&b, rep)
	if len(rep.Benchmarks) > 0 {
		w("## Benchmarks (`go test -bench -benchmem`)\n\n| package | benchmark | ns/op | B/op | allocs/op |\n|---|---|---|---|---|\n")
		for _, bm := range rep.Benchmarks {
			w("| %s | %s | %.1f | %.0f | %.0f |\n", bm.Package, bm.Name, bm.NsPerOp, bm.BytesPerOp, bm.AllocsPerOp)
		}
		w("\n")
	}
	if len(rep.Errors) > 0 {
		w("## Errors\n\n")
		for _, e := range rep.Errors {
			w("- %s\n", e)
		}
		w("\n")
	}
	return b.String()
}

func stepTable(b *strings.Builder, steps []*step, conc bool) {
	fmt.Fprintf(b, "| step | achieved cps | calls | failed | refused | retrans | setup p50 / p95 / p99 / max ms | edge p99 ms | peak calls | edge CPU %% | RSS MiB | RSS/call KiB | heap+stack in use/call KiB | live heap+stack/call KiB | goroutines | load / steal %% | result |\n")
	fmt.Fprintf(b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range steps {
		// Per-call memory means something only with calls that stay up: in
		// the ramp the heap also holds the transactions of calls ended in
		// the last 32 s (sipgo's Timer L).
		rss, inUse, live := "-", "-", "-"
		if conc {
			rss, inUse, live = kib(s.RSSPerCall), kib(s.HeapPerCall), kib(s.LivePerCall)
		}
		fmt.Fprintf(b, "| %s | %.0f | %d | %d | %d | %d | %.1f / %.1f / %.1f / %.1f | %.1f | %.0f | %.0f | %s | %s | %s | %s | %.0f | %.1f / %.1f | %s %s |\n",
			s.Label, s.AchievedRate, s.Created, s.Failed, s.Refused, s.Retrans, s.SetupP50, s.SetupP95, s.SetupP99, s.SetupMax, s.EdgeSetupP99,
			s.Peak.ActiveCalls, s.EdgeCPU, mib(s.Peak.MaxRSS), rss, inUse, live, s.Peak.MaxGoroutines, s.LoadAvg, s.Host.StealPct, yes(s.Pass), s.Note)
	}
}

// dropCols are a step's socket drops on the edge's, the services' and the
// trunks' addresses.
func dropCols(s *step, rep *report) string {
	var edge, svc, trunks float64
	for ip, n := range s.SocketDrops {
		switch {
		case ip == rep.Options["edge_ip"]:
			edge += n
		case ip == rep.Options["service_ip"]:
			svc += n
		default:
			trunks += n
		}
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f", edge, svc, trunks)
}

func rejects(m map[string]float64) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func holdOf(rep *report) string {
	for i := len(rep.Ramp) - 1; i >= 0; i-- {
		if s := rep.Ramp[i]; s.Run == "ramp-hold" {
			return s.Label + ": " + yes(s.Pass)
		}
	}
	return "not held"
}

func headlineP99(rep *report) string {
	var parts []string
	for _, s := range rep.Ramp {
		if s.Pass && (s.Run == "ramp-hold" || s.TargetRate == 1000) {
			parts = append(parts, fmt.Sprintf("%.1f ms at %s (edge histogram %.1f ms)", s.SetupP99, s.Label, s.EdgeSetupP99))
		}
	}
	if len(parts) == 0 {
		return "no passing rate"
	}
	return strings.Join(parts, "; ") + ", as SIPp saw it, with the service's time"
}

func headlineAllocs(rep *report) string {
	var parts []string
	for _, b := range rep.Benchmarks {
		if strings.HasPrefix(b.Name, "BenchmarkRelay") {
			parts = append(parts, fmt.Sprintf("%s %.0f", strings.TrimPrefix(b.Name, "Benchmark"), b.AllocsPerOp))
		}
	}
	if len(parts) == 0 {
		return "not measured"
	}
	return strings.Join(parts, ", ")
}

func headlineMem(rep *report) string {
	for i := len(rep.Conc) - 1; i >= 0; i-- {
		if s := rep.Conc[i]; s.Pass {
			return fmt.Sprintf("RSS %s KiB/call; Go heap+stack in use %s KiB/call, live %s KiB/call; at %.0f calls with media", kib(s.RSSPerCall), kib(s.HeapPerCall), kib(s.LivePerCall), s.Peak.ActiveCalls)
		}
	}
	return "not measured"
}
