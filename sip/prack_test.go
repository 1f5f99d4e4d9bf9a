package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestIMS100rel runs an IMS call through the edge: the trunk requires
// 100rel, the service sends a reliable 183 with early media; both 183s
// are PRACKed, early media and then the call's audio flow both ways.
func TestIMS100rel(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_early_100rel.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "testdata/uac_ims_100rel.xml", "+15551230001", "-d", "1000")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
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
		if n, _ := pk[k].(float64); n < 20 {
			t.Errorf("packets %s = %v, want early media and audio both ways: %v", k, pk[k], d)
		}
	}
	e.checkNoLeaks(t, ws)
}

// TestReliableProvisional drives the trunk side of RFC 3262 by hand: the
// reliable 183 is retransmitted with its RSeq until PRACKed, a PRACK of
// another RSeq gets 481, a malformed RAck 400 "Bad RAck", the right PRACK
// 200.
func TestReliableProvisional(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.cfg = func(c *Config) { c.T1 = 50 * time.Millisecond } })
	svc, target := startService(t, "uas_early.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	inv.extra = "Supported: 100rel\r\n"
	trunk.send(t, inv.text(trunk.local()))
	var first *sip.Response
	seen := 0
	deadline := time.Now().Add(5 * time.Second)
	for seen < 3 && time.Now().Before(deadline) {
		res := trunk.waitResponse(t, 183, time.Until(deadline))
		if res == nil {
			break
		}
		if first == nil {
			first = res
		} else if res.GetHeader("RSeq").Value() != first.GetHeader("RSeq").Value() {
			t.Fatalf("retransmission with another RSeq: %s vs %s", res.GetHeader("RSeq").Value(), first.GetHeader("RSeq").Value())
		}
		seen++
	}
	if first == nil || seen < 3 {
		t.Fatalf("reliable 183 seen %d times, want retransmissions until the PRACK", seen)
	}
	if h := first.GetHeader("Require"); h == nil || !strings.Contains(h.Value(), "100rel") || len(first.Body()) == 0 {
		t.Fatalf("183 is not reliable with SDP:\n%s", first.String())
	}
	rseq, err := parseRSeq(first.GetHeader("RSeq").Value())
	if err != nil {
		t.Fatal(err)
	}
	prack := func(cseq int, rack string, want int) {
		t.Helper()
		trunk.send(t, trunk.inDialog(inv, first, "PRACK", cseq, "RAck: "+rack+"\r\n", ""))
		res := trunk.waitResponse(t, want, 3*time.Second)
		if res == nil {
			t.Fatalf("PRACK with RAck %q not answered %d", rack, want)
		}
		if want == 400 && res.Reason != "Bad RAck" {
			t.Errorf("400 reason %q, want Bad RAck", res.Reason)
		}
	}
	prack(2, fmt.Sprintf("%d 1 INVITE", rseq+7), 481)
	prack(3, "one 1 INVITE", 400)
	prack(4, fmt.Sprintf("%d 1 INVITE", rseq), 200)
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil || ok.CSeq().MethodName != sip.INVITE {
		t.Fatalf("no 200 to the INVITE: %v", ok)
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 5, "", ""))
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestReliableProvisionalNeverPracked: 64*T1 without PRACK refuses the
// INVITE with 500 and cancels the service's.
func TestReliableProvisionalNeverPracked(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.cfg = func(c *Config) { c.T1 = 20 * time.Millisecond } })
	svc, target := startService(t, "uas_noanswer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	inv.extra = "Require: 100rel\r\n"
	trunk.send(t, inv.text(trunk.local()))
	res := trunk.waitResponse(t, 500, 10*time.Second)
	if res == nil {
		t.Fatal("no 500 after 64*T1 without PRACK")
	}
	trunk.ack(t, inv, res)
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (not cancelled?)\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonNoPrack) {
		t.Errorf("reason = %v, want no_prack", got)
	}
	e.checkNoLeaks(t, ws)
}

func TestParseRAck(t *testing.T) {
	tests := []struct {
		in         string
		rseq, cseq uint32
		method     string
		ok         bool
	}{
		{"776656 1 INVITE", 776656, 1, "INVITE", true},
		{" 1  314159  INVITE ", 1, 314159, "INVITE", true},
		{"0 1 INVITE", 0, 0, "", false},
		{"1 INVITE", 0, 0, "", false},
		{"4294967296 1 INVITE", 0, 0, "", false},
		{"1 2147483648 INVITE", 0, 0, "", false},
		{"1 1 INV<ITE", 0, 0, "", false},
		{"-1 1 INVITE", 0, 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, c, m, err := parseRAck(tc.in)
			if (err == nil) != tc.ok || r != tc.rseq || c != tc.cseq || m != tc.method {
				t.Errorf("parseRAck(%q) = %d %d %q %v", tc.in, r, c, m, err)
			}
		})
	}
}

// TestDelayedOfferWith100rel: after an INVITE without SDP the first
// reliable response would have to carry the edge's offer (RFC 3261
// section 13.2.1), so a trunk that supports 100rel gets its ringing
// unreliably, and one that requires it gets no 18x at all; either way the
// offer comes in the 200 and the answer in the ACK.
func TestDelayedOfferWith100rel(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		ringing      bool
	}{
		{"supported", "Supported: 100rel\r\n", true},
		{"required", "Require: 100rel\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t, func(o *edgeOptions) { o.mediaTimeout = 0 })
			svc, target := startService(t, "uas_answer.xml")
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			rtp := listenRTP(t)
			inv := trunk.newInvite("+15551230001")
			inv.extra, inv.sdp = tc.header, ""
			trunk.send(t, inv.text(trunk.local()))
			var ok *sip.Response
			ringing := 0
			for deadline := time.Now().Add(10 * time.Second); ok == nil && time.Now().Before(deadline); {
				msg, _ := trunk.recvMsg(t, time.Until(deadline))
				res, isRes := msg.(*sip.Response)
				switch {
				case msg == nil:
					t.Fatal("no 200 to the INVITE")
				case !isRes || res.StatusCode == 100:
				case res.StatusCode < 200:
					ringing++
					if res.GetHeader("RSeq") != nil || hasOptionTag(res, "Require", "100rel") {
						t.Fatalf("a reliable %d after a delayed offer:\n%s", res.StatusCode, res)
					}
				case res.StatusCode == 200:
					ok = res
				default:
					t.Fatalf("INVITE answered %d", res.StatusCode)
				}
			}
			if (ringing > 0) != tc.ringing {
				t.Errorf("%d provisional responses, want some: %v", ringing, tc.ringing)
			}
			if ok == nil || !strings.Contains(string(ok.Body()), "m=audio") {
				t.Fatalf("200 without the edge's offer: %v", ok)
			}
			trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", sdpOn(portOf(rtp), 1, "sendrecv")))
			trunk.send(t, trunk.inDialog(inv, ok, "BYE", 2, "", ""))
			if res := trunk.waitResponse(t, 200, 5*time.Second); res == nil {
				t.Fatal("BYE not answered")
			}
			if code, logs := svc.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("service sipp exit %d\n%s", code, logs)
			}
			if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
				t.Errorf("reason = %v, want trunk_hangup (the ACK's answer taken)", got)
			}
		})
	}
}
