package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// benchResult is one benchmark line of go test -bench -benchmem.
type benchResult struct {
	Package     string  `json:"package"`
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
}

// benchmarks are the hot paths measured: lookup (routing), relay per
// packet (media), the INVITE path (sip), and a mixer frame when media has
// one.
var benchmarks = []struct{ pkg, pattern string }{
	{"./routing", "^(BenchmarkLookup|BenchmarkKnownSource|BenchmarkTrunkFor)$"},
	{"./media", "^(BenchmarkRelayHandle|BenchmarkRelayUDP|BenchmarkMix.*)$"},
	{"./sip", "^BenchmarkInviteToServiceLeg$"},
}

// runBenchmarks runs the benchmarks (no tests) with -benchmem.
func runBenchmarks(ctx context.Context, benchtime string, log io.Writer) ([]benchResult, error) {
	var out []benchResult
	var firstErr error
	for _, b := range benchmarks {
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", b.pattern, "-benchmem", "-benchtime", benchtime, "-count", "1", b.pkg)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		rs := parseBench(b.pkg, buf.String())
		for _, r := range rs {
			fmt.Fprintf(log, "bench %-8s %-45s %12.1f ns/op %8.0f B/op %6.0f allocs/op\n", r.Package, r.Name, r.NsPerOp, r.BytesPerOp, r.AllocsPerOp)
		}
		out = append(out, rs...)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("go test -bench %s: %w: %s", b.pkg, err, lastLine(buf.String()))
		}
	}
	return out, firstErr
}

// parseBench reads "BenchmarkX-2  N  123 ns/op  45 B/op  1 allocs/op" lines.
func parseBench(pkg, text string) []benchResult {
	var out []benchResult
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := benchResult{Package: strings.TrimPrefix(pkg, "./"), Name: f[0]}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				i--
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NsPerOp = v
			case "B/op":
				r.BytesPerOp = v
			case "allocs/op":
				r.AllocsPerOp = v
			}
		}
		out = append(out, r)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
