package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// uacSpec is one SIPp trunk (UAC) of a run.
type uacSpec struct {
	name     string
	scenario string // file in the scenario directory
	src      netip.Addr
	target   netip.AddrPort // where the calls go; the edge when zero
	csv      string         // injection file
	rate     float64
	calls    int           // -m
	limit    int           // -l, simultaneous calls
	hold     time.Duration // -d
	timeout  time.Duration // bound of the whole SIPp run
}

// uacResult is what one SIPp trunk measured.
type uacResult struct {
	Name            string         `json:"name"`
	Source          string         `json:"source"`
	TargetRate      float64        `json:"target_rate"`
	Created         int            `json:"created"`
	Successful      int            `json:"successful"` // answered
	Failed          int            `json:"failed"`
	Refused         int            `json:"refused"` // final 4xx/5xx answered by the edge
	RefusedByCode   map[string]int `json:"refused_by_code,omitempty"`
	Retransmissions int            `json:"retransmissions"`
	Elapsed         float64        `json:"elapsed_s"`
	AchievedRate    float64        `json:"achieved_rate"` // created calls / sending time
	ExitCode        int            `json:"exit_code"`
	Setup           []float64      `json:"-"` // INVITE -> 200, ms
	Errors          string         `json:"errors,omitempty"`
}

// runUAC runs one SIPp trunk to completion (bounded by spec.timeout).
func runUAC(ctx context.Context, s *stack, dir string, spec uacSpec) (*uacResult, error) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		return nil, fmt.Errorf("sipp not found: %w", err)
	}
	wd := filepath.Join(dir, spec.name)
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return nil, err
	}
	wav, err := os.ReadFile(filepath.Join(s.o.Scenarios, "pcmu_tone.wav"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(wd, "pcmu_tone.wav"), wav, 0o644); err != nil {
		return nil, err
	}
	port, err := freeSIPPort(spec.src)
	if err != nil {
		return nil, err
	}
	mport, err := freePort("udp", spec.src)
	if err != nil {
		return nil, err
	}
	limit := spec.limit
	if limit <= 0 {
		limit = spec.calls
	}
	dst := s.sipAddr
	if spec.target.IsValid() {
		dst = spec.target
	}
	args := []string{
		dst.String(), "-sf", filepath.Join(s.o.Scenarios, spec.scenario), "-inf", spec.csv,
		"-i", spec.src.String(), "-p", strconv.Itoa(port), "-mi", spec.src.String(), "-mp", strconv.Itoa(mport),
		"-r", strconv.FormatFloat(spec.rate, 'f', 2, 64), "-rp", "1000", "-m", strconv.Itoa(spec.calls),
		"-l", strconv.Itoa(limit), "-d", strconv.FormatInt(spec.hold.Milliseconds(), 10),
		"-nostdin", "-f", "10", "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_rtt", "-rtt_freq", "1",
		"-trace_counts", "-trace_err", "-max_log_size", "200000", "-max_socket", "50000",
		"-timeout", strconv.Itoa(int(spec.timeout.Seconds())) + "s", "-recv_timeout", "20s",
	}
	p, err := s.procs.start(spec.name, wd, wd, nil, bin, args...)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stop(2 * time.Second)
		return nil, ctx.Err()
	case <-time.After(spec.timeout + 15*time.Second):
		p.stop(2 * time.Second)
	}
	res := &uacResult{Name: spec.name, Source: spec.src.String(), TargetRate: spec.rate, ExitCode: p.cmd.ProcessState.ExitCode()}
	res.Elapsed = time.Since(start).Seconds()
	if err := res.readStats(filepath.Join(wd, "stat.csv")); err != nil {
		return res, fmt.Errorf("%s: %w (see %s)", spec.name, err, p.log)
	}
	res.readRTT(wd)
	res.readCounts(wd)
	// SIPp counts a refused call that took the scenario's "refused" branch
	// as successful: Successful is the answered calls.
	res.Successful = max(res.Successful-res.Refused, 0)
	res.readErrors(wd)
	return res, nil
}

// readCSV reads a SIPp semicolon-separated file: its header and rows.
func readCSV(path string) ([]string, [][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 2 {
		return nil, nil, fmt.Errorf("%s: no statistics", filepath.Base(path))
	}
	head := strings.Split(strings.TrimRight(lines[0], ";\r"), ";")
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Split(strings.TrimRight(l, ";\r"), ";"))
	}
	return head, rows, nil
}

func field(head, row []string, name string) float64 {
	for i, h := range head {
		if h == name && i < len(row) {
			v, _ := strconv.ParseFloat(strings.TrimSpace(row[i]), 64)
			return v
		}
	}
	return 0
}

// clockField reads a SIPp duration column, "hh:mm:ss" or
// "hh:mm:ss:micros", in seconds.
func clockField(head, row []string, name string) float64 {
	for i, h := range head {
		if h != name || i >= len(row) {
			continue
		}
		parts := strings.Split(strings.TrimSpace(row[i]), ":")
		var secs float64
		for k, p := range parts {
			v, _ := strconv.ParseFloat(p, 64)
			switch k {
			case 0:
				secs += 3600 * v
			case 1:
				secs += 60 * v
			case 2:
				secs += v
			case 3:
				secs += v / 1e6
			}
		}
		return secs
	}
	return 0
}

// readStats takes the cumulative counters of the last row of -trace_stat
// and the sending period from its per-second rows.
func (r *uacResult) readStats(path string) error {
	head, rows, err := readCSV(path)
	if err != nil {
		return err
	}
	last := rows[len(rows)-1]
	r.Created = int(field(head, last, "TotalCallCreated"))
	r.Successful = int(field(head, last, "SuccessfulCall(C)"))
	r.Failed = int(field(head, last, "FailedCall(C)"))
	r.Retransmissions = int(field(head, last, "Retransmissions(C)"))
	// The sending period: the rows whose outgoing calls (P) are non-zero.
	var secs, created float64
	for _, row := range rows {
		if n := field(head, row, "OutgoingCall(P)"); n > 0 {
			secs += clockField(head, row, "ElapsedTime(P)")
			created += n
		}
	}
	if secs > 0 {
		r.AchievedRate = created / secs
	}
	return nil
}

// readRTT reads the response times of -trace_rtt (ms).
func (r *uacResult) readRTT(wd string) {
	files, _ := filepath.Glob(filepath.Join(wd, "*_rtt.csv"))
	for _, f := range files {
		head, rows, err := readCSV(f)
		if err != nil {
			continue
		}
		for _, row := range rows {
			if v := field(head, row, "response_time_ms"); v > 0 || len(row) > 1 {
				r.Setup = append(r.Setup, v)
			}
		}
	}
}

// readCounts counts the final refusals received (messages "N_CODE_Recv"
// with CODE >= 300) from -trace_counts.
func (r *uacResult) readCounts(wd string) {
	files, _ := filepath.Glob(filepath.Join(wd, "*_counts.csv"))
	for _, f := range files {
		head, rows, err := readCSV(f)
		if err != nil {
			continue
		}
		last := rows[len(rows)-1]
		for i, h := range head {
			parts := strings.Split(h, "_")
			if len(parts) != 3 || parts[2] != "Recv" || i >= len(last) {
				continue
			}
			code, err := strconv.Atoi(parts[1])
			if err != nil || code < 300 {
				continue
			}
			n, _ := strconv.Atoi(strings.TrimSpace(last[i]))
			if n > 0 {
				if r.RefusedByCode == nil {
					r.RefusedByCode = map[string]int{}
				}
				r.RefusedByCode[parts[1]] += n
				r.Refused += n
			}
		}
	}
}

// readErrors keeps the first lines of SIPp's error log.
func (r *uacResult) readErrors(wd string) {
	files, _ := filepath.Glob(filepath.Join(wd, "*_errors.log"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.SplitN(string(data), "\n", 9)
		if len(lines) > 8 {
			lines = lines[:8]
		}
		r.Errors = strings.Join(lines, "\n")
	}
}

// percentiles returns p50, p95, p99 and the maximum of xs (ms).
func percentiles(xs []float64) (p50, p95, p99, maxv float64) {
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return at(0.50), at(0.95), at(0.99), s[len(s)-1]
}

// combine sums the results of parallel trunks.
func combine(rs []*uacResult) (sum uacResult) {
	sum.RefusedByCode = map[string]int{}
	for _, r := range rs {
		sum.TargetRate += r.TargetRate
		sum.Created += r.Created
		sum.Successful += r.Successful
		sum.Failed += r.Failed
		sum.Refused += r.Refused
		sum.Retransmissions += r.Retransmissions
		sum.AchievedRate += r.AchievedRate
		sum.Elapsed = max(sum.Elapsed, r.Elapsed)
		sum.Setup = append(sum.Setup, r.Setup...)
		for k, v := range r.RefusedByCode {
			sum.RefusedByCode[k] += v
		}
		if r.Errors != "" && sum.Errors == "" {
			sum.Errors = r.Name + ": " + r.Errors
		}
	}
	return sum
}
