package multinode

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

// Load of TestRollingRestart: calls per second, their length, how many.
const (
	rollingCPS   = 10
	rollingHold  = 3 * time.Second
	rollingCalls = 300
)

// TestRollingRestartLosesNoCall: a carrier (Kamailio's dispatcher, failing
// over on 503 and on no answer, probing with OPTIONS) in front of three
// edges, SIPp calling through it at a steady rate; each edge in turn gets
// SIGTERM, drains (its calls finish, new ones go to the others), exits 0
// and is restarted with the same node id. SIPp counts no failed call and
// every call has exactly one record, ended by the carrier's BYE.
func TestRollingRestartLosesNoCall(t *testing.T) {
	s := newStack(t, stackOptions{maxCalls: 200, maxCPS: 100, env: map[string]string{"EDGE_DRAIN_TIMEOUT": "30s", "EDGE_LOG_LEVEL": "warn"}})
	var addrs []string
	for _, e := range s.edges {
		addrs = append(addrs, e.SIP)
	}
	sbc := edgeproc.StartKamailio(t, "127.0.0.1", addrs...)

	port := edgeproc.PortOf(edgeproc.FreeUDP(t, "127.0.0.1"))
	began := time.Now()
	load := edgeproc.StartSIPp(t, "carrier load", "testdata/uac_via_carrier.xml", sbc.Addr, "-i", "127.0.0.1",
		"-p", port, "-mp", edgeproc.SIPpMediaPort(t, "127.0.0.1", port), "-s", number,
		"-r", fmt.Sprint(rollingCPS), "-m", fmt.Sprint(rollingCalls), "-d", fmt.Sprint(rollingHold.Milliseconds()),
		"-l", "200", "-timeout", "120s", "-timeout_error", "-trace_err")
	time.Sleep(3 * time.Second)
	for _, e := range s.edges {
		restart(t, e, 30*time.Second)
		time.Sleep(2 * time.Second) // the carrier's probe puts it back in rotation
	}
	rolled := time.Since(began)
	code := load.Wait(t, rollingCalls/rollingCPS*time.Second+60*time.Second)
	ok, failed, found := load.Counts()
	t.Logf("SIPp: %d calls at %d/s, %v each, through Kamailio: %d successful, %d failed (exit %d); three edges restarted in %v; the carrier failed %d INVITEs over to another edge",
		rollingCalls, rollingCPS, rollingHold, ok, failed, code, rolled.Round(100*time.Millisecond), strings.Count(sbc.Log(), "next edge"))
	if code != 0 || !found || failed != 0 || ok != rollingCalls {
		t.Fatalf("SIPp: exit %d, %d successful, %d failed of %d", code, ok, failed, rollingCalls)
	}

	s.waitActive(t, 0, 10*time.Second)
	recs := allCalls(t, s)
	perNode, reasons := map[string]int{}, map[string]int{}
	for _, r := range recs {
		perNode[r.NodeID]++
		reasons[r.EndReason]++
		if r.State != tenancy.CallEnded {
			t.Errorf("call %s is %s", r.ID, r.State)
		}
	}
	t.Logf("records: %d, per node %v, end reasons %v", len(recs), perNode, reasons)
	if len(recs) != rollingCalls || reasons["trunk_hangup"] != rollingCalls {
		t.Fatalf("%d records (%v), want %d ended by trunk_hangup", len(recs), reasons, rollingCalls)
	}
}

// restart drains edge e with SIGTERM, checks it turns not ready and exits 0
// within d, and starts it again with the same node id.
func restart(t *testing.T, e *edgeproc.Edge, d time.Duration) {
	t.Helper()
	r, _, _ := edgeproc.ReadinessOf(e.Metrics)
	sent := time.Now()
	e.Signal(syscall.SIGTERM)
	edgeproc.WaitFor(t, 2*time.Second, e.Config.NodeID+" not ready", func() bool { return publicReady(e) != 200 })
	if code := e.Wait(t, d); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM", e.Config.NodeID, code)
	}
	drained := time.Since(sent)
	e.Restart(t)
	edgeproc.WaitNumbers(t, e.Metrics, 2, 20*time.Second)
	t.Logf("%s: %d calls up at SIGTERM, drained and exited 0 in %v, ready again %v after SIGTERM",
		e.Config.NodeID, r.ActiveCalls, drained.Round(10*time.Millisecond), time.Since(sent).Round(10*time.Millisecond))
}

// allCalls reads every call record of the workspace from Redis.
func allCalls(t *testing.T, s *stack) []tenancy.CallRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []tenancy.CallRecord
	seen := map[string]bool{}
	for cursor := ""; ; {
		page, next, err := s.store.ListCalls(ctx, s.ws.ID, false, cursor, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if seen[r.ID] {
				t.Fatalf("call %s listed twice", r.ID)
			}
			seen[r.ID] = true
			out = append(out, r)
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}
