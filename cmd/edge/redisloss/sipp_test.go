package redisloss

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// sipp is a SIPp process of the test, run in a directory of its own.
type sipp struct{ *edgeproc.SIPp }

// startSipp runs sipp with scenario and args in a temporary directory.
func startSipp(t *testing.T, name, scenario string, args ...string) *sipp {
	t.Helper()
	return &sipp{edgeproc.StartSIPp(t, name, scenario, args...)}
}

// startService runs the SIPp service (answers every call, waits for BYE)
// on host and returns its target URI.
func startService(t *testing.T, host string) string {
	t.Helper()
	port := edgeproc.PortOf(edgeproc.FreeUDP(t, host))
	mport := edgeproc.SIPpMediaPort(t, host, port)
	startSipp(t, "sipp service", "../../../loadtest/sipp/uas_load.xml", "-i", host, "-p", port, "-mp", mport, "-rtp_echo", "-max_socket", "10000")
	time.Sleep(300 * time.Millisecond)
	return fmt.Sprintf("sip:agent@%s:%s;transport=udp", host, port)
}

// trunkRun is a SIPp trunk placing calls calls at rate per second to
// number through the edge at edgeSIP, from src, each held hold.
type trunkRun struct {
	name, edgeSIP, src, number string
	rate                       float64
	calls                      int
	hold                       time.Duration
}

// start runs it.
func (r trunkRun) start(t *testing.T) *sipp {
	t.Helper()
	port := edgeproc.PortOf(edgeproc.FreeUDP(t, r.src))
	return startSipp(t, r.name, "testdata/uac_short.xml", r.edgeSIP, "-s", r.number, "-i", r.src,
		"-p", port, "-mp", edgeproc.SIPpMediaPort(t, r.src, port),
		"-r", strconv.FormatFloat(r.rate, 'f', 1, 64), "-m", strconv.Itoa(r.calls), "-l", "2000",
		"-d", strconv.FormatInt(r.hold.Milliseconds(), 10), "-trace_stat", "-stf", "stat.csv", "-fd", "1",
		"-trace_err", "-timeout", "180s", "-recv_timeout", "20s", "-max_socket", "10000")
}

// sippStats are SIPp's own counts of a finished run.
type sippStats struct{ Created, Successful, Failed int }

// finish waits for the run to end and reads its counts.
func (s *sipp) finish(t *testing.T, d time.Duration) sippStats {
	t.Helper()
	s.Wait(t, d)
	data, err := os.ReadFile(filepath.Join(s.Dir, "stat.csv"))
	if err != nil {
		t.Fatalf("%s: no statistics: %v\n%s", s.Name, err, s.Log())
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				n, _ := strconv.Atoi(strings.TrimSpace(last[i]))
				return n
			}
		}
		t.Fatalf("%s: no %s in %s", s.Name, name, lines[0])
		return 0
	}
	st := sippStats{Created: get("TotalCallCreated"), Successful: get("SuccessfulCall(C)"), Failed: get("FailedCall(C)")}
	if st.Failed > 0 {
		t.Logf("%s errors:\n%s", s.Name, s.ErrorLog())
	}
	return st
}
