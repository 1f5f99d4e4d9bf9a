package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// groupCPU returns the CPU time (user + system, seconds) of every process
// of process group pgid, from /proc/<pid>/stat: Kamailio's forked workers,
// or one process started in a group of its own (the edge, Redis,
// rtpengine). Processes that ended are not counted; the ones measured live
// for the whole run.
func groupCPU(pgid int) float64 {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total float64
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 > len(s) {
			continue
		}
		f := strings.Fields(s[i+2:])
		// state ppid pgrp ... utime (11) stime (12)
		if len(f) < 13 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		total += (ut + st) / clockTicks
	}
	return total
}

// hostSample is the host's CPU counters (/proc/stat, clock ticks summed
// over all CPUs) at one moment.
type hostSample struct {
	at                 time.Time
	total, idle, steal float64
}

func sampleHost() hostSample {
	h := hostSample{at: time.Now()}
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return h
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return h
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice]:
	// guest time is already in user, so the first eight are the total.
	for k, v := range f[1:9] {
		n, _ := strconv.ParseFloat(v, 64)
		h.total += n
		switch k {
		case 3, 4:
			h.idle += n
		case 7:
			h.steal = n
		}
	}
	return h
}

// hostUsage is how busy the host was during a step: the 1-minute load
// average at its end, the share of all CPUs' time that was busy and the
// share stolen by the hypervisor (a noisy neighbour), both in %.
type hostUsage struct {
	Load1    float64 `json:"load_avg_1m"`
	BusyPct  float64 `json:"busy_percent"`
	StealPct float64 `json:"steal_percent"`
}

func (h hostUsage) String() string {
	return fmt.Sprintf("load %.1f, busy %.0f%%, steal %.1f%%", h.Load1, h.BusyPct, h.StealPct)
}

// usageSince is the host's usage between a and now.
func usageSince(a hostSample) hostUsage {
	b := sampleHost()
	u := hostUsage{Load1: loadAvg()}
	if d := b.total - a.total; d > 0 {
		u.BusyPct = round(100*(d-(b.idle-a.idle))/d, 1)
		u.StealPct = round(100*(b.steal-a.steal)/d, 2)
	}
	return u
}
