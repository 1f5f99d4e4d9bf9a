package sip

import (
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// TestMediaShareLeavesRoomForOthers: a workspace at its share of this
// node's media ports (here one call) gets 486 for its next call, while
// another workspace's call on the same node is answered; the place comes
// back when the call ends.
func TestMediaShareLeavesRoomForOthers(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.cfg = func(c *Config) { c.MaxCallsPerWorkspace = 1 } })
	svcA, targetA := startService(t, "uas_answer.xml")
	svcB, targetB := startService(t, "uas_answer.xml")
	wsA := e.addWorkspace(t, wsSpec{name: "Alpha", number: "+15551230001", cidr: "127.0.0.1/32", target: targetA})
	wsB := e.addWorkspace(t, wsSpec{name: "Beta", number: "+15551230002", cidr: "127.0.0.3/32", target: targetB})

	uacA := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "2000")
	waitFor(t, 10*time.Second, "A's call up", func() bool { return e.srv.ActiveCalls() == 1 })
	trunkA := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	if res, raw := trunkA.call(t, trunkA.newInvite("+15551230001"), 5*time.Second); res == nil || res.StatusCode != 486 {
		t.Fatalf("A's second call: %v, want 486\n%s", res, raw)
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(ReasonConcurrentLimit)}); got != 1 {
		t.Errorf("concurrent_limit rejections = %v, want 1", got)
	}
	uacB := startSipp(t, "uac_pcmu.xml", e.udpAddr, "-i", "127.0.0.3", "-s", "+15551230002",
		"-mp", edgeproc.SIPpMediaPort(t, "127.0.0.3"), "-d", "200")
	if code, logs := uacB.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("B's call while A holds its share: sipp exit %d\n%s", code, logs)
	}
	for _, p := range []*sippProc{uacA, svcA, svcB} {
		if code, logs := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("sipp exit %d\n%s", code, logs)
		}
	}
	e.waitEnded(t, wsA, 1)
	e.waitEnded(t, wsB, 1)
	if n := len(e.srv.shares.byWS); n != 0 {
		t.Fatalf("%d workspaces still hold media places after their calls ended", n)
	}
}
