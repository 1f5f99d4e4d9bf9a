package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// profileSummary is a CPU profile of the edge as the report shows it: the
// top functions by flat and by cumulative time (go tool pprof -top) and a
// flame graph (flame.go) beside the profile.
type profileSummary struct {
	What  string       `json:"what"`
	File  string       `json:"profile"`
	Flame string       `json:"flame_graph,omitempty"` // SVG file
	Total string       `json:"total,omitempty"`       // pprof's "Showing nodes..." line
	Flat  []profileRow `json:"top_flat,omitempty"`
	Cum   []profileRow `json:"top_cum,omitempty"`
	Error string       `json:"error,omitempty"`
}

// profileRow is one line of pprof -top.
type profileRow struct {
	Flat, FlatPct, SumPct, Cum, CumPct, Func string
}

// profileTop is how many functions the summary lists.
const profileTop = 15

// summarizeProfile runs go tool pprof on the edge's binary and profile and
// writes the flame graph next to the profile (<profile>-flame.svg).
func summarizeProfile(ctx context.Context, bin, file, what string) *profileSummary {
	ps := &profileSummary{What: what, File: file}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var err error
	var total string
	if ps.Flat, total, err = pprofTop(ctx, bin, file, false); err != nil {
		ps.Error = err.Error()
		return ps
	}
	ps.Total = total
	if ps.Cum, _, err = pprofTop(ctx, bin, file, true); err != nil {
		ps.Error = err.Error()
		return ps
	}
	traces, err := pprofOutput(ctx, "-traces", bin, file)
	if err != nil {
		ps.Error = err.Error()
		return ps
	}
	stacks, err := parseTraces(traces)
	if err != nil {
		ps.Error = err.Error()
		return ps
	}
	svg := strings.TrimSuffix(file, ".pprof") + "-flame.svg"
	if err := os.WriteFile(svg, flameSVG(stacks, "CPU flame graph: "+what), 0o644); err != nil {
		ps.Error = err.Error()
		return ps
	}
	ps.Flame = svg
	return ps
}

func pprofOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "pprof"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w: %s", strings.Join(args, " "), err, lastLine(errb.String()))
	}
	return out.String(), nil
}

// pprofTop runs pprof -top (-cum) and parses its table.
func pprofTop(ctx context.Context, bin, file string, cum bool) ([]profileRow, string, error) {
	args := []string{"-top", fmt.Sprintf("-nodecount=%d", profileTop)}
	if cum {
		args = append(args, "-cum")
	}
	out, err := pprofOutput(ctx, append(args, bin, file)...)
	if err != nil {
		return nil, "", err
	}
	rows, total := parseTop(out)
	return rows, total, nil
}

// parseTop reads the rows after pprof's "flat  flat%   sum%  cum  cum%"
// header; total is its "Showing nodes accounting for ..." line.
func parseTop(out string) ([]profileRow, string) {
	var rows []profileRow
	var total string
	inTable := false
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "Showing nodes"):
			total = t
		case strings.HasPrefix(t, "flat") && strings.Contains(t, "cum%"):
			inTable = true
		case inTable:
			f := strings.Fields(t)
			if len(f) < 6 {
				continue
			}
			rows = append(rows, profileRow{Flat: f[0], FlatPct: f[1], SumPct: f[2], Cum: f[3], CumPct: f[4], Func: strings.Join(f[5:], " ")})
		}
	}
	return rows, total
}
