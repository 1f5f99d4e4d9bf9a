package nodeloss

import (
	"bufio"
	"fmt"
	"net/http"
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
type sipp struct{ *edgeproc.SIPp }

// startSipp runs sipp with a scenario of loadtest/sipp (its tone beside it).
func startSipp(t *testing.T, scenario string, args ...string) *sipp {
	t.Helper()
	return &sipp{edgeproc.StartSIPp(t, "sipp "+scenario, filepath.Join("../../../loadtest/sipp", scenario), append([]string{"-trace_err"}, args...)...)}
}

// wait waits up to d for SIPp to exit and returns its exit code (-1 if it
// did not).
func (p *sipp) wait(d time.Duration) int { return p.ExitWithin(d) }

// service runs a SIPp UAS on host that answers every call and echoes its
// audio, and returns its target URI.
func service(t *testing.T, host string) string {
	t.Helper()
	port := edgeproc.PortOf(edgeproc.FreeUDP(t, host))
	mport := edgeproc.SIPpMediaPort(t, host, port)
	startSipp(t, "uas_answer.xml", "-i", host, "-p", port, "-mp", mport, "-rtp_echo")
	return "sip:agent@" + host + ":" + port + ";transport=udp"
}

// dial places calls calls from source src (a trunk address) through edge
// e to number, each streaming audio for hold and then hanging up.
func dial(t *testing.T, e *edgeproc.Edge, src, number string, calls int, hold time.Duration) *sipp {
	t.Helper()
	n := strconv.Itoa(calls)
	port := edgeproc.PortOf(edgeproc.FreeUDP(t, src))
	return startSipp(t, "uac_pcmu.xml", e.SIP, "-i", src, "-p", port,
		"-mp", edgeproc.SIPpMediaPort(t, src, port), "-s", number, "-m", n, "-l", n, "-r", "10",
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
