package sip

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCarrierLoadOneAddress is issue 14's carrier case: 200 calls/s for 5 s
// from ONE carrier address carrying two workspaces' numbers (one trunk per
// workspace, both containing the address, default budget 500/s each). The
// address sends INVITE, ACK and BYE, some 600 requests/s: in-dialog
// requests never count, each trunk's INVITEs stay within its own budget,
// so every call completes, nothing is dropped or refused.
func TestCarrierLoadOneAddress(t *testing.T) {
	const rate, calls = 200, 1000
	e := newTestEdge(t, func(o *edgeOptions) { o.rtpPorts = [2]int{30000, 33999} })
	svc, target := startService(t, "uas_load.xml", "-m", strconv.Itoa(calls))
	a := e.addWorkspace(t, wsSpec{name: "A", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	b := e.addWorkspace(t, wsSpec{name: "B", number: "+15551230002", cidr: "127.0.0.1/32", target: target})

	dir := t.TempDir()
	inf := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\n+15551230001;\n+15551230002;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stat := filepath.Join(dir, "stat.csv")
	trunk := e.trunkCall(t, "uac_load.xml", "unused", "-inf", inf, "-r", strconv.Itoa(rate), "-m", strconv.Itoa(calls),
		"-l", "400", "-d", "100", "-trace_stat", "-stf", stat, "-fd", "1")
	code, logs := trunk.wait(t, 60*time.Second)
	if code != 0 {
		t.Fatalf("sipp trunk exit %d\n%s", code, logs)
	}
	// The service SIPp is left to the cleanup: it may still hold calls in
	// their final timewait; the edge's counters and leak check below are
	// the service side's account.
	_ = svc
	st := lastStats(t, stat)
	t.Logf("carrier load: %s calls at %d/s from one address: successful %s, failed %s, retransmissions %s",
		st["TotalCallCreated"], rate, st["SuccessfulCall(C)"], st["FailedCall(C)"], st["Retransmissions(C)"])
	if st["FailedCall(C)"] != "0" || st["SuccessfulCall(C)"] != strconv.Itoa(calls) {
		t.Errorf("sipp: %s successful, %s failed, want %d and 0", st["SuccessfulCall(C)"], st["FailedCall(C)"], calls)
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "accepted"}); got != calls {
		t.Errorf("accepted %v INVITEs, want %d", got, calls)
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected"}); got != 0 {
		for reason := range responses {
			if n := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(reason)}); n > 0 {
				t.Logf("rejected %s: %v", reason, n)
			}
		}
		t.Errorf("rejected %v INVITEs, want 0", got)
	}
	if got := e.counter(t, "edge_sip_dropped_total", nil); got != 0 {
		t.Errorf("dropped %v requests, want 0", got)
	}
	if got := e.counter(t, "edge_sip_requests_refused_total", nil); got != 0 {
		t.Errorf("refused %v requests, want 0", got)
	}
	// Known issue of the dialog layer (issue 14 item 6, not of admission):
	// under load with the race detector a trunk's ACK can cross the 200
	// being sent, and the call then waits in answerTrunk until Timer H
	// (64*T1, 32 s) although the carrier already hung up. Such calls are
	// logged here and must still end by themselves; the carrier saw none of
	// it (every call above succeeded). Such a call ends by Timer H (32 s)
	// and then a BYE nobody answers (Timer F, 32 s more).
	time.Sleep(2 * time.Second)
	if n, _, _ := e.srv.dialogs.sizes(); n > 0 {
		t.Logf("%d calls still up 2 s after the carrier's last BYE:", n)
		logStuck(t, e)
		waitFor(t, 100*time.Second, "the calls to end", func() bool { n, _, _ := e.srv.dialogs.sizes(); return n == 0 })
	}
	e.checkNoLeaks(t, a, b)
}

// lastStats returns the last row of a SIPp -trace_stat file by column.
// logStuck logs the state of the calls still up (for the report of a
// failure of the dialog layer under load).
func logStuck(t *testing.T, e *testEdge) {
	for _, c := range e.srv.dialogs.all() {
		c.mu.Lock()
		t.Logf("still up: %s state=%s aUp=%v bUp=%v legs=%d age=%v", c.id, c.rec.State, c.aUp, c.bUp, len(c.legIDs), time.Since(c.start).Round(time.Millisecond))
		c.mu.Unlock()
	}
}

func lastStats(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("sipp statistics: %v", err)
	}
	r := csv.NewReader(strings.NewReader(string(data)))
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("sipp statistics %q: %v", data, err)
	}
	out := map[string]string{}
	last := rows[len(rows)-1]
	for i, name := range rows[0] {
		if i < len(last) {
			out[name] = last[i]
		}
	}
	return out
}
