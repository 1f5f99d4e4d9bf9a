package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errUsage marks a bad flag (exit status 2).
var errUsage = errors.New("usage")

// options are the driver's flags; every run is bounded by them.
type options struct {
	// Workspaces and Numbers: N workspaces of M numbers each.
	Workspaces int
	Numbers    int
	// Runs to do, comma-separated: ramp, concurrency, fairness, bench,
	// kamailio and rtpengine (the references).
	Runs string
	// Out is the results root; each invocation writes Out/<timestamp>/
	// and Out/latest.md.
	Out string
	// Bin holds edge, edge-admin (built by `make build`).
	Bin string
	// Scenarios is the SIPp scenario directory.
	Scenarios string
	// IP is the loopback address the edge, edge-admin and Redis bind.
	IP string
	// UACIPs are the load generators' source addresses, one SIPp per
	// address; ServiceIP is where the SIPp services listen.
	UACIPs    []netip.Addr
	ServiceIP netip.Addr
	// Services is how many SIPp UAS processes answer (workspaces are
	// spread over them).
	Services int
	// RTPPorts is the edge's RTP range.
	RTPPorts string

	// Ramp: from RampStart calls/s, +RampStep per step of RampStepTime,
	// up to RampMax; calls last CallHold. The best rate is then held for
	// RampHoldTime.
	RampStart, RampStep, RampMax int
	RampStepTime, RampHoldTime   time.Duration
	CallHold                     time.Duration

	// Concurrency: steps of simultaneous calls with PCMU both ways,
	// ConcStart, +ConcStep, up to ConcMax, opened at ConcRate calls/s and
	// held ConcPlateau after the last one opened.
	ConcStart, ConcStep, ConcMax, ConcRate int
	ConcPlateau                            time.Duration
	// MaxLoss is the packet loss (fraction) a concurrency step may have.
	MaxLoss float64

	// Fairness: the flooding workspace gets FloodMaxCPS and
	// FloodMaxConcurrent and is driven at FloodRate; the others share
	// FairRate for FairTime.
	FloodMaxCPS, FloodMaxConcurrent, FloodRate, FairRate int
	FairTime                                             time.Duration

	// References, measured in the same run (runs kamailio and rtpengine):
	// RefRates are the calls/s the same SIPp traffic is sent at, to
	// Kamailio and to the edge alternately, RefStepTime each, RefRuns
	// times; ProfileRate is the rate whose edge step is CPU-profiled (a
	// summary and a flame graph in the report; 0 = none).
	RefRates         []int
	RefRuns          int
	RefStepTime      time.Duration
	ProfileRate      int
	KamailioChildren int
	// RelayCalls are the call counts relayed by the edge and by rtpengine
	// alternately (RefRuns times), each for RelayTime, with the same
	// paced RTP; RTPEngineThreads is rtpengine's --num-threads.
	RelayCalls       []int
	RelayTime        time.Duration
	RTPEngineThreads int

	// BenchTime is the -benchtime of the benchmarks run.
	BenchTime string
	// Profile saves the edge's CPU and heap profiles (net/http/pprof,
	// EDGE_PPROF=1) of the held rate and of each concurrency step.
	Profile bool
	// Rewrite, when set, is a results directory whose report.json is
	// rendered again (report.md, chart.png, latest.md); nothing is run.
	Rewrite string
	// KeepScratch keeps the scratch directory (SIPp files, full logs).
	KeepScratch bool
	// KeepLogs keeps the processes' logs (trimmed) in the results.
	KeepLogs bool
}

func defaultOptions() options {
	return options{
		Workspaces: 10, Numbers: 20, Runs: "ramp,concurrency,fairness,bench,kamailio,rtpengine",
		Out: "loadtest/results", Bin: "bin", Scenarios: "loadtest/sipp",
		IP: "127.0.0.50", ServiceIP: netip.MustParseAddr("127.0.0.51"), Services: 8,
		UACIPs:    []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.11")},
		RTPPorts:  "20000-39999",
		RampStart: 200, RampStep: 100, RampMax: 2000,
		RampStepTime: 10 * time.Second, RampHoldTime: 30 * time.Second, CallHold: time.Second,
		ConcStart: 500, ConcStep: 250, ConcMax: 2000, ConcRate: 200,
		ConcPlateau: 45 * time.Second, MaxLoss: 0.001,
		FloodMaxCPS: 20, FloodMaxConcurrent: 40, FloodRate: 200, FairRate: 200,
		FairTime: 20 * time.Second, BenchTime: "1s",
		RefRates: []int{400, 800, 1200}, RefRuns: 3, RefStepTime: 10 * time.Second, ProfileRate: 800, KamailioChildren: 4,
		RelayCalls: []int{100, 250, 500}, RelayTime: 10 * time.Second, RTPEngineThreads: 2,
	}
}

// parseOptions reads the flags.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("driver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Workspaces, "workspaces", o.Workspaces, "workspaces N (>= 2)")
	fs.IntVar(&o.Numbers, "numbers", o.Numbers, "phone numbers per workspace M")
	fs.StringVar(&o.Runs, "runs", o.Runs, "runs, comma-separated: ramp, concurrency, fairness, bench, kamailio, rtpengine")
	fs.StringVar(&o.Out, "out", o.Out, "results directory")
	fs.StringVar(&o.Bin, "bin", o.Bin, "directory of the edge and edge-admin binaries")
	fs.StringVar(&o.Scenarios, "scenarios", o.Scenarios, "SIPp scenario directory")
	fs.StringVar(&o.IP, "ip", o.IP, "loopback address of the edge, edge-admin and Redis")
	uacs := fs.String("uac-ips", joinAddrs(o.UACIPs), "load generator source addresses, one SIPp each")
	svc := fs.String("service-ip", o.ServiceIP.String(), "address of the SIPp services")
	fs.IntVar(&o.Services, "services", o.Services, "SIPp service (UAS) processes")
	fs.StringVar(&o.RTPPorts, "rtp-ports", o.RTPPorts, "the edge's RTP port range")
	fs.IntVar(&o.RampStart, "ramp-start", o.RampStart, "ramp: first rate, calls/s")
	fs.IntVar(&o.RampStep, "ramp-step", o.RampStep, "ramp: rate increase per step, calls/s")
	fs.IntVar(&o.RampMax, "ramp-max", o.RampMax, "ramp: highest rate tried, calls/s")
	fs.DurationVar(&o.RampStepTime, "ramp-step-time", o.RampStepTime, "ramp: length of one step")
	fs.DurationVar(&o.RampHoldTime, "ramp-hold-time", o.RampHoldTime, "ramp: how long the best rate is held")
	fs.DurationVar(&o.CallHold, "call-hold", o.CallHold, "ramp and fairness: call duration after the answer")
	fs.IntVar(&o.ConcStart, "conc-start", o.ConcStart, "concurrency: first step, simultaneous calls")
	fs.IntVar(&o.ConcStep, "conc-step", o.ConcStep, "concurrency: increase per step")
	fs.IntVar(&o.ConcMax, "conc-max", o.ConcMax, "concurrency: highest step")
	fs.IntVar(&o.ConcRate, "conc-rate", o.ConcRate, "concurrency: calls/s while opening a step's calls")
	fs.DurationVar(&o.ConcPlateau, "conc-plateau", o.ConcPlateau, "concurrency: time all calls of a step are up")
	fs.Float64Var(&o.MaxLoss, "max-loss", o.MaxLoss, "concurrency: packet loss a step may have (fraction)")
	fs.IntVar(&o.FloodMaxCPS, "flood-max-cps", o.FloodMaxCPS, "fairness: max_cps of the flooding workspace")
	fs.IntVar(&o.FloodMaxConcurrent, "flood-max-concurrent", o.FloodMaxConcurrent, "fairness: max_concurrent_calls of the flooding workspace")
	fs.IntVar(&o.FloodRate, "flood-rate", o.FloodRate, "fairness: calls/s sent to the flooding workspace")
	fs.IntVar(&o.FairRate, "fair-rate", o.FairRate, "fairness: calls/s sent to the other workspaces")
	fs.DurationVar(&o.FairTime, "fair-time", o.FairTime, "fairness: length of the run")
	refRates := fs.String("ref-rates", joinInts(o.RefRates), "kamailio: calls/s sent to Kamailio and to the edge alternately")
	fs.IntVar(&o.RefRuns, "ref-runs", o.RefRuns, "kamailio, rtpengine: alternating runs of each step (edge, reference)")
	fs.DurationVar(&o.RefStepTime, "ref-step-time", o.RefStepTime, "kamailio: length of one step")
	fs.IntVar(&o.ProfileRate, "profile-rate", o.ProfileRate, "kamailio: rate of -ref-rates whose edge step is CPU-profiled (flame graph), 0 for none")
	fs.IntVar(&o.KamailioChildren, "kamailio-children", o.KamailioChildren, "kamailio: UDP worker processes")
	relayCalls := fs.String("relay-calls", joinInts(o.RelayCalls), "rtpengine: relayed call counts, edge and rtpengine alternately")
	fs.DurationVar(&o.RelayTime, "relay-time", o.RelayTime, "rtpengine: how long each relay step streams")
	fs.IntVar(&o.RTPEngineThreads, "rtpengine-threads", o.RTPEngineThreads, "rtpengine: --num-threads")
	fs.StringVar(&o.BenchTime, "benchtime", o.BenchTime, "bench: go test -benchtime")
	fs.BoolVar(&o.Profile, "profile", o.Profile, "save the edge's CPU and heap profiles under the results")
	fs.StringVar(&o.Rewrite, "rewrite", o.Rewrite, "render the report of an earlier results directory again, run nothing")
	fs.BoolVar(&o.KeepScratch, "keep-scratch", o.KeepScratch, "keep the scratch directory (SIPp statistics, full logs)")
	fs.BoolVar(&o.KeepLogs, "keep-logs", o.KeepLogs, "keep the ends of the processes' logs in the results")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	var err error
	if o.RefRates, err = parseInts(*refRates); err != nil {
		return o, fmt.Errorf("%w: -ref-rates: %v", errUsage, err)
	}
	if o.RelayCalls, err = parseInts(*relayCalls); err != nil {
		return o, fmt.Errorf("%w: -relay-calls: %v", errUsage, err)
	}
	if o.UACIPs, err = parseAddrs(*uacs); err != nil {
		return o, fmt.Errorf("%w: -uac-ips: %v", errUsage, err)
	}
	if o.ServiceIP, err = netip.ParseAddr(*svc); err != nil {
		return o, fmt.Errorf("%w: -service-ip: %v", errUsage, err)
	}
	for _, p := range []*string{&o.Out, &o.Bin, &o.Scenarios} {
		if *p, err = filepath.Abs(*p); err != nil {
			return o, fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	return o, o.validate()
}

// validate checks the bounds of every run.
func (o options) validate() error {
	bad := func(flag, why string) error { return fmt.Errorf("%w: -%s %s", errUsage, flag, why) }
	switch {
	case o.Workspaces < 2 || o.Workspaces > 1000:
		return bad("workspaces", "must be 2-1000")
	case o.Numbers < 1 || o.Numbers > 10000:
		return bad("numbers", "must be 1-10000")
	case len(o.UACIPs) == 0 || len(o.UACIPs) > 8:
		return bad("uac-ips", "must list 1-8 addresses")
	case o.Services < 1 || o.Services > 8:
		return bad("services", "must be 1-8")
	case o.RampStart < 1 || o.RampStep < 1 || o.RampMax < o.RampStart || o.RampMax > 20000:
		return bad("ramp-*", "must satisfy 1 <= start <= max <= 20000, step >= 1")
	case o.RampStepTime < time.Second || o.RampStepTime > 5*time.Minute || o.RampHoldTime < time.Second || o.RampHoldTime > 30*time.Minute:
		return bad("ramp-step-time", "and -ramp-hold-time must be 1s-5m and 1s-30m")
	case o.CallHold < 0 || o.CallHold > time.Minute:
		return bad("call-hold", "must be 0-1m")
	case o.ConcStart < 1 || o.ConcStep < 1 || o.ConcMax < o.ConcStart || o.ConcMax > 20000 || o.ConcRate < 1:
		return bad("conc-*", "must satisfy 1 <= start <= max <= 20000, step and rate >= 1")
	case o.ConcPlateau < time.Second || o.ConcPlateau > 10*time.Minute:
		return bad("conc-plateau", "must be 1s-10m")
	case o.MaxLoss < 0 || o.MaxLoss >= 1:
		return bad("max-loss", "must be in [0, 1)")
	case o.FloodMaxCPS < 1 || o.FloodMaxConcurrent < 1 || o.FloodRate < 1 || o.FairRate < 1:
		return bad("flood-*", "and -fair-rate must be >= 1")
	case o.FairTime < time.Second || o.FairTime > 10*time.Minute:
		return bad("fair-time", "must be 1s-10m")
	case len(o.RefRates) == 0 || len(o.RefRates) > 20 || o.RefRuns < 1 || o.RefRuns > 10:
		return bad("ref-rates", "must list 1-20 rates, -ref-runs 1-10")
	case o.RefStepTime < time.Second || o.RefStepTime > 5*time.Minute:
		return bad("ref-step-time", "must be 1s-5m")
	case len(o.RelayCalls) == 0 || len(o.RelayCalls) > 20 || o.RelayTime < time.Second || o.RelayTime > 5*time.Minute:
		return bad("relay-calls", "must list 1-20 counts, -relay-time 1s-5m")
	case o.KamailioChildren < 1 || o.KamailioChildren > 64 || o.RTPEngineThreads < 1 || o.RTPEngineThreads > 64:
		return bad("kamailio-children", "and -rtpengine-threads must be 1-64")
	}
	for _, v := range append(append([]int{}, o.RefRates...), o.RelayCalls...) {
		if v < 1 || v > 20000 {
			return bad("ref-rates", "and -relay-calls must be 1-20000 each")
		}
	}
	for _, r := range o.runList() {
		switch r {
		case "ramp", "concurrency", "fairness", "bench", "kamailio", "rtpengine":
		default:
			return bad("runs", fmt.Sprintf("names an unknown run %q", r))
		}
	}
	return nil
}

// runList returns the runs asked for.
func (o options) runList() []string {
	var out []string
	for _, r := range strings.Split(o.Runs, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

func (o options) wants(run string) bool {
	for _, r := range o.runList() {
		if r == run {
			return true
		}
	}
	return false
}

func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		if !a.IsLoopback() {
			return nil, fmt.Errorf("%s is not a loopback address", a)
		}
		out = append(out, a)
	}
	return out, nil
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
