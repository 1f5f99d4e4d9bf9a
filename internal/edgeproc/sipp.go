package edgeproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// SIPp is a running sipp.
type SIPp struct {
	*Proc
	Dir string // its working directory: logs, -trace files
}

// StartSIPp runs sipp with scenario (a file path) and args, in a temporary
// folder that also holds loadtest/sipp/pcmu_tone.wav (for rtp_stream),
// with -nostdin; it is killed at cleanup, its output and error log shown
// when the test fails.
func StartSIPp(t testing.TB, name, scenario string, args ...string) *SIPp {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (run scripts/install-deps.sh): %v", err)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if scenario, err = filepath.Abs(scenario); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wav, err := os.ReadFile(filepath.Join(root, "loadtest", "sipp", "pcmu_tone.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pcmu_tone.wav"), wav, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &SIPp{Dir: dir}
	s.Proc = StartWith(t, name, bin, append([]string{"-sf", scenario, "-nostdin"}, args...), nil, Options{Dir: dir})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s error log:\n%s", name, s.ErrorLog())
		}
	})
	return s
}

var sippCount = regexp.MustCompile(`(?m)^\s*(Successful|Failed) call\s*\|\s*\d+\s*\|\s*(\d+)`)

// Counts are the cumulative successful and failed calls of sipp's last
// statistics screen; ok is false when it printed none yet.
func (s *SIPp) Counts() (succeeded, failed int, ok bool) {
	for _, m := range sippCount.FindAllStringSubmatch(s.Log(), -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "Successful" {
			succeeded, ok = n, true
		} else {
			failed = n
		}
	}
	return succeeded, failed, ok
}

// ErrorLog is the tail of sipp's error logs (-trace_err).
func (s *SIPp) ErrorLog() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.Dir, "*errors.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 6000 {
			data = data[len(data)-6000:]
		}
		b.WriteString("--- " + filepath.Base(f) + "\n" + string(data))
	}
	return b.String()
}
