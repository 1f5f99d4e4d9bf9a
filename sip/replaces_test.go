package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func replacesRequest(values ...string) *sip.Request {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "edge", Host: "127.0.0.1"})
	for _, v := range values {
		req.AppendHeader(sip.NewHeader("Replaces", v))
	}
	return req
}

func TestParseReplaces(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   replacesHeader
		bad    bool
	}{
		{name: "RFC 3891 example", values: []string{"425928@bobster.example.org;to-tag=7743;from-tag=6472"},
			want: replacesHeader{callID: "425928@bobster.example.org", toTag: "7743", fromTag: "6472"}},
		{name: "early-only and spaces", values: []string{" abc ; from-tag = f1 ;TO-TAG=t1; early-only"},
			want: replacesHeader{callID: "abc", toTag: "t1", fromTag: "f1", earlyOnly: true}},
		{name: "generic parameter ignored", values: []string{"abc;to-tag=t;from-tag=f;x-foo=bar"},
			want: replacesHeader{callID: "abc", toTag: "t", fromTag: "f"}},
		{name: "two headers", values: []string{"a;to-tag=t;from-tag=f", "b;to-tag=t;from-tag=f"}, bad: true},
		{name: "none", bad: true},
		{name: "empty", values: []string{""}, bad: true},
		{name: "no call-id", values: []string{";to-tag=t;from-tag=f"}, bad: true},
		{name: "bad call-id", values: []string{"a b;to-tag=t;from-tag=f"}, bad: true},
		{name: "no to-tag", values: []string{"abc;from-tag=f"}, bad: true},
		{name: "no from-tag", values: []string{"abc;to-tag=t"}, bad: true},
		{name: "repeated to-tag", values: []string{"abc;to-tag=t;to-tag=u;from-tag=f"}, bad: true},
		{name: "empty tag", values: []string{"abc;to-tag=;from-tag=f"}, bad: true},
		{name: "tag with separators", values: []string{"abc;to-tag=t<x>;from-tag=f"}, bad: true},
		{name: "early-only with a value", values: []string{"abc;to-tag=t;from-tag=f;early-only=1"}, bad: true},
		{name: "list", values: []string{"a;to-tag=t;from-tag=f, b;to-tag=t;from-tag=f"}, bad: true},
		{name: "too long", values: []string{strings.Repeat("a", 600) + ";to-tag=t;from-tag=f"}, bad: true},
		{name: "control character", values: []string{"abc;to-tag=t\x01;from-tag=f"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail := parseReplaces(replacesRequest(tt.values...))
			if tt.bad {
				if detail == "" {
					t.Fatalf("accepted %q as %+v", tt.values, got)
				}
				return
			}
			if detail != "" || got != tt.want {
				t.Fatalf("got %+v %q, want %+v", got, detail, tt.want)
			}
		})
	}
}

func FuzzParseReplaces(f *testing.F) {
	for _, s := range []string{"425928@bob;to-tag=7743;from-tag=6472", "a;to-tag=t;from-tag=f;early-only", ";;;", "a@b@c;to-tag==;from-tag"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h, detail := parseReplaces(replacesRequest(v))
		if detail == "" && (h.callID == "" || h.toTag == "" || h.fromTag == "") {
			t.Fatalf("accepted %q with an empty part: %+v", v, h)
		}
	})
}

// TestReplacesServiceLeg: the service's side sends an INVITE with
// Replaces for its own dialog (a SIPp UAC on the service's address, as the
// party the agent brought in): the edge answers it, the caller's audio
// reaches the new party (it echoes the caller's tone back; the agent it
// replaces echoes nothing), the old leg gets BYE, and the call goes on
// under the same id until the caller hangs up.
func TestReplacesServiceLeg(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startAgent(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	caller := e.dialRaw(t, "+15551230001")
	if lvl := toneLevel(caller.say(t, 440, 400*time.Millisecond), 440, 8000); lvl > 500 {
		t.Fatalf("the agent echoes (%.0f) before the transfer: the test would prove nothing", lvl)
	}
	c := e.liveCall(t)
	oldID := c.svc().DialogID()
	nurse := e.startReplacer(t, "svc_replaces.xml", "127.0.0.2", replacesOf(t, c), "-rtp_echo")

	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("the replaced agent got no BYE: sipp exit %d\n%s", code, logs)
	}
	waitFor(t, 5*time.Second, "leg B replaced", func() bool { d := c.svc(); return d != nil && d.UAS() })
	t.Run("the caller's audio reaches the new party", func(t *testing.T) {
		caller.say(t, 440, 200*time.Millisecond) // the new party's echo latches
		heard := caller.say(t, 440, time.Second)
		if hits, n := toneWindows(heard, 8000, 440, 1500); n < 5 || hits < n*2/3 {
			t.Fatalf("the caller's tone came back in %d of %d windows", hits, n)
		}
	})
	t.Run("the old dialog is gone", func(t *testing.T) {
		if _, ok := e.srv.dialogs.leg(oldID); ok {
			t.Fatal("the replaced dialog is still in the cache")
		}
		if h, ok := e.srv.Call(c.id); !ok || h.ID != c.id {
			t.Fatalf("the call is not live under its id: %+v %v", h, ok)
		}
	})
	caller.hangup(t)
	if code, logs := nurse.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("new party sipp exit %d\n%s", code, logs)
	}
	d := e.waitEnded(t, ws, 1)[0]
	if d["reason"] != string(ReasonTrunkHangup) {
		t.Errorf("reason %v", d["reason"])
	}
	found := false
	for _, ev := range e.callEvents(t, ws) {
		if ev.Type == EventTransferred {
			found = strings.Contains(string(ev.Data), `"kind":"replaces"`) && ev.CallID == c.id
		}
	}
	if !found {
		t.Errorf("no call.transferred of kind replaces: %v", e.callEvents(t, ws))
	}
	if n := e.counter(t, "edge_sip_transfers_total", map[string]string{"result": "replaced"}); n != 1 {
		t.Errorf("transfers replaced = %v", n)
	}
	e.checkNoLeaks(t, ws)
}

// TestReplacesRefused: a Replaces for a dialog that is not the sender's
// own gets 481 (SIPp senders: an unknown dialog, the trunk's leg, the
// call's leg B named by another workspace's service), a malformed one
// 400, early-only for the confirmed dialog 486, one without an offer 488;
// after each the call is as it was: the agent keeps its leg and gets the
// BYE when the caller hangs up.
func TestReplacesRefused(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startAgent(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	other := e.addWorkspace(t, wsSpec{name: "Other", number: "+15551230002", cidr: "127.0.0.9/32", target: "sip:agent@127.0.0.3:5999"})
	caller := e.dialRaw(t, "+15551230001")
	c := e.liveCall(t)
	own := replacesOf(t, c)
	legB := c.svc().DialogID()

	for _, tc := range []struct{ name, ip, replaces string }{
		{"unknown dialog", "127.0.0.2", "nobody@nowhere;to-tag=x;from-tag=y"},
		{"the trunk's leg", "127.0.0.2", trunkReplaces(c)},
		{"another workspace's service", "127.0.0.3", own},
		{"tags swapped", "127.0.0.2", swapTags(own)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.startReplacer(t, "svc_replaces_refused.xml", tc.ip, tc.replaces)
			if code, logs := p.wait(t, 15*time.Second); code != 0 {
				t.Fatalf("no 481: sipp exit %d\n%s", code, logs)
			}
		})
	}
	raw := newRawTrunk(t, "127.0.0.2", e.udpAddr)
	for _, tc := range []struct {
		name, replaces, extra, sdp string
		want                       int
	}{
		{"malformed", own + ";to-tag=again", "", offerAt("127.0.0.2", 40000), 400},
		{"early-only for a confirmed dialog", own + ";early-only", "", offerAt("127.0.0.2", 40000), 486},
		{"no offer", own, "", "", 488},
		{"required extension other than replaces", own, "Require: replaces, foo\r\n", offerAt("127.0.0.2", 40000), 420},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := raw.newInvite("edge")
			inv.extra = "Replaces: " + tc.replaces + "\r\n" + tc.extra
			inv.sdp = tc.sdp
			res, msg := raw.call(t, inv, 5*time.Second)
			if res == nil || res.StatusCode != tc.want {
				t.Fatalf("answered %v, want %d\n%s", res, tc.want, msg)
			}
		})
	}
	if got := c.svc().DialogID(); got != legB {
		t.Fatalf("leg B changed: %s", got)
	}
	caller.hangup(t)
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("the agent lost its leg: sipp exit %d\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	for _, ev := range e.callEvents(t, ws) {
		if ev.Type == EventTransferred {
			t.Errorf("a refused Replaces transferred the call: %s", ev.Data)
		}
	}
	if evs := e.callEvents(t, other); len(evs) != 0 {
		t.Errorf("the other workspace got events: %v", evs)
	}
	if n := e.counter(t, "edge_sip_transfers_total", map[string]string{"result": "refused"}); n < 7 {
		t.Errorf("transfers refused = %v", n)
	}
	e.checkNoLeaks(t, ws, other)
}

// swapTags exchanges the to-tag and from-tag of a Replaces value.
func swapTags(v string) string {
	parts := strings.Split(v, ";")
	to, from := strings.TrimPrefix(parts[1], "to-tag="), strings.TrimPrefix(parts[2], "from-tag=")
	return fmt.Sprintf("%s;to-tag=%s;from-tag=%s", parts[0], from, to)
}

// TestRequireReplaces: Require: replaces is accepted on an INVITE with
// Replaces only; elsewhere it is an extension the edge lacks (420).
func TestRequireReplaces(t *testing.T) {
	with := replacesRequest("a;to-tag=t;from-tag=f")
	with.AppendHeader(sip.NewHeader("Require", "replaces"))
	if rej := checkRequire(with); rej != nil {
		t.Fatalf("INVITE with Replaces: %v", rej)
	}
	without := replacesRequest()
	without.AppendHeader(sip.NewHeader("Require", "replaces"))
	if rej := checkRequire(without); rej == nil || rej.Reason != ReasonBadExtension {
		t.Fatalf("INVITE without Replaces: %v", rej)
	}
	bye := sip.NewRequest(sip.BYE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
	bye.AppendHeader(sip.NewHeader("Replaces", "a;to-tag=t;from-tag=f"))
	bye.AppendHeader(sip.NewHeader("Require", "replaces"))
	if rej := checkRequire(bye); rej == nil {
		t.Fatal("BYE with Require: replaces accepted")
	}
}
