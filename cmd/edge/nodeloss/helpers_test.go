package nodeloss

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

// sipp is a running SIPp (a trunk's caller or the workspace's service),
// killed at cleanup.
type sipp struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// startSipp runs sipp with a scenario of loadtest/sipp, in a temporary
// directory that holds the tone it streams.
func startSipp(t *testing.T, scenario string, args ...string) *sipp {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (run scripts/install-deps.sh): %v", err)
	}
	scenarios, err := filepath.Abs("../../../loadtest/sipp")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wav, err := os.ReadFile(filepath.Join(scenarios, "pcmu_tone.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pcmu_tone.wav"), wav, 0o644); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"-sf", filepath.Join(scenarios, scenario), "-nostdin", "-trace_err"}, args...)
	p := &sipp{cmd: exec.Command(bin, full...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
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

// wait waits up to d for SIPp to exit and returns its exit code (-1 if it
// did not).
func (p *sipp) wait(d time.Duration) int {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		return -1
	}
}

// service runs a SIPp UAS on host that answers every call and echoes its
// audio, and returns its target URI.
func service(t *testing.T, host string) string {
	t.Helper()
	port, mport := edgeproc.PortOf(edgeproc.FreeUDP(t, host)), edgeproc.PortOf(edgeproc.FreeUDP(t, host))
	startSipp(t, "uas_answer.xml", "-i", host, "-p", port, "-mp", mport, "-rtp_echo")
	return "sip:agent@" + host + ":" + port + ";transport=udp"
}

// dial places calls calls from source src (a trunk address) through edge
// e to number, each streaming audio for hold and then hanging up.
func dial(t *testing.T, e *edgeproc.Edge, src, number string, calls int, hold time.Duration) *sipp {
	t.Helper()
	n := strconv.Itoa(calls)
	return startSipp(t, "uac_pcmu.xml", e.SIP, "-i", src, "-p", edgeproc.PortOf(edgeproc.FreeUDP(t, src)),
		"-mp", edgeproc.PortOf(edgeproc.FreeUDP(t, src)), "-s", number, "-m", n, "-l", n, "-r", "10",
		"-d", strconv.FormatInt(hold.Milliseconds(), 10), "-timeout", "120s")
}

// calls are the workspace's call records, through the admin API; active
// only those holding a live lease.
func calls(t *testing.T, a *edgeproc.Admin, ws edgeproc.Workspace, active bool) []tenancy.CallRecord {
	t.Helper()
	var page struct {
		Items []tenancy.CallRecord `json:"items"`
	}
	edgeproc.Call(t, "GET", fmt.Sprintf("%s/v1/workspaces/%s/calls?active=%v&limit=100", a.URL, ws.ID, active), ws.OwnerAPIKey, nil, 200, &page)
	return page.Items
}

// byNode keeps the records of node (all of them with node "").
func byNode(recs []tenancy.CallRecord, node, state string) []tenancy.CallRecord {
	var out []tenancy.CallRecord
	for _, r := range recs {
		if (node == "" || r.NodeID == node) && (state == "" || r.State == state) {
			out = append(out, r)
		}
	}
	return out
}

// eventually polls cond every 100 ms until it holds, or fails t after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// metric sums the samples of the edge's metric name whose labels contain
// every one of labels (`reason="concurrent_limit"`).
func metric(t *testing.T, e *edgeproc.Edge, name string, labels ...string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + e.Metrics + "/metrics")
	if err != nil {
		t.Fatalf("metrics of %s: %v", e.Config.NodeID, err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		sum += v
	}
	return sum
}
