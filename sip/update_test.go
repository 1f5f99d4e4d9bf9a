package sip

import (
	"strings"
	"testing"
	"time"
)

// TestUpdateEarlyAndConfirmed: an UPDATE of the trunk's early dialog
// moves its media before the answer (answered at the edge); in the
// confirmed dialog an UPDATE without SDP is a refresh answered 200 without
// body, and a hold by UPDATE reaches the service, as UPDATE since it
// allows it, and its answer comes back.
func TestUpdateEarlyAndConfirmed(t *testing.T) {
	// Neither side sends RTP: the media timeout is not under test here, and
	// a loaded machine must not let it end the call between the steps.
	e := newTestEdge(t, func(o *edgeOptions) { o.mediaTimeout = 0 })
	svc, target := startService(t, "testdata/uas_update.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	rtp1, rtp2 := listenRTP(t), listenRTP(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = sdpOn(portOf(rtp1), 1, "sendrecv")
	trunk.send(t, inv.text(trunk.local()))
	ringing := trunk.waitResponse(t, 180, 10*time.Second)
	if ringing == nil {
		t.Fatal("no 180")
	}
	trunk.send(t, trunk.inDialog(inv, ringing, "UPDATE", 2, "", sdpOn(portOf(rtp2), 2, "sendrecv")))
	early := trunk.waitResponse(t, 200, 5*time.Second)
	if early == nil || early.CSeq().MethodName != "UPDATE" || len(early.Body()) == 0 {
		t.Fatalf("early UPDATE not answered 200 with SDP: %v", early)
	}
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil || ok.CSeq().MethodName != "INVITE" {
		t.Fatalf("no 200 to the INVITE: %v", ok)
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))
	if !strings.Contains(ok.GetHeader("Allow").Value(), "UPDATE") {
		t.Errorf("Allow of the 200 lacks UPDATE: %s", ok.GetHeader("Allow").Value())
	}

	trunk.send(t, trunk.inDialog(inv, ok, "UPDATE", 3, "", ""))
	refresh := trunk.waitResponse(t, 200, 5*time.Second)
	if refresh == nil || len(refresh.Body()) != 0 {
		t.Fatalf("UPDATE without SDP: %v, want 200 without body", refresh)
	}
	// Bad input is refused with the header or body named, and the call
	// goes on.
	for i, bad := range []struct {
		extra, body string
		code        int
		reason      string
	}{
		{"Session-Expires: often\r\n", "", 400, "Bad Session-Expires"},
		{"Session-Expires: 30\r\n", "", 422, "Session Interval Too Small"},
		{"", "v=0\r\nthis is not sdp\r\n", 400, "Bad Request (SDP body)"},
	} {
		trunk.send(t, trunk.inDialog(inv, ok, "UPDATE", 10+i, bad.extra, bad.body))
		res := trunk.waitResponse(t, bad.code, 5*time.Second)
		if res == nil || res.Reason != bad.reason {
			t.Fatalf("bad UPDATE %q/%q: %v, want %d %s", bad.extra, bad.body, res, bad.code, bad.reason)
		}
	}
	trunk.send(t, trunk.inDialog(inv, ok, "UPDATE", 20, "", sdpOn(portOf(rtp2), 3, "sendonly")))
	held := trunk.waitResponse(t, 200, 10*time.Second)
	if held == nil || !strings.Contains(string(held.Body()), "a=recvonly") {
		t.Fatalf("hold by UPDATE: %v, want 200 a=recvonly (the service's answer)", held)
	}
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 21, "", ""))
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestUpdateEarlyFromService: the service's UPDATE in its early dialog
// (before its 200) finds the call and is answered by the edge with the
// codec it offered (PCMA; the relay transcodes to the trunk's PCMU), and
// the call's audio flows both ways afterwards.
func TestUpdateEarlyFromService(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_early_update.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "1500")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (early UPDATE not answered?)\n%s", code, logs)
	}
	d := e.waitEnded(t, ws, 1)[0]
	if d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", d["reason"])
	}
	pk, _ := d["packets"].(map[string]any)
	for _, k := range []string{"a_received", "b_received", "a_sent", "b_sent"} {
		if n, _ := pk[k].(float64); n < 10 {
			t.Errorf("packets %s = %v, want audio both ways through PCMA/PCMU: %v", k, pk[k], d)
		}
	}
	e.checkNoLeaks(t, ws)
}
