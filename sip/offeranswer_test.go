package sip

import (
	"testing"
	"time"
)

// TestDelayedOffer runs a CUCM delayed-offer call (testdata/
// uac_delayed_offer.xml): the edge offers in its 200, takes the answer
// from the ACK, and audio flows both ways through the relay (the service
// echoes it).
func TestDelayedOffer(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "testdata/uac_delayed_offer.xml", "+15551230001", "-d", "2000")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	d := e.waitEnded(t, ws, 1)[0]
	if d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v, want trunk_hangup", d["reason"])
	}
	pk, _ := d["packets"].(map[string]any)
	for _, k := range []string{"a_received", "b_received", "a_sent", "b_sent"} {
		if n, _ := pk[k].(float64); n < 10 {
			t.Errorf("packets %s = %v, want RTP flowing both ways: %v", k, pk[k], d)
		}
	}
	e.checkNoLeaks(t, ws)
}

// TestDelayedOfferAckWithoutAnswer: an ACK without the answer to the
// edge's offer ends the call with BYE on both legs (no_answer_sdp).
func TestDelayedOfferAckWithoutAnswer(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "testdata/uac_delayed_no_answer.xml", "+15551230001")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d (no BYE from the edge?)\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (no BYE to the service?)\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonNoAnswerSDP) {
		t.Errorf("reason = %v, want %s", got, ReasonNoAnswerSDP)
	}
	e.checkNoLeaks(t, ws)
}
