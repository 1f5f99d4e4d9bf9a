package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// refStep is one rate of the Kamailio reference run: the same SIPp
// traffic sent to the edge and to Kamailio, one after the other.
type refStep struct {
	Run  int   `json:"run"` // 1..RefRuns
	Rate int   `json:"rate_cps"`
	Edge *step `json:"edge"`
	Ref  *step `json:"kamailio"`
}

// sideFigures are one side's figures of a refStep, measured the same way
// for both: CPU time of its process group (/proc) and of Redis over the
// step, per call created; INVITE->200 as SIPp saw it.
type sideFigures struct {
	CPUMsPerCall   float64 `json:"cpu_ms_per_call"`
	RedisMsPerCall float64 `json:"redis_ms_per_call"`
	P50, P99       float64
	Failed         int
	Host           hostUsage
}

func figuresOf(st *step, proc string) sideFigures {
	// Successful counts answered calls only (refusals are taken out of
	// SIPp's count, sipp.go), so the calls not answered are all the
	// others: refused, failed, timed out. Adding Refused and Failed to them
	// counted a refusal twice.
	f := sideFigures{P50: st.SetupP50, P99: st.SetupP99, Failed: max(st.Created-st.Successful, st.Failed), Host: st.Host}
	if st.Created > 0 {
		f.CPUMsPerCall = round(1000*st.CPUSeconds[proc]/float64(st.Created), 3)
		f.RedisMsPerCall = round(1000*st.CPUSeconds["redis"]/float64(st.Created), 3)
	}
	return f
}

// kamailioRef starts Kamailio and sends the ramp's traffic (uac_load.xml,
// the same injection file, RefStepTime per rate) to the edge and to
// Kamailio alternately, RefRuns times per rate; odd runs start with the
// edge, even ones with Kamailio, so neither always goes first. The edge
// step of the first run at ProfileRate is CPU-profiled.
func (r *runner) kamailioRef(ctx context.Context) ([]*refStep, *profileSummary, error) {
	if err := r.s.startKamailio(ctx, r.s.sipAddr.Addr()); err != nil {
		return nil, nil, err
	}
	if err := refKeys(ctx, r.s, r.wss); err != nil {
		return nil, nil, err
	}
	var out []*refStep
	var prof *profileSummary
	hold := r.o.CallHold
	for run := 1; run <= r.o.RefRuns; run++ {
		for _, rate := range r.o.RefRates {
			rs := &refStep{Run: run, Rate: rate}
			calls := int(float64(rate) * r.o.RefStepTime.Seconds())
			limit := int(float64(rate)*(hold.Seconds()+3)) + 10
			timeout := r.o.RefStepTime + hold + 20*time.Second
			sides := []string{"edge", "kamailio"}
			if run%2 == 0 {
				sides = []string{"kamailio", "edge"}
			}
			for _, side := range sides {
				specs := r.split(fmt.Sprintf("ref%d-%s-%d", run, side, rate), "uac_load.xml", r.csvAll, float64(rate), calls, limit, hold, timeout)
				if side == "kamailio" {
					for i := range specs {
						specs[i].target = r.s.kamAddr
					}
				}
				var profDone <-chan struct{}
				var profFile string
				if side == "edge" && run == 1 && rate == r.o.ProfileRate {
					name := fmt.Sprintf("edge-%dcps", rate)
					profFile = filepath.Join(r.out, "profiles", name+"-cpu.pprof")
					secs := max(int(r.o.RefStepTime.Seconds()*3/4), 1)
					profDone = profileLater(r.s.metricsURL, filepath.Join(r.out, "profiles"), name, r.o.RefStepTime/8, secs)
				}
				st, err := r.drive(ctx, "kamailio-ref", fmt.Sprintf("run %d, %d cps, %s", run, rate, side), specs)
				if profDone != nil {
					<-profDone
					prof = summarizeProfile(ctx, filepath.Join(r.o.Bin, "edge"), profFile, fmt.Sprintf("the edge at %d calls/s (run 1)", rate))
				}
				if err != nil {
					return out, prof, err
				}
				if side == "edge" {
					rs.Edge = st
				} else {
					rs.Ref = st
				}
				f := figuresOf(st, side)
				fmt.Fprintf(r.log, "ref run %d %5d cps %-8s: cpu %.3f ms/call, redis %.3f ms/call, p50/p99 %.0f/%.0f ms, failed %d (refused %v), answered %.0f/s, retrans %d, %s\n",
					run, rate, side, f.CPUMsPerCall, f.RedisMsPerCall, f.P50, f.P99, f.Failed, st.RefusedByCode, float64(st.Successful)/r.o.RefStepTime.Seconds(), st.Retrans, st.Host)
				waitDrained(ctx, r.s, 30*time.Second)
				time.Sleep(2 * time.Second) // Kamailio's transactions end (wt_timer 5 s after the 200 is ACKed)
			}
			out = append(out, rs)
		}
	}
	return out, prof, nil
}

// ratio is a/b rounded, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round(a/b, 2)
}
