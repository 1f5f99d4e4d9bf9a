package sip

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/tenancy"
)

// TestLateInviteCopyOfAnEndedCallIsAbsorbed: the edge ends a call's
// INVITE transaction with its dialog, whichever side hangs up; a copy of
// that INVITE arriving afterwards (a retransmission the network delayed)
// gets no answer and starts no second call, as the Accepted transaction
// would have absorbed it (RFC 6026 section 7.1), while a new INVITE of the
// same trunk still connects.
func TestLateInviteCopyOfAnEndedCallIsAbsorbed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		service  []string
		trunkBye bool
	}{
		{name: "trunk hangs up", service: []string{"uas_answer.xml", "-m", "2"}, trunkBye: true},
		{name: "service hangs up", service: []string{"uas_bye.xml", "-d", "300", "-m", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			_, target := startService(t, tc.service[0], tc.service[1:]...)
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			inv := trunk.newInvite("+15551230001")
			res, raw := trunk.call(t, inv, 10*time.Second)
			if res == nil || res.StatusCode != 200 {
				t.Fatalf("got %v, want 200\n%s", res, raw)
			}
			if tc.trunkBye {
				trunk.hangup(t, inv, res) // ACK, BYE, its 200
			} else {
				trunk.ackWith(t, inv, res, "")
				bye := trunk.waitRequest(t, sip.BYE, 10*time.Second)
				if bye == nil {
					t.Fatal("no BYE from the edge after the service hung up")
				}
				trunk.respond(t, bye, 200, "OK")
			}
			e.waitEnded(t, ws, 1)
			time.Sleep(200 * time.Millisecond) // the INVITE transaction is ended
			for trunk.drain() {
			}

			trunk.send(t, inv.text(trunk.local())) // the late copy
			if res, raw := trunk.recv(t, 1500*time.Millisecond); res != nil {
				t.Fatalf("a late copy of an ended call's INVITE was answered:\n%s", raw)
			}
			again := trunk.newInvite("+15551230001")
			res, raw = trunk.call(t, again, 10*time.Second)
			if res == nil || res.StatusCode != 200 {
				t.Fatalf("a new INVITE after the copy: %v\n%s", res, raw)
			}
			if tc.trunkBye {
				trunk.hangup(t, again, res)
			} else {
				trunk.ackWith(t, again, res, "")
				if bye := trunk.waitRequest(t, sip.BYE, 10*time.Second); bye != nil {
					trunk.respond(t, bye, 200, "OK")
				}
			}
			e.waitEnded(t, ws, 2)
			started := 0
			for _, ev := range e.events(t, ws) {
				if ev.Type == tenancy.EventCallStarted {
					started++
				}
			}
			if started != 2 {
				t.Fatalf("%d calls started, want 2 (the copy started one)", started)
			}
		})
	}
}

// TestEndedInvitesForgetAfterTwoWindows: a key is kept at least one window
// and at most two.
func TestEndedInvitesForgetAfterTwoWindows(t *testing.T) {
	const w = time.Second
	e := newEndedInvites(w)
	t0 := e.since
	msg, err := sip.NewParser().ParseSIP([]byte((&rawInvite{number: "+15551230001", callID: "c@t", branch: "z9hG4bK-x", fromTag: "f"}).text("127.0.0.1:5060")))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	e.add(req, t0.Add(w/2))
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{{w / 2, true}, {w + w/4, true}, {2*w + w/2, false}} {
		if got := e.has(req, t0.Add(tc.at)); got != tc.want {
			t.Errorf("at %v: has %v, want %v", tc.at, got, tc.want)
		}
	}
}
