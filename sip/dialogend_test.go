package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/internal/edgeproc"
)

// startQuietService starts a SIPp service that does not echo RTP.
func startQuietService(t *testing.T, scenario string) (*sippProc, string) {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.2")
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.2", fmt.Sprint(port))
	p := startSipp(t, scenario, "-i", "127.0.0.2", "-p", fmt.Sprint(port), "-mp", mport)
	return p, fmt.Sprintf("sip:agent@127.0.0.2:%d;transport=udp", port)
}

// TestMediaTimeoutPerLeg: one leg sending audio does not keep a call alive
// whose other leg is silent; the end reason names the silent leg.
func TestMediaTimeoutPerLeg(t *testing.T) {
	tests := []struct {
		name, trunk, service string
		want                 Reason
	}{
		{name: "silent service", trunk: "testdata/uac_rtp_wait_bye.xml", service: "uas_answer.xml", want: ReasonMediaTimeoutService},
		{name: "silent trunk", trunk: "uac_wait_bye.xml", service: "testdata/uas_rtp.xml", want: ReasonMediaTimeoutTrunk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t, func(o *edgeOptions) { o.mediaTimeout = 1500 * time.Millisecond })
			svc, target := startQuietService(t, tc.service)
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
			uac := e.trunkCall(t, tc.trunk, "+15551230001")
			if code, logs := uac.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("trunk sipp exit %d (no BYE?)\n%s", code, logs)
			}
			if code, logs := svc.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("service sipp exit %d\n%s", code, logs)
			}
			d := e.waitEnded(t, ws, 1)[0]
			if d["reason"] != string(tc.want) {
				t.Errorf("reason = %v, want %s (%v)", d["reason"], tc.want, d)
			}
			e.checkNoLeaks(t, ws)
		})
	}
}

// TestNoAckFromTrunk: a trunk that never acknowledges the 200 gets a BYE
// after 64*T1, the service too (end reason no_ack).
func TestNoAckFromTrunk(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.cfg = func(c *Config) { c.T1 = 20 * time.Millisecond } })
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))
	start := time.Now()
	oks := 0
	var bye *sip.Request
	for bye == nil && time.Since(start) < 10*time.Second {
		msg, _ := trunk.recvMsg(t, 10*time.Second)
		switch m := msg.(type) {
		case *sip.Response:
			if m.StatusCode == 200 {
				oks++
			}
		case *sip.Request:
			if m.Method == sip.BYE {
				bye = m
			}
		}
	}
	if bye == nil {
		t.Fatal("no BYE to a trunk that never acknowledged")
	}
	if oks < 3 {
		t.Errorf("200 sent %d times, want retransmissions until the ACK", oks)
	}
	trunk.respond(t, bye, 200, "OK")
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonNoAck) {
		t.Errorf("reason = %v, want no_ack", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestEarlyByeGets487: a BYE in the trunk's early dialog is answered 200,
// its INVITE 487, and the service's INVITE is cancelled.
func TestEarlyByeGets487(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_noanswer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))
	ringing := trunk.waitResponse(t, 180, 10*time.Second)
	if ringing == nil {
		t.Fatal("no 180")
	}
	trunk.send(t, trunk.inDialog(inv, ringing, "BYE", 2, "", ""))
	var byeOK, terminated bool
	for !(byeOK && terminated) {
		msg, raw := trunk.recvMsg(t, 10*time.Second)
		res, ok := msg.(*sip.Response)
		if !ok {
			t.Fatalf("want 200 (BYE) and 487 (INVITE), got %v\n%s", msg, raw)
		}
		switch {
		case res.StatusCode == 200 && res.CSeq().MethodName == sip.BYE:
			byeOK = true
		case res.StatusCode == 487 && res.CSeq().MethodName == sip.INVITE:
			terminated = true
			trunk.ack(t, inv, res)
		case res.StatusCode >= 200:
			t.Fatalf("unexpected %d:\n%s", res.StatusCode, raw)
		}
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (no CANCEL?)\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v, want trunk_hangup", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestServiceAnswerCrossesCancel: the service's 200 crossing the edge's
// CANCEL is acknowledged and hung up (the SIPp service waits for both).
func TestServiceAnswerCrossesCancel(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_answer_after_cancel.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))
	if trunk.waitResponse(t, 180, 10*time.Second) == nil {
		t.Fatal("no 180")
	}
	trunk.send(t, fmt.Sprintf("CANCEL sip:%s@edge SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\nTo: <sip:%s@edge>\r\nCall-ID: %s\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		inv.number, trunk.local(), inv.branch, inv.fromTag, inv.number, inv.callID))
	res := trunk.waitResponse(t, 487, 10*time.Second)
	if res == nil {
		t.Fatal("no 487 for the cancelled INVITE")
	}
	trunk.ack(t, inv, res)
	if code, logs := svc.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (its 200 not ACKed and BYEd?)\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonCanceled) {
		t.Errorf("reason = %v, want canceled", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestServiceDialogMatching: the service's in-dialog requests are matched
// by Call-ID and tags, not by address: a BYE with a wrong tag from any
// address is 481, the right BYE from another node of the platform ends
// the call. In-dialog OPTIONS of the live call get 200, of the ended one
// 481, like those of a dialog that never existed.
func TestServiceDialogMatching(t *testing.T) {
	e := newTestEdge(t)
	svc, target := newRawService(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))
	svc.answer(t, freeUDPPort(t, "127.0.0.2"))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200 to the trunk")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))

	options := func(want int) {
		t.Helper()
		trunk.send(t, trunk.inDialog(inv, ok, "OPTIONS", 5, "", ""))
		if res := trunk.waitResponse(t, want, 5*time.Second); res == nil {
			t.Fatalf("in-dialog OPTIONS not answered %d", want)
		}
	}
	options(200)

	other := newRawTrunk(t, "127.0.0.3", e.udpAddr)
	other.send(t, svc.request("BYE", 2, "not-the-tag", svc.edgeTag(), other.local()))
	if res := other.waitResponse(t, 481, 5*time.Second); res == nil {
		t.Fatal("BYE with a wrong tag not answered 481")
	}
	other.send(t, svc.request("BYE", 2, svc.toTag, svc.edgeTag(), other.local()))
	if res := other.waitResponse(t, 200, 5*time.Second); res == nil {
		t.Fatal("BYE from another node of the service not answered 200")
	}
	bye := trunk.waitRequest(t, sip.BYE, 10*time.Second)
	if bye == nil {
		t.Fatal("no BYE to the trunk")
	}
	trunk.respond(t, bye, 200, "OK")
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonServiceHangup) {
		t.Errorf("reason = %v, want service_hangup", got)
	}
	options(481)
	stranger := *inv
	stranger.callID, stranger.fromTag = "never-existed@test", "nobody"
	trunk.send(t, trunk.inDialog(&stranger, ok, "OPTIONS", 1, "", ""))
	if res := trunk.waitResponse(t, 481, 5*time.Second); res == nil {
		t.Fatal("OPTIONS of an unknown dialog not answered 481")
	}
	if strings.Contains(svc.invite.String(), "127.0.0.1:"+strings.Split(trunk.local(), ":")[1]) {
		t.Error("the service saw the trunk's address")
	}
	e.checkNoLeaks(t, ws)
}

// TestByeRetransmitted: the edge's BYE is retransmitted (over UDP, by its
// client transaction, until Timer F) until the trunk answers it.
func TestByeRetransmitted(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_bye.xml", "-d", "300")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))
	first := trunk.waitRequest(t, sip.BYE, 10*time.Second)
	if first == nil {
		t.Fatal("no BYE")
	}
	again := trunk.waitRequest(t, sip.BYE, 5*time.Second)
	if again == nil {
		t.Fatal("an unanswered BYE was not retransmitted")
	}
	if b1, _ := first.Via().Params.Get("branch"); b1 == "" || func() string { b, _ := again.Via().Params.Get("branch"); return b }() != b1 {
		t.Errorf("retransmission is another transaction")
	}
	trunk.respond(t, again, 200, "OK")
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonServiceHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}
