package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// shortSessionTimers is the test-only configuration of session timers:
// Min-SE 2 s (production: at least 90 s), so that a refresh takes seconds.
func shortSessionTimers(o *edgeOptions) {
	o.cfg = func(c *Config) {
		c.shortTimers, c.MinSE = true, 2*time.Second
	}
}

// TestSessionTimerEdgeRefreshes: a carrier with Session-Expires:
// 4;refresher=uas (90 in production) leaves the refresh to the edge,
// which sends UPDATE at half the interval, twice, before the carrier
// hangs up.
func TestSessionTimerEdgeRefreshes(t *testing.T) {
	e := newTestEdge(t, shortSessionTimers)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	start := time.Now()
	uac := e.trunkCall(t, "testdata/uac_session_timer_uas.xml", "+15551230001", "-key", "se", "4")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d (no refresh from the edge?)\n%s", code, logs)
	}
	if d := time.Since(start); d < 3500*time.Millisecond {
		t.Errorf("two refreshes within %v: not at half of 4 s", d)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestSessionTimerExpires: a carrier that is the refresher refreshes
// once, then stops; the edge ends the call on both legs
// (session_expired) before the interval runs out.
func TestSessionTimerExpires(t *testing.T) {
	e := newTestEdge(t, shortSessionTimers)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "testdata/uac_session_timer_stops.xml", "+15551230001", "-key", "se", "3")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d (no BYE on expiry?)\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (no BYE to the service?)\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonSessionExpired) {
		t.Errorf("reason = %v, want session_expired", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestSessionTimerRefusals: malformed Session-Expires and Min-SE are 400
// naming the header; an interval below Min-SE (production 90 s) is 422
// with Min-SE. No call is made.
func TestSessionTimerRefusals(t *testing.T) {
	e := newTestEdge(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:5999"})
	tests := []struct {
		name, extra string
		code        int
		reason      string
		header      string
	}{
		{"not a number", "Session-Expires: soon\r\n", 400, "Bad Session-Expires", ""},
		{"bad refresher", "Session-Expires: 1800;refresher=me\r\n", 400, "Bad Session-Expires", ""},
		{"too large", "Session-Expires: 99999999999\r\n", 400, "Bad Session-Expires", ""},
		{"bad Min-SE", "Session-Expires: 1800\r\nMin-SE: -5\r\n", 400, "Bad Min-SE", ""},
		{"too small", "Session-Expires: 60;refresher=uac\r\nSupported: timer\r\n", 422, "Session Interval Too Small", "Min-SE: 90"},
		{"compact form too small", "x: 30\r\n", 422, "Session Interval Too Small", "Min-SE: 90"},
	}
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := trunk.newInvite("+15551230001")
			inv.extra = tc.extra
			res, raw := trunk.call(t, inv, 3*time.Second)
			if res == nil || res.StatusCode != tc.code || res.Reason != tc.reason {
				t.Fatalf("got %v, want %d %s\n%s", res, tc.code, tc.reason, raw)
			}
			if tc.header != "" && !strings.Contains(string(raw), tc.header+"\r\n") {
				t.Errorf("no %q in\n%s", tc.header, raw)
			}
		})
	}
	if n := len(e.callEvents(t, ws)); n != 0 {
		t.Errorf("%d call events from refused INVITEs", n)
	}
	e.checkNoLeaks(t, ws)
}

func TestParseSessionExpires(t *testing.T) {
	tests := []struct {
		in        string
		secs      uint32
		refresher string
		ok        bool
	}{
		{"1800", 1800, "", true},
		{"90;refresher=uas", 90, "uas", true},
		{" 4 ; Refresher = UAC ; x=y", 4, "uac", true},
		{"0", 0, "", false},
		{"", 0, "", false},
		{"18 00", 0, "", false},
		{"1800;refresher", 0, "", false},
		{"1800;refresher=uac;refresher=uas", 0, "", false},
		{"1800;;", 0, "", false},
		{"4294967296", 0, "", false},
		{"+5", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.in), func(t *testing.T) {
			secs, r, err := parseSessionExpires(tc.in)
			if (err == nil) != tc.ok || secs != tc.secs || r != tc.refresher {
				t.Errorf("parseSessionExpires(%q) = %d %q %v", tc.in, secs, r, err)
			}
		})
	}
	for in, ok := range map[string]bool{"90": true, "90;x=1": true, "abc": false, "": false, "0": false, "90;<": false} {
		if _, err := parseMinSE(in); (err == nil) != ok {
			t.Errorf("parseMinSE(%q) err %v", in, err)
		}
	}
}

// TestSessionTimerServiceLeg: the service leg has its own timer; its 200
// decides who refreshes. The edge refreshes when named (UPDATE, the
// service allows it), and ends the call when the service owes a refresh
// and sends none.
func TestSessionTimerServiceLeg(t *testing.T) {
	tests := []struct {
		name, service, trunk string
		trunkArgs            []string
		want                 Reason
	}{
		{name: "edge refreshes the service", service: "testdata/uas_timer_edge_refreshes.xml", trunk: "uac_pcmu.xml",
			trunkArgs: []string{"-d", "3000"}, want: ReasonTrunkHangup},
		{name: "service stops refreshing", service: "testdata/uas_timer_stops.xml", trunk: "uac_wait_bye.xml", want: ReasonSessionExpired},
		{name: "service answers 422 with Min-SE", service: "testdata/uas_422.xml", trunk: "uac_pcmu.xml",
			trunkArgs: []string{"-d", "500"}, want: ReasonTrunkHangup},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t, shortSessionTimers)
			svc, target := startService(t, tc.service, "-key", "se", "4")
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
			uac := e.trunkCall(t, tc.trunk, "+15551230001", tc.trunkArgs...)
			if code, logs := uac.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("trunk sipp exit %d\n%s", code, logs)
			}
			if code, logs := svc.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("service sipp exit %d\n%s", code, logs)
			}
			if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(tc.want) {
				t.Errorf("reason = %v, want %s", got, tc.want)
			}
			e.checkNoLeaks(t, ws)
		})
	}
}

// TestSessionRefreshRetriedAfter422: the trunk refuses the edge's refresh
// with 422 and a Min-SE above the interval; the edge sends it again, CSeq
// one higher, with Session-Expires raised to that Min-SE (RFC 4028
// section 7.4), and the call goes on.
func TestSessionRefreshRetriedAfter422(t *testing.T) {
	e := newTestEdge(t, shortSessionTimers, func(o *edgeOptions) { o.mediaTimeout = 0 })
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	inv.extra = "Supported: timer\r\nSession-Expires: 4;refresher=uas\r\nAllow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n"
	trunk.send(t, inv.text(trunk.local()))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200 to the trunk")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))
	first := trunk.waitRequest(t, "UPDATE", 10*time.Second)
	if first == nil {
		t.Fatal("no refresh from the edge")
	}
	res := sip.NewResponseFromRequest(first, 422, "Session Interval Too Small", nil)
	res.AppendHeader(sip.NewHeader("Min-SE", "6"))
	trunk.send(t, res.String())
	again := trunk.waitRequest(t, "UPDATE", 5*time.Second)
	if again == nil {
		t.Fatal("the refresh was not sent again after 422")
	}
	if again.CSeq().SeqNo != first.CSeq().SeqNo+1 {
		t.Errorf("CSeq %d after %d, want one more", again.CSeq().SeqNo, first.CSeq().SeqNo)
	}
	if se := again.GetHeader("Session-Expires"); se == nil || !strings.HasPrefix(se.Value(), "6") {
		t.Fatalf("Session-Expires of the second refresh: %v, want 6 (the Min-SE)", se)
	}
	trunk.respond(t, again, 200, "OK")
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 2, "", ""))
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
}
