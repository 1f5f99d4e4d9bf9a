package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// TestCallThroughKamailio puts a real Kamailio in front of the edge as the
// carrier's SBC (127.0.0.4, the trunk's only CIDR): a SIPp carrier on
// 127.0.0.1 calls through it, the service (SIPp, echoing audio) puts the
// call on hold and resumes; the edge's re-INVITEs reach the carrier
// through Kamailio (the edge honours its Record-Route), the carrier's ACK
// and BYE come from Kamailio's address (loose routing), and audio flows
// both ways.
func TestCallThroughKamailio(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_hold.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.4/32", target: target})
	sbc := startKamailio(t, "127.0.0.4", e.udpAddr)
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.1")
	uac := startSipp(t, "testdata/uac_via_sbc.xml", sbc.addr, "-i", "127.0.0.1", "-s", "+15551230001", "-mp", fmt.Sprint(mport))
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("carrier sipp exit %d\n%s\n--- kamailio\n%s", code, logs, lastLines(sbc.logs(), 40))
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	d := e.waitEnded(t, ws, 1)[0]
	if d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", d["reason"])
	}
	pk, _ := d["packets"].(map[string]any)
	for _, k := range []string{"a_received", "b_received", "a_sent", "b_sent"} {
		if n, _ := pk[k].(float64); n < 10 {
			t.Errorf("packets %s = %v, want audio both ways: %v", k, pk[k], d)
		}
	}
	log := sbc.logs()
	for _, want := range []string{"sbc: INVITE", "sbc: ACK", "sbc: BYE"} {
		if !strings.Contains(log, want) {
			t.Errorf("kamailio never routed %q", want)
		}
	}
	if strings.Count(log, "sbc: INVITE") < 3 {
		t.Errorf("the edge's re-INVITEs did not go through kamailio:\n%s", lastLines(log, 30))
	}
	e.checkNoLeaks(t, ws)
}
