package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"
)

// concurrency finds the most simultaneous calls, PCMU both ways (SIPp
// streams, the service echoes), that hold under MaxLoss.
func (r *runner) concurrency(ctx context.Context) ([]*step, int, error) {
	var steps []*step
	best := 0
	for n := r.o.ConcStart; n <= r.o.ConcMax; n += r.o.ConcStep {
		open := time.Duration(float64(n) / float64(r.o.ConcRate) * float64(time.Second))
		hold := open + r.o.ConcPlateau
		if err := r.events.skip(ctx); err != nil {
			return steps, best, err
		}
		specs := r.split(fmt.Sprintf("conc-%d", n), "uac_load_rtp.xml", r.csvAll, float64(r.o.ConcRate), n, n+10, hold, open+hold+30*time.Second)
		var prof <-chan struct{}
		if r.o.Profile {
			prof = profileLater(r.s.metricsURL, filepath.Join(r.out, "profiles"), fmt.Sprintf("conc-%d", n), open+r.o.ConcPlateau/4, int(max(r.o.ConcPlateau.Seconds()/4, 1)))
		}
		// Memory per call: the live heap after a forced GC, with every
		// call up (after the CPU profile, which it would disturb).
		snap := make(chan *gcSnapshot, 1)
		go func() {
			time.Sleep(open + r.o.ConcPlateau*3/4)
			g, err := snapshotAfterGC(r.s)
			if err != nil {
				snap <- nil
				return
			}
			snap <- &g
		}()
		st, err := r.drive(ctx, "concurrency", fmt.Sprintf("%d calls", n), specs)
		if prof != nil {
			<-prof
		}
		if g := <-snap; g != nil && err == nil && g.ActiveCalls > 0 {
			st.AtPlateau = g
			st.LivePerCall = math.Round((g.HeapBytes + g.StackBytes - r.idle.HeapBytes - r.idle.StackBytes) / g.ActiveCalls)
		}
		if err != nil {
			return steps, best, err
		}
		st.TargetCalls = n
		waitDrained(ctx, r.s, 30*time.Second)
		time.Sleep(time.Second) // the last call.ended events
		ms, err := r.events.read(ctx)
		if err != nil {
			return steps, best, err
		}
		st.Media = &ms
		st.Pass = st.Failed == 0 && st.Refused == 0 && st.Successful == n && ms.Loss < r.o.MaxLoss && st.Peak.ActiveCalls >= float64(n)*0.98
		switch {
		case st.Failed > 0 || st.Refused > 0 || st.Successful != n:
			st.Note = callsNote(st)
		case ms.Loss >= r.o.MaxLoss:
			st.Note = fmt.Sprintf("loss %.3f%%", 100*ms.Loss)
		case !st.Pass:
			st.Note = fmt.Sprintf("only %.0f calls up at once", st.Peak.ActiveCalls)
		}
		steps = append(steps, st)
		fmt.Fprintf(r.log, "concurrency %5d: peak %.0f calls, failed %d, loss %.4f%%, jitter mean %.2f ms, edge cpu %.0f%%, rss/call %.0f B  %s\n",
			n, st.Peak.ActiveCalls, st.Failed, 100*ms.Loss, ms.JitterMeanMs, st.EdgeCPU, st.RSSPerCall, passWord(st))
		if !st.Pass {
			break
		}
		best = n
	}
	return steps, best, nil
}
