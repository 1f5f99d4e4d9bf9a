package sip

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// freeUDPPort returns a UDP port free on ip.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sippProc is a running SIPp.
type sippProc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// scenarioDir is where the SIPp scenarios live.
func scenarioDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../loadtest/sipp")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// startSipp runs sipp with a scenario of loadtest/sipp in a temporary
// directory (its logs stay out of the tree); it is killed at cleanup.
func startSipp(t *testing.T, scenario string, args ...string) *sippProc {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (run scripts/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	wav, err := os.ReadFile(filepath.Join(scenarioDir(t), "pcmu_tone.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pcmu_tone.wav"), wav, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(scenarioDir(t), scenario)
	if strings.HasPrefix(scenario, "testdata/") {
		// The dialog scenarios of this package (sip/testdata).
		if path, err = filepath.Abs(scenario); err != nil {
			t.Fatal(err)
		}
	}
	full := append([]string{"-sf", path, "-nostdin", "-m", "1", "-timeout", "40s", "-timeout_error", "-trace_err"}, args...)
	p := &sippProc{cmd: exec.Command(bin, full...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for sipp to exit and returns its exit code (0: every call
// succeeded), with its output and error log for failures.
func (p *sippProc) wait(t *testing.T, d time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		return -1, "timeout\n" + p.logs()
	}
	return p.cmd.ProcessState.ExitCode(), p.logs()
}

func (p *sippProc) logs() string {
	var b strings.Builder
	b.WriteString(lastLines(p.out.String(), 30))
	files, _ := filepath.Glob(filepath.Join(p.cmd.Dir, "*errors.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.WriteString("\n--- " + filepath.Base(f) + "\n" + lastLines(string(data), 60))
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// service starts a SIPp service on 127.0.0.2 with a scenario and returns
// its target URI.
func startService(t *testing.T, scenario string, extra ...string) (*sippProc, string) {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.2")
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.2", fmt.Sprint(port))
	args := append([]string{"-i", "127.0.0.2", "-p", fmt.Sprint(port), "-mp", mport, "-rtp_echo"}, extra...)
	p := startSipp(t, scenario, args...)
	return p, fmt.Sprintf("sip:agent@127.0.0.2:%d;transport=udp", port)
}

// trunkCall runs a SIPp trunk on 127.0.0.1 dialling number through the
// edge's UDP listener.
func (e *testEdge) trunkCall(t *testing.T, scenario, number string, extra ...string) *sippProc {
	t.Helper()
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.1")
	args := append([]string{e.udpAddr, "-i", "127.0.0.1", "-s", number, "-mp", mport}, extra...)
	return startSipp(t, scenario, args...)
}
