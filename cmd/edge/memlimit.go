package main

import (
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryMax is where a container's memory limit is (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

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
