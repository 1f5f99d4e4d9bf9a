package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// fairness floods workspace 0 past its limits while the others call at a
// moderate rate: the others' calls must all succeed.
func (r *runner) fairness(ctx context.Context) ([]*step, error) {
	flood := r.wss[0]
	lim := tenancy.Limits{MaxCPS: r.o.FloodMaxCPS, MaxConcurrentCalls: r.o.FloodMaxConcurrent}
	if err := setLimits(ctx, r.s, flood.id, lim); err != nil {
		return nil, err
	}
	defer func() { _ = setLimits(context.Background(), r.s, flood.id, tenancy.Limits{}) }()
	time.Sleep(2 * time.Second) // the edges follow the change stream
	floodHold := max(3*r.o.CallHold, 3*time.Second)
	calls := int(float64(r.o.FairRate) * r.o.FairTime.Seconds())
	others := r.split("fair-others", "uac_load.xml", r.csvOthers, float64(r.o.FairRate), calls,
		int(float64(r.o.FairRate)*(r.o.CallHold.Seconds()+3))+10, r.o.CallHold, r.o.FairTime+r.o.CallHold+30*time.Second)
	fcalls := int(float64(r.o.FloodRate) * r.o.FairTime.Seconds())
	floodSpec := uacSpec{name: "fair-flood", scenario: "uac_load.xml", src: r.flooder, csv: r.csvFlood,
		rate: float64(r.o.FloodRate), calls: fcalls, limit: fcalls, hold: floodHold, timeout: r.o.FairTime + floodHold + 30*time.Second}
	st, err := r.drive(ctx, "fairness", fmt.Sprintf("flood %d cps into max_cps %d / max_concurrent %d; others %d cps",
		r.o.FloodRate, r.o.FloodMaxCPS, r.o.FloodMaxConcurrent, r.o.FairRate), append(others, floodSpec))
	if err != nil {
		return nil, err
	}
	waitDrained(ctx, r.s, 30*time.Second)
	// Split the figures: the others must be clean; the flood refused.
	var ot []*uacResult
	var fl *uacResult
	for _, t := range st.Trunks {
		if t.Name == "fair-flood" {
			fl = t
		} else {
			ot = append(ot, t)
		}
	}
	o := combine(ot)
	p50, p95, p99, mx := percentiles(o.Setup)
	others2 := &step{Run: "fairness", Label: "others", TargetRate: o.TargetRate, AchievedRate: round(o.AchievedRate, 1),
		Created: o.Created, Successful: o.Successful, Failed: o.Failed, Refused: o.Refused, RefusedByCode: o.RefusedByCode,
		Retrans: o.Retransmissions, SetupP50: round(p50, 2), SetupP95: round(p95, 2), SetupP99: round(p99, 2), SetupMax: round(mx, 2),
		EdgeCPU: st.EdgeCPU, Peak: st.Peak, LoadAvg: st.LoadAvg, Host: st.Host, Trunks: ot}
	others2.Pass = o.Failed == 0 && o.Refused == 0 && o.Successful == o.Created && o.Created > 0
	if !others2.Pass {
		others2.Note = "calls of other workspaces failed"
	}
	fp50, fp95, fp99, fmx := percentiles(fl.Setup)
	admittedRate := float64(fl.Created-fl.Refused-fl.Failed) / math.Max(r.o.FairTime.Seconds(), 1)
	floodStep := &step{Run: "fairness", Label: "flooder", TargetRate: fl.TargetRate, AchievedRate: round(fl.AchievedRate, 1),
		Created: fl.Created, Successful: fl.Successful, Failed: fl.Failed, Refused: fl.Refused, RefusedByCode: fl.RefusedByCode,
		Retrans: fl.Retransmissions, SetupP50: round(fp50, 2), SetupP95: round(fp95, 2), SetupP99: round(fp99, 2), SetupMax: round(fmx, 2),
		EdgeRejects: st.EdgeRejects, EdgeCPU: st.EdgeCPU, LoadAvg: st.LoadAvg, Host: st.Host, Trunks: []*uacResult{fl}}
	// The flooder must be refused (its limits bite) and be admitted at
	// about its max_cps at most (fixed one-second windows: allow 10%).
	floodStep.Pass = fl.Refused > 0 && admittedRate <= float64(r.o.FloodMaxCPS)*1.1
	floodStep.Note = fmt.Sprintf("admitted %.1f cps (max_cps %d)", admittedRate, r.o.FloodMaxCPS)
	fmt.Fprintf(r.log, "fairness: others %d/%d calls ok (failed %d, refused %d, p99 %.1f ms) %s; flooder refused %d of %d, %s %s\n",
		o.Successful, o.Created, o.Failed, o.Refused, p99, passWord(others2), fl.Refused, fl.Created, floodStep.Note, passWord(floodStep))
	return []*step{others2, floodStep}, nil
}
