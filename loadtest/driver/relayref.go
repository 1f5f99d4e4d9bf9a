package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/emiago/sipgo"
)

// relayStep is one relay's figures for N calls: the paced generator's
// packets (rtpgen.go) through it for RelayTime, and the relay's CPU time
// over exactly the streaming period.
type relayStep struct {
	Relay    string  `json:"relay"` // edge or rtpengine
	Calls    int     `json:"calls"`
	Sent     int64   `json:"sent"`     // by the callers
	Received int64   `json:"received"` // back at the callers (relayed twice)
	Loss     float64 `json:"loss"`     // 1 - received/sent
	CPU      float64 `json:"cpu_seconds"`
	Seconds  float64 `json:"seconds"`
	// UsPerPacket is CPU per packet the relay handled: sent (caller ->
	// service) plus received (the echo, service -> caller).
	UsPerPacket float64   `json:"us_cpu_per_packet"`
	Host        hostUsage `json:"host"`
}

// relayPair is one call count of one run, the edge and rtpengine.
type relayPair struct {
	Run   int        `json:"run"`
	Calls int        `json:"calls"`
	Edge  *relayStep `json:"edge"`
	Ref   *relayStep `json:"rtpengine"`
}

// rtpengineRef starts rtpengine and relays the same paced RTP through
// the edge and through rtpengine for each of RelayCalls, alternately,
// RefRuns times (odd runs edge first). With -profile, the edge's
// streaming period at the most calls of run 1 is CPU-profiled.
func (r *runner) rtpengineRef(ctx context.Context) ([]*relayPair, *profileSummary, error) {
	if err := r.s.startRTPEngine(ctx, r.s.sipAddr.Addr()); err != nil {
		return nil, nil, err
	}
	ng, err := newNGClient(r.s.ngAddr)
	if err != nil {
		return nil, nil, err
	}
	defer ng.Close()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("loadtest-relay"))
	if err != nil {
		return nil, nil, err
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(r.o.UACIPs[0].String()))
	if err != nil {
		return nil, nil, err
	}
	defer client.Close()
	var out []*relayPair
	var prof *profileSummary
	for run := 1; run <= r.o.RefRuns; run++ {
		for _, n := range r.o.RelayCalls {
			p := &relayPair{Run: run, Calls: n}
			sides := []string{"edge", "rtpengine"}
			if run%2 == 0 {
				sides = []string{"rtpengine", "edge"}
			}
			for _, side := range sides {
				setup, pid := r.edgeSetup(client), r.s.edge.pid()
				if side == "rtpengine" {
					setup, pid = r.rtpengineSetup(ng), r.s.rtpengine.pid()
				}
				profName := ""
				if side == "edge" && run == 1 && n == slices.Max(r.o.RelayCalls) && r.o.Profile {
					profName = fmt.Sprintf("edge-relay-%dcalls", n)
				}
				st, err := r.relayStep(ctx, side, n, setup, pid, profName)
				if profName != "" {
					prof = summarizeProfile(ctx, filepath.Join(r.o.Bin, "edge"), filepath.Join(r.out, "profiles", profName+"-cpu.pprof"),
						fmt.Sprintf("the edge relaying %d calls (run 1)", n))
				}
				if err != nil {
					return out, prof, fmt.Errorf("relay run %d, %d calls, %s: %w", run, n, side, err)
				}
				if side == "edge" {
					p.Edge = st
				} else {
					p.Ref = st
				}
				fmt.Fprintf(r.log, "relay run %d %4d calls %-9s: %.2f us cpu/packet, loss %.4f%%, %s\n", run, n, side, st.UsPerPacket, 100*st.Loss, st.Host)
			}
			out = append(out, p)
		}
	}
	return out, prof, nil
}

// relayStep opens n calls through a relay, streams, measures, hangs up.
// A profName has the edge's CPU profiled over the middle of the
// streaming period, into profiles/<profName>-cpu.pprof.
func (r *runner) relayStep(ctx context.Context, side string, n int, setup relaySetup, pid int, profName string) (*relayStep, error) {
	if err := r.s.checkAlive(); err != nil {
		return nil, err
	}
	calls, err := openRelayCalls(ctx, n, r, setup)
	if err != nil {
		return nil, err
	}
	defer func() {
		calls.hangup(context.Background())
		waitDrained(ctx, r.s, 30*time.Second)
	}()
	time.Sleep(500 * time.Millisecond) // the last answers settle
	host0, cpu0, t0 := sampleHost(), groupCPU(pid), time.Now()
	if profName != "" {
		secs := max(int(r.o.RelayTime.Seconds()/2), 1)
		defer func(done <-chan struct{}) { <-done }(profileLater(r.s.metricsURL, filepath.Join(r.out, "profiles"), profName, r.o.RelayTime/4, secs))
	}
	sent, recv := streamRTP(ctx, calls.legs, r.o.RelayTime)
	st := &relayStep{Relay: side, Calls: n, Sent: sent, Received: recv, CPU: round(groupCPU(pid)-cpu0, 3),
		Seconds: round(time.Since(t0).Seconds(), 2), Host: usageSince(host0)}
	if sent > 0 {
		st.Loss = round(1-float64(recv)/float64(sent), 6)
	}
	if pk := sent + recv; pk > 0 {
		st.UsPerPacket = round(1e6*st.CPU/float64(pk), 2)
	}
	return st, ctx.Err()
}
