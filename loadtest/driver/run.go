package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// report is everything a driver invocation measured (the JSON file).
type report struct {
	Started    time.Time      `json:"started"`
	Finished   time.Time      `json:"finished"`
	Machine    machine        `json:"machine"`
	Options    map[string]any `json:"options"`
	Commit     string         `json:"commit,omitempty"`
	Idle       idle           `json:"edge_idle"`
	Ramp       []*step        `json:"ramp,omitempty"`
	BestCPS    int            `json:"best_cps"`
	Conc       []*step        `json:"concurrency,omitempty"`
	BestConc   int            `json:"best_concurrent_calls"`
	Fairness   []*step        `json:"fairness,omitempty"`
	Benchmarks []benchResult  `json:"benchmarks,omitempty"`
	// The references measured in the same run (reference.go, relayref.go).
	Kamailio []*refStep      `json:"kamailio_reference,omitempty"`
	Profile  *profileSummary `json:"edge_profile,omitempty"`
	Relay    []*relayPair    `json:"rtpengine_reference,omitempty"`
	// RelayProfile is the edge's CPU profile while it relays the most
	// calls of the first run (with -profile).
	RelayProfile *profileSummary `json:"edge_relay_profile,omitempty"`
	Errors       []string        `json:"errors,omitempty"`
}

// run does the runs asked for and writes the report; it returns the
// results directory.
func run(ctx context.Context, o options, log io.Writer) (string, error) {
	if o.Rewrite != "" {
		return o.Rewrite, rewrite(o)
	}
	rep := &report{Started: time.Now().UTC(), Machine: describeMachine(), Commit: gitCommit(), Options: o.summary()}
	stamp := rep.Started.Format("20060102-150405")
	outDir := filepath.Join(o.Out, stamp)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	scratch, err := os.MkdirTemp("", "edge-loadtest-")
	if err != nil {
		return "", err
	}
	// A run that failed keeps its scratch: its errors point at the logs there.
	defer func() {
		if o.KeepScratch || len(rep.Errors) > 0 {
			return
		}
		_ = os.RemoveAll(scratch)
	}()
	fmt.Fprintf(log, "machine: %s\nscratch: %s\n", rep.Machine, scratch)

	if o.wants("ramp") || o.wants("concurrency") || o.wants("fairness") || o.wants("kamailio") || o.wants("rtpengine") {
		if err := runLoad(ctx, o, scratch, outDir, rep, log); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			fmt.Fprintf(log, "error: %v\n", err)
		}
	}
	if o.wants("bench") && ctx.Err() == nil {
		bs, err := runBenchmarks(ctx, o.BenchTime, log)
		rep.Benchmarks = bs
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	rep.Finished = time.Now().UTC()
	if err := writeReport(rep, o, outDir); err != nil {
		return outDir, err
	}
	if len(rep.Errors) > 0 {
		return outDir, fmt.Errorf("%d run(s) did not complete: %s", len(rep.Errors), rep.Errors[0])
	}
	return outDir, nil
}

// runLoad starts the stack, provisions it and does the load runs; the
// stack is stopped whatever happens.
func runLoad(ctx context.Context, o options, scratch, outDir string, rep *report, log io.Writer) error {
	ps := &procs{}
	defer func() {
		ps.stopAll()
		if o.KeepLogs {
			keepLogs(ps, outDir)
		}
	}()
	flooder := netip.MustParseAddr("127.0.0.21")
	s, err := startStack(ctx, o, scratch, ps)
	if err != nil {
		return err
	}
	wss, err := provision(ctx, s, o.UACIPs, flooder, log)
	if err != nil {
		return err
	}
	if err := s.startEdge(ctx, flooder); err != nil {
		return err
	}
	fmt.Fprintf(log, "edge: sip %s, http %s, metrics %s (pprof: %s/debug/pprof/)\n", s.sipAddr, s.httpURL, s.metricsURL, s.metricsURL)
	r := &runner{o: o, s: s, wss: wss, dir: scratch, out: outDir, log: log, flooder: flooder}
	if err := r.writeCSVs(); err != nil {
		return err
	}
	if r.events, err = newEventReader(s, wss); err != nil {
		return err
	}
	// Warm up (code paths, pools), then the idle footprint.
	if _, err := r.drive(ctx, "warmup", "warmup", r.split("warmup", "uac_load.xml", r.csvAll, 20, 40, 100, 200*time.Millisecond, 30*time.Second)); err != nil {
		return fmt.Errorf("warmup: %w", err)
	}
	waitDrained(ctx, s, 20*time.Second)
	time.Sleep(time.Second)
	rep.Idle = measureIdle(s)
	r.idle = rep.Idle

	// Concurrency first: its memory per call is measured against the idle
	// edge, before the ramp's hundreds of thousands of calls.
	if o.wants("concurrency") {
		rep.Conc, rep.BestConc, err = r.concurrency(ctx)
		if err != nil {
			return fmt.Errorf("concurrency: %w", err)
		}
	}
	if o.wants("ramp") {
		rep.Ramp, rep.BestCPS, err = r.ramp(ctx)
		if err != nil {
			return fmt.Errorf("ramp: %w", err)
		}
	}
	if o.wants("fairness") {
		if rep.Fairness, err = r.fairness(ctx); err != nil {
			return fmt.Errorf("fairness: %w", err)
		}
	}
	if o.wants("kamailio") {
		rep.Kamailio, rep.Profile, err = r.kamailioRef(ctx)
		if err != nil {
			return fmt.Errorf("kamailio reference: %w", err)
		}
	}
	if o.wants("rtpengine") {
		if rep.Relay, rep.RelayProfile, err = r.rtpengineRef(ctx); err != nil {
			return fmt.Errorf("rtpengine reference: %w", err)
		}
	}
	return s.checkAlive()
}

// rewrite renders an earlier report.json again.
func rewrite(o options) error {
	data, err := os.ReadFile(filepath.Join(o.Rewrite, "report.json"))
	if err != nil {
		return fmt.Errorf("%w: -rewrite: %v", errUsage, err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		return fmt.Errorf("-rewrite: %s: %w", o.Rewrite, err)
	}
	o.Out = filepath.Dir(filepath.Clean(o.Rewrite))
	return writeReport(&rep, o, o.Rewrite)
}
