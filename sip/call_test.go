package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

func TestCallEndToEnd(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})

	uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "2000")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	ended := e.waitEnded(t, ws, 1)
	d := ended[0]
	if d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v, want trunk_hangup", d["reason"])
	}
	pk, _ := d["packets"].(map[string]any)
	for _, k := range []string{"a_received", "b_received", "a_sent", "b_sent"} {
		if n, _ := pk[k].(float64); n < 10 {
			t.Errorf("packets %s = %v, want RTP flowing both ways: %v", k, pk[k], d)
		}
	}
	var types []string
	for _, ev := range e.callEvents(t, ws) {
		types = append(types, ev.Type)
	}
	want := []string{tenancy.EventCallStarted, tenancy.EventCallAnswered, tenancy.EventCallEnded}
	if len(types) != 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Errorf("events = %v, want %v", types, want)
	}
	e.checkNoLeaks(t, ws)
}

func TestCallDigestThenAnswered(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.0/29", target: target, user: "carrier1", pass: "correct-horse-battery"})
	uac := e.trunkCall(t, "uac_auth.xml", "+15551230001", "-d", "500", "-au", "carrier1", "-ap", "correct-horse-battery")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": "auth_required"}); got != 1 {
		t.Errorf("auth_required = %v, want 1", got)
	}
	e.checkNoLeaks(t, ws)
}

func TestCallServiceFailures(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		want     int
		reason   Reason
		timeout  time.Duration
	}{
		{name: "service 5xx", scenario: "uas_5xx.xml", want: 503, reason: ReasonServiceDown},
		{name: "service busy", scenario: "uas_busy.xml", want: 486, reason: ReasonServiceBusy},
		{name: "service never answers", scenario: "uas_noanswer.xml", want: 480, reason: ReasonNoAnswer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t, func(o *edgeOptions) { o.cfg = func(c *Config) { c.NoAnswerTimeout = time.Second } })
			svc, target := startService(t, tc.scenario)
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target,
				limits: tenancy.Limits{MaxConcurrentCalls: 1}})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			start := time.Now()
			res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 10*time.Second)
			if res == nil || res.StatusCode != tc.want {
				t.Fatalf("got %v, want %d\n%s", res, tc.want, raw)
			}
			if res.GetHeader("Retry-After") != nil {
				t.Errorf("one service's failure answered with Retry-After (a carrier would back off the whole edge):\n%s", raw)
			}
			if tc.reason == ReasonNoAnswer && time.Since(start) < time.Second {
				t.Errorf("480 after %v, before the no-answer timer", time.Since(start))
			}
			for _, leak := range []string{"127.0.0.2", "secret-agent", "\nX-"} {
				if strings.Contains(string(raw), leak) {
					t.Errorf("answer leaks %q:\n%s", leak, raw)
				}
			}
			if code, logs := svc.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("service sipp exit %d\n%s", code, logs)
			}
			if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(tc.reason) {
				t.Errorf("end reason = %v, want %s", got, tc.reason)
			}
			e.checkNoLeaks(t, ws)
		})
	}
}

// TestCallFlows runs whole calls between a SIPp trunk and a SIPp service
// through the edge, one flow a case, and checks how each ends.
func TestCallFlows(t *testing.T) {
	tests := []struct {
		name        string
		service     []string // scenario and extra SIPp arguments
		trunk       string
		trunkHint   string // what a failing trunk scenario most likely means
		serviceHint string
		wantReason  Reason // "" when any reason will do
	}{
		{name: "service hangs up", service: []string{"uas_bye.xml", "-d", "500"}, trunk: "uac_wait_bye.xml",
			trunkHint: " (no BYE from the edge?)", wantReason: ReasonServiceHangup},
		{name: "cancelled by trunk", service: []string{"uas_noanswer.xml"}, trunk: "uac_cancel.xml",
			serviceHint: " (B leg not cancelled?)", wantReason: ReasonCanceled},
		{name: "hold and resume reach the service", service: []string{"testdata/uas_reinvite.xml"}, trunk: "uac_hold.xml",
			serviceHint: " (hold or resume not forwarded?)"},
		{name: "hold and resume by the service reach the trunk", service: []string{"testdata/uas_hold.xml"}, trunk: "testdata/uac_answer_reinvite.xml",
			trunkHint: " (hold or resume not forwarded?)"},
		{name: "offerless hold and resume by the service reach the trunk", service: []string{"testdata/uas_offerless_hold.xml"},
			trunk: "testdata/uac_answer_reinvite.xml", trunkHint: " (the ACK's answer not applied and carried?)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			svc, target := startService(t, tc.service[0], tc.service[1:]...)
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
			uac := e.trunkCall(t, tc.trunk, "+15551230001")
			if code, logs := uac.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("trunk sipp exit %d%s\n%s", code, tc.trunkHint, logs)
			}
			if code, logs := svc.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("service sipp exit %d%s\n%s", code, tc.serviceHint, logs)
			}
			ended := e.waitEnded(t, ws, 1)
			if got := ended[0]["reason"]; tc.wantReason != "" && got != string(tc.wantReason) {
				t.Errorf("reason = %v, want %s", got, tc.wantReason)
			}
			e.checkNoLeaks(t, ws)
		})
	}
}

func TestCallConcurrentLimit(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target,
		limits: tenancy.Limits{MaxConcurrentCalls: 1}})
	uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "1500")
	waitFor(t, 10*time.Second, "first call up", func() bool { return e.srv.ActiveCalls() == 1 })
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 5*time.Second)
	if res == nil || res.StatusCode != 486 {
		t.Fatalf("second call: %v, want 486\n%s", res, raw)
	}
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	e.checkNoLeaks(t, ws)
	// The slot is back: the next call is admitted (and fails at the now
	// absent service, which proves it passed the limit).
	res, raw = trunk.call(t, trunk.newInvite("+15551230001"), 40*time.Second)
	if res == nil || res.StatusCode == 486 {
		t.Fatalf("call after release: %v\n%s", res, raw)
	}
}

func TestCallHangupRequested(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	other := e.addWorkspace(t, wsSpec{name: "Other", number: "+15551230002", cidr: "127.0.0.5/32", target: target})
	uac := e.trunkCall(t, "uac_wait_bye.xml", "+15551230001")
	var id string
	waitFor(t, 10*time.Second, "answered call", func() bool {
		calls, _, _ := e.store.ListCalls(context.Background(), ws, true, "", 10)
		if len(calls) == 1 && calls[0].State == tenancy.CallAnswered {
			id = calls[0].ID
		}
		return id != ""
	})
	// Another workspace cannot hang it up: it does not exist there.
	if err := e.store.RequestHangup(context.Background(), other, id, "nope"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("hangup from another workspace: %v, want ErrNotFound", err)
	}
	if err := e.store.RequestHangup(context.Background(), ws, id, "operator"); err != nil {
		t.Fatal(err)
	}
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonHangupRequested) {
		t.Errorf("reason = %v", got)
	}
	rec, err := e.store.GetCall(context.Background(), ws, id)
	if err != nil || rec.State != tenancy.CallEnded || rec.EndReason != string(ReasonHangupRequested) {
		t.Errorf("record = %+v, %v", rec, err)
	}
	e.checkNoLeaks(t, ws, other)
}

func TestCallMediaTimeout(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.mediaTimeout = time.Second })
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "uac_wait_bye.xml", "+15551230001")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonMediaTimeoutTrunk) { // both silent: the trunk is named
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

func TestCallMaxDurationWithLeaseRenewal(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) { c.MaxDuration, c.LeaseTTL = 3*time.Second, time.Second }
	})
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "uac_wait_bye.xml", "+15551230001")
	waitFor(t, 10*time.Second, "call up", func() bool { return e.srv.ActiveCalls() == 1 })
	time.Sleep(2 * time.Second) // twice the lease: only renewal keeps it
	if n, err := e.store.ActiveCalls(context.Background(), ws); err != nil || n != 1 {
		t.Fatalf("active calls in Redis after 2 leases = %d, %v; want 1 (lease renewed)", n, err)
	}
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonMaxDuration) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

func TestCallOverTCP(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.1")
	uac := startSipp(t, "uac_pcmu.xml", e.tcpAddr, "-t", "t1", "-i", "127.0.0.1", "-s", "+15551230001", "-mp", fmt.Sprint(mport), "-d", "1000")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}
