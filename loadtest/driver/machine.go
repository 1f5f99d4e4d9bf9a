package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// machine describes the host the figures were measured on.
type machine struct {
	CPUs     int     `json:"nproc"`
	CPUModel string  `json:"cpu_model"`
	MemGiB   float64 `json:"mem_gib"`
	Kernel   string  `json:"kernel"`
	Go       string  `json:"go"`
	SIPp     string  `json:"sipp"`
	LoadAvg  float64 `json:"load_avg_1m_at_start"`
}

func (m machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %.1f GiB, %s, %s, %s, load %.2f", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel, m.Go, m.SIPp, m.LoadAvg)
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadAvg: loadAvg()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPUModel = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		m.MemGiB = round(kb/1024/1024, 1)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(data))
	}
	if out, _ := exec.Command("sipp", "-v").CombinedOutput(); len(out) > 0 {
		for _, l := range strings.Split(string(out), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "SIPp") {
				m.SIPp = strings.TrimSuffix(l, ".")
				break
			}
		}
	}
	return m
}

// gitCommit is the HEAD commit of the tree, with "+dirty" when it has
// changes.
func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

// summary is the options as recorded in the report.
func (o options) summary() map[string]any {
	return map[string]any{
		"workspaces": o.Workspaces, "numbers": o.Numbers, "runs": o.Runs, "uac_ips": joinAddrs(o.UACIPs),
		"services": o.Services, "edge_ip": o.IP, "service_ip": o.ServiceIP.String(), "ramp": fmt.Sprintf("%d..%d step %d, %s per step, hold %s, call %s", o.RampStart, o.RampMax, o.RampStep, o.RampStepTime, o.RampHoldTime, o.CallHold),
		"concurrency": fmt.Sprintf("%d..%d step %d, opened at %d cps, plateau %s, max loss %.3f%%", o.ConcStart, o.ConcMax, o.ConcStep, o.ConcRate, o.ConcPlateau, 100*o.MaxLoss),
		"fairness":    fmt.Sprintf("flood %d cps into max_cps %d, max_concurrent %d; others %d cps for %s", o.FloodRate, o.FloodMaxCPS, o.FloodMaxConcurrent, o.FairRate, o.FairTime),
	}
}

// keepLogs copies the last lines of each process's log into the results.
func keepLogs(ps *procs, outDir string) {
	dir := filepath.Join(outDir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	for _, p := range ps.list {
		if strings.HasPrefix(p.name, "ramp-") || strings.HasPrefix(p.name, "conc-") || strings.HasPrefix(p.name, "hold-") {
			continue
		}
		data, err := os.ReadFile(p.log)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		_ = os.WriteFile(filepath.Join(dir, p.name+".log"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	}
}
