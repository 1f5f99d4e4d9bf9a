package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// referenceMarkdown renders the references beside the edge's figures:
// per rate (Kamailio) or call count (rtpengine), each run, then the mean
// ratio over the runs; the host's load, busy and steal per step so that a
// noisy step shows.
func referenceMarkdown(b *strings.Builder, rep *report) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	if len(rep.Kamailio) > 0 {
		w("## Reference: Kamailio as the proxy (same SIPp traffic, same run)\n\n")
		w("The ramp's traffic (`uac_load.xml`, the same injection file, the same rate and step length) sent to the edge and to Kamailio (`loadtest/reference/kamailio.cfg`: stateful proxy, record-route, two Redis GETs per INVITE with ndb_redis: number -> workspace -> service) alternately. CPU is user + system time of the process group from `/proc` over the step, per call created, for both; Redis likewise (the same private Redis serves both). Setup is INVITE->200 as SIPp saw it. Ratio = edge / Kamailio. Host: load average, busy %% of all CPUs, steal %% during each side's step.\n\n")
		w("| run | cps | CPU ms/call edge / Kamailio (ratio) | Redis ms/call edge / Kamailio (ratio) | setup p50 ms edge / Kamailio | setup p99 ms edge / Kamailio (ratio) | failed edge / Kamailio | host during edge | host during Kamailio |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, rs := range rep.Kamailio {
			if rs.Edge == nil || rs.Ref == nil {
				continue
			}
			e, k := figuresOf(rs.Edge, "edge"), figuresOf(rs.Ref, "kamailio")
			w("| %d | %d | %.3f / %.3f (**%.2f**) | %.3f / %.3f (%.2f) | %.1f / %.1f | %.1f / %.1f (%.1f) | %d / %d | %s | %s |\n", rs.Run, rs.Rate,
				e.CPUMsPerCall, k.CPUMsPerCall, ratio(e.CPUMsPerCall, k.CPUMsPerCall), e.RedisMsPerCall, k.RedisMsPerCall, ratio(e.RedisMsPerCall, k.RedisMsPerCall),
				e.P50, k.P50, e.P99, k.P99, ratio(e.P99, k.P99), e.Failed, k.Failed, e.Host, k.Host)
		}
		w("\nMean over the runs:\n\n| cps | CPU edge / Kamailio | Redis edge / Kamailio | setup p99 edge / Kamailio |\n|---|---|---|---|\n")
		for _, m := range meanRatios(rep.Kamailio) {
			w("| %d | %.2f | %.2f | %.1f |\n", m.rate, m.cpu, m.redis, m.p99)
		}
		w("\n")
	}
	profileMarkdown(b, rep.Profile)
	if len(rep.Relay) > 0 {
		w("## Reference: rtpengine as the relay (same RTP, same run)\n\n")
		w("N calls set up through the edge (SIP, to the SIPp services) and in rtpengine (userspace, `--table=-1`, over its ng protocol, the callee being the same SIPp echo), then the same paced generator (one socket per call, PCMU 172-byte packets every 20 ms) streams through each; the service echoes and the relay forwards back. CPU is the relay's user + system time over exactly the streaming period, per packet it handled (sent + echoed). Loss = 1 - received back / sent. Ratio = edge / rtpengine.\n\n")
		w("| run | calls | µs CPU/packet edge / rtpengine (ratio) | loss edge / rtpengine | packets sent edge / rtpengine | host during edge | host during rtpengine |\n|---|---|---|---|---|---|---|\n")
		for _, p := range rep.Relay {
			if p.Edge == nil || p.Ref == nil {
				continue
			}
			w("| %d | %d | %.2f / %.2f (**%.2f**) | %.4f%% / %.4f%% | %d / %d | %s | %s |\n", p.Run, p.Calls, p.Edge.UsPerPacket, p.Ref.UsPerPacket,
				ratio(p.Edge.UsPerPacket, p.Ref.UsPerPacket), 100*p.Edge.Loss, 100*p.Ref.Loss, p.Edge.Sent, p.Ref.Sent, p.Edge.Host, p.Ref.Host)
		}
		w("\n")
		profileMarkdown(b, rep.RelayProfile)
	}
}

// profileMarkdown renders a profile summary: its flame graph and top
// functions; nothing for nil.
func profileMarkdown(b *strings.Builder, p *profileSummary) {
	if p == nil {
		return
	}
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	w("### CPU profile of %s\n\n", p.What)
	if p.Error != "" {
		w("Not summarised: %s\n\n", p.Error)
		return
	}
	if p.Flame != "" {
		w("Flame graph: [%s](profiles/%s) (hover a box for its time). %s.\n\n", filepath.Base(p.Flame), filepath.Base(p.Flame), p.Total)
	}
	w("| flat | flat %% | cum | cum %% | function (top %d by flat) | | cum | cum %% | function (top %d by cum) |\n|---|---|---|---|---|---|---|---|---|\n", profileTop, profileTop)
	for i := 0; i < max(len(p.Flat), len(p.Cum)); i++ {
		var f, c profileRow
		if i < len(p.Flat) {
			f = p.Flat[i]
		}
		if i < len(p.Cum) {
			c = p.Cum[i]
		}
		w("| %s | %s | %s | %s | `%s` | | %s | %s | `%s` |\n", f.Flat, f.FlatPct, f.Cum, f.CumPct, f.Func, c.Cum, c.CumPct, c.Func)
	}
	w("\n")
}

// rateRatios are the mean edge/Kamailio ratios at one rate.
type rateRatios struct {
	rate            int
	cpu, redis, p99 float64
}

func meanRatios(steps []*refStep) []rateRatios {
	sums := map[int]*rateRatios{}
	n := map[int]int{}
	for _, rs := range steps {
		if rs.Edge == nil || rs.Ref == nil {
			continue
		}
		e, k := figuresOf(rs.Edge, "edge"), figuresOf(rs.Ref, "kamailio")
		m := sums[rs.Rate]
		if m == nil {
			m = &rateRatios{rate: rs.Rate}
			sums[rs.Rate] = m
		}
		m.cpu += ratio(e.CPUMsPerCall, k.CPUMsPerCall)
		m.redis += ratio(e.RedisMsPerCall, k.RedisMsPerCall)
		m.p99 += ratio(e.P99, k.P99)
		n[rs.Rate]++
	}
	var out []rateRatios
	for rate, m := range sums {
		c := float64(n[rate])
		out = append(out, rateRatios{rate: rate, cpu: round(m.cpu/c, 2), redis: round(m.redis/c, 2), p99: round(m.p99/c, 1)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rate < out[j].rate })
	return out
}
