package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// ramp finds the highest rate with zero failed calls and no
// retransmission (RFC 7502 session establishment rate): step the rate up
// until the first failure, then hold the best rate for RampHoldTime.
func (r *runner) ramp(ctx context.Context) ([]*step, int, error) {
	var steps []*step
	best := 0
	hold := r.o.CallHold
	for rate := r.o.RampStart; rate <= r.o.RampMax; rate += r.o.RampStep {
		calls := int(float64(rate) * r.o.RampStepTime.Seconds())
		limit := int(float64(rate)*(hold.Seconds()+3)) + 10
		specs := r.split(fmt.Sprintf("ramp-%d", rate), "uac_load.xml", r.csvAll, float64(rate), calls, limit, hold, r.o.RampStepTime+hold+20*time.Second)
		st, err := r.drive(ctx, "ramp", fmt.Sprintf("%d cps", rate), specs)
		if err != nil {
			return steps, best, err
		}
		judgeEstablishment(st, rate)
		steps = append(steps, st)
		fmt.Fprintf(r.log, "ramp %5d cps: achieved %.0f, failed %d, refused %d, retrans %d, p99 %.1f ms, edge cpu %.0f%%  %s\n",
			rate, st.AchievedRate, st.Failed, st.Refused, st.Retrans, st.SetupP99, st.EdgeCPU, passWord(st))
		waitDrained(ctx, r.s, 30*time.Second)
		if !st.Pass {
			break
		}
		best = rate
	}
	if best == 0 {
		return steps, 0, nil
	}
	// Hold the best rate; if it does not hold, one step lower, bounded.
	for attempt := 0; attempt < 3 && best > 0; attempt++ {
		calls := int(float64(best) * r.o.RampHoldTime.Seconds())
		limit := int(float64(best)*(hold.Seconds()+3)) + 10
		specs := r.split(fmt.Sprintf("hold-%d", best), "uac_load.xml", r.csvAll, float64(best), calls, limit, hold, r.o.RampHoldTime+hold+30*time.Second)
		var prof <-chan struct{}
		if r.o.Profile {
			prof = profileLater(r.s.metricsURL, filepath.Join(r.out, "profiles"), fmt.Sprintf("hold-%dcps", best), r.o.RampHoldTime/4, int(r.o.RampHoldTime.Seconds()/2))
		}
		st, err := r.drive(ctx, "ramp-hold", fmt.Sprintf("%d cps held %s", best, r.o.RampHoldTime), specs)
		if prof != nil {
			<-prof
		}
		if err != nil {
			return steps, best, err
		}
		judgeEstablishment(st, best)
		steps = append(steps, st)
		fmt.Fprintf(r.log, "hold %5d cps for %s: achieved %.0f, failed %d, retrans %d, p99 %.1f ms  %s\n",
			best, r.o.RampHoldTime, st.AchievedRate, st.Failed, st.Retrans, st.SetupP99, passWord(st))
		waitDrained(ctx, r.s, 30*time.Second)
		if st.Pass {
			return steps, best, nil
		}
		best -= r.o.RampStep
	}
	return steps, best, nil
}

// judgeEstablishment passes a step with every call established, no
// retransmission and the rate reached (a generator that falls short is
// reported as such, not as the edge's limit).
func judgeEstablishment(st *step, rate int) {
	st.Pass = st.Failed == 0 && st.Refused == 0 && st.Retrans == 0 && st.Successful == st.Created && st.Created > 0
	switch {
	case !st.Pass && st.Retrans > 0 && st.Failed == 0:
		st.Note = "retransmissions"
	case !st.Pass:
		st.Note = callsNote(st)
	case st.AchievedRate < 0.95*float64(rate):
		st.Pass = false
		st.Note = fmt.Sprintf("generators reached only %.0f cps", st.AchievedRate)
	}
}

// callsNote says why a step's calls fail it: the edge's refusals when
// every other call was answered, else failed calls.
func callsNote(st *step) string {
	if st.Failed == 0 && st.Refused > 0 && st.Successful+st.Refused == st.Created {
		return fmt.Sprintf("%d calls refused", st.Refused)
	}
	return "failed calls"
}

func passWord(st *step) string {
	if st.Pass {
		return "PASS"
	}
	return "FAIL " + st.Note
}
