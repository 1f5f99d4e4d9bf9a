package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

func TestAdmissionRefusals(t *testing.T) {
	e := newTestEdge(t)
	const dead = "sip:agent@127.0.0.2:5999;transport=udp" // never reached
	wsA := e.addWorkspace(t, wsSpec{name: "ClinicA", number: "+15551230001", cidr: "127.0.0.1/32", target: dead})
	wsB := e.addWorkspace(t, wsSpec{name: "ClinicB", number: "+15551230002", cidr: "127.0.0.5/32", target: dead})
	wsS := e.addWorkspace(t, wsSpec{name: "ClinicS", number: "+15551230003", cidr: "127.0.0.1/32", target: dead})
	wsD := e.addWorkspace(t, wsSpec{name: "ClinicD", number: "+15551230004", cidr: "127.0.0.1/32", target: dead, user: "carrierd", pass: "correct-horse-battery"})
	if _, err := e.store.UpdateWorkspace(context.Background(), tenancy.PlatformPrincipal, wsS, func(w *tenancy.Workspace) error {
		w.Status = tenancy.StatusSuspended
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "suspension", func() bool {
		r, ok := e.routes.Lookup("+15551230003")
		return ok && !r.Workspace.Active()
	})
	before := map[string]int{}
	for _, ws := range []string{wsA, wsB, wsS, wsD} {
		before[ws] = len(e.events(t, ws))
	}

	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	stranger := newRawTrunk(t, "127.0.0.9", e.udpAddr)
	tests := []struct {
		name   string
		from   *rawTrunk
		number string
		edit   func(*rawInvite)
		want   int
		check  func(t *testing.T, raw string)
	}{
		{name: "unknown number", from: trunk, number: "+15559990000", want: 404},
		{name: "number of another workspace", from: trunk, number: "+15551230002", want: 404},
		{name: "workspace suspended", from: trunk, number: "+15551230003", want: 403},
		{name: "digest challenge", from: trunk, number: "+15551230004", want: 407, check: func(t *testing.T, raw string) {
			if !strings.Contains(raw, "Proxy-Authenticate: Digest") || !strings.Contains(raw, `realm="edge"`) || !strings.Contains(raw, "nonce=") {
				t.Errorf("no digest challenge:\n%s", raw)
			}
		}},
		{name: "wrong credentials", from: trunk, number: "+15551230004", want: 407, edit: func(inv *rawInvite) {
			inv.extra = `Proxy-Authorization: Digest username="carrierd", realm="edge", nonce="bm9wZQ", uri="sip:+15551230004@edge", response="00000000000000000000000000000000"` + "\r\n"
		}},
		{name: "no codec in common", from: trunk, number: "+15551230001", want: 488, edit: func(inv *rawInvite) {
			inv.sdp = strings.NewReplacer("RTP/AVP 0 101", "RTP/AVP 18", "a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000").Replace(inv.sdp)
		}},
		// An INVITE without SDP is a delayed offer, bridged (offeranswer_test.go).
		{name: "offer without audio", from: trunk, number: "+15551230001", want: 488, edit: func(inv *rawInvite) {
			inv.sdp = strings.Replace(inv.sdp, "m=audio 49170 RTP/AVP 0 101", "m=video 49170 RTP/AVP 96", 1)
		}},
		{name: "malformed SDP", from: trunk, number: "+15551230001", want: 400, edit: func(inv *rawInvite) { inv.sdp = "v=0\r\nthis is not sdp\r\n" }},
		{name: "missing From tag", from: trunk, number: "+15551230001", want: 400, edit: func(inv *rawInvite) { inv.fromTag = "" }, check: func(t *testing.T, raw string) {
			if !strings.Contains(strings.SplitN(raw, "\r\n", 2)[0], "From") {
				t.Errorf("400 does not name the From header: %q", strings.SplitN(raw, "\r\n", 2)[0])
			}
		}},
		{name: "unknown source", from: stranger, number: "+15551230001", want: 403},
	}
	answers := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := tc.from.newInvite(tc.number)
			if tc.edit != nil {
				tc.edit(inv)
			}
			if inv.fromTag == "" {
				msg := strings.Replace(inv.text(tc.from.local()), ";tag=\r\n", "\r\n", 1)
				tc.from.send(t, msg)
				res, raw := tc.from.final(t, 3*time.Second)
				if res == nil || res.StatusCode != tc.want {
					t.Fatalf("got %v, want %d", res, tc.want)
				}
				if tc.check != nil {
					tc.check(t, string(raw))
				}
				return
			}
			res, raw := tc.from.call(t, inv, 3*time.Second)
			if res == nil {
				t.Fatalf("no answer, want %d", tc.want)
			}
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d:\n%s", res.StatusCode, tc.want, raw)
			}
			for _, leak := range []string{"ClinicB", wsB, "127.0.0.5", "127.0.0.2", "\nX-", "agent"} {
				if strings.Contains(string(raw), leak) {
					t.Errorf("answer leaks %q:\n%s", leak, raw)
				}
			}
			if tc.check != nil {
				tc.check(t, string(raw))
			}
			answers[tc.name] = normalized(raw, inv)
		})
	}
	if a, b := answers["unknown number"], answers["number of another workspace"]; a == "" || a != b {
		t.Errorf("404 answers differ:\n%q\n%q", a, b)
	}
	// Refused calls leave no record, slot or event in any workspace.
	for _, ws := range []string{wsA, wsB, wsS, wsD} {
		calls, _, err := e.store.ListCalls(context.Background(), ws, false, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 0 {
			t.Errorf("workspace %s has call records after refusals: %+v", ws, calls)
		}
		if n := len(e.events(t, ws)); n != before[ws] {
			t.Errorf("workspace %s got %d events from refused calls", ws, n-before[ws])
		}
	}
	for reason, want := range map[Reason]float64{ReasonNotFound: 2, ReasonSuspended: 1, ReasonAuthRequired: 1, ReasonAuthFailed: 1, ReasonNoCodec: 2, ReasonMalformed: 2, ReasonUnknownSource: 1} {
		if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(reason)}); got != want {
			t.Errorf("invites_total{rejected,%s} = %v, want %v", reason, got, want)
		}
	}
	e.checkNoLeaks(t, wsA, wsB, wsS, wsD)
}

func TestUnknownSourceDropped(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.cfg = func(c *Config) { c.DropUnknownSources = true } })
	e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:5999"})
	stranger := newRawTrunk(t, "127.0.0.9", e.udpAddr)
	for _, number := range []string{"+15551230001", "+15559990000"} {
		inv := stranger.newInvite(number)
		stranger.send(t, inv.text(stranger.local()))
		if res, raw := stranger.recv(t, time.Second); res != nil {
			t.Fatalf("unknown source got an answer:\n%s", raw)
		}
	}
	stranger.send(t, "OPTIONS sip:edge SIP/2.0\r\ngarbage\r\n\r\n")
	if res, _ := stranger.recv(t, 500*time.Millisecond); res != nil {
		t.Fatal("unknown source got an answer to garbage")
	}
	if got := e.counter(t, "edge_sip_dropped_total", map[string]string{"reason": "unknown_source"}); got < 3 {
		t.Errorf("dropped_total{unknown_source} = %v, want >= 3", got)
	}
	// A known trunk is still answered.
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	if res, _ := trunk.call(t, trunk.newInvite("+15559990000"), 3*time.Second); res == nil || res.StatusCode != 404 {
		t.Fatalf("known trunk: %v, want 404", res)
	}
}

// TestMalformedRequest: an unparsable request gets a stateless 400 and the
// edge goes on serving (torture_test.go sends the whole RFC 4475 corpus).
func TestMalformedRequest(t *testing.T) {
	e := newTestEdge(t)
	e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:5999"})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)

	t.Run("unparsable request gets 400", func(t *testing.T) {
		trunk.send(t, "INVITE sip:+15551230001@edge SIP/2.0\r\nVia: SIP/2.0/UDP "+trunk.local()+";branch=z9hG4bK-bad1\r\n"+
			"From: <sip:a@carrier>;tag=1\r\nTo: <sip:b@edge>\r\nCall-ID: bad1@test\r\nCSeq: 1 INVITE\r\n"+
			"Content-Length: 999\r\n\r\nshort")
		res, raw := trunk.final(t, 3*time.Second)
		if res == nil || res.StatusCode != 400 {
			t.Fatalf("got %v, want 400\n%s", res, raw)
		}
	})
	t.Run("still serving", func(t *testing.T) {
		trunk.send(t, "OPTIONS sip:edge SIP/2.0\r\nVia: SIP/2.0/UDP "+trunk.local()+";branch=z9hG4bK-opt1\r\n"+
			"From: <sip:a@carrier>;tag=1\r\nTo: <sip:edge@edge>\r\nCall-ID: opt1@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
		res, raw := trunk.final(t, 3*time.Second)
		if res == nil || res.StatusCode != 200 {
			t.Fatalf("OPTIONS keepalive: %v\n%s", res, raw)
		}
	})
}
