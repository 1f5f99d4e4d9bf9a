package main

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryMax is where a container's memory limit is (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// gcPercent is the edge's GOGC unless the environment names one. A call
// allocates ~40 KB and keeps ~5 KB (its transactions, 32 s), so the live
// heap is small and the collector's cost is its frequency: at the default
// 100 it took ~20% of the CPU at 800 calls/s; at 400 the heap may grow to
// five times the live one (~600 MB at 800 calls/s), CPU per call fell 13%
// and the INVITE->200 p99 from 232 to 44 ms (loadtest, one run each). The
// memory limit below still bounds the heap in a container.
const gcPercent = 400

// setGCPercent sets gcPercent unless GOGC is set; it returns the percent
// set (0: none).
func setGCPercent(lookup func(string) (string, bool)) int {
	if _, ok := lookup("GOGC"); ok {
		return 0
	}
	debug.SetGCPercent(gcPercent)
	return gcPercent
}

// setMemoryLimit gives the Go runtime a soft memory limit of 90% of the
// container's, unless GOMEMLIMIT says otherwise: under a burst of calls the
// collector then works harder as the heap nears the limit instead of the
// kernel killing the edge, and with room to spare GOGC's pacing stays as
// it is. It returns the limit set (0: none).
func setMemoryLimit(lookup func(string) (string, bool), read func(string) ([]byte, error)) int64 {
	if _, ok := lookup("GOMEMLIMIT"); ok {
		return 0 // the runtime read it already
	}
	b, err := read(cgroupMemoryMax)
	if err != nil {
		return 0
	}
	limit, ok := parseMemoryMax(string(b))
	if !ok {
		return 0
	}
	soft := limit / 10 * 9
	debug.SetMemoryLimit(soft)
	return soft
}

// parseMemoryMax reads memory.max: a byte count, or "max" (no limit).
func parseMemoryMax(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
