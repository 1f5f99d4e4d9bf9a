package sip

import (
	"strings"
	"testing"
	"time"
)

// TestCredentialedSourceChallengedBeforeNotFound: a source that only
// credentialed trunks contain must pass the challenge before it learns
// whether a number exists (design section 7: 407 before 404), and the
// challenge is the same for an unknown number and for a number of another
// workspace, so it reveals nothing either.
func TestCredentialedSourceChallengedBeforeNotFound(t *testing.T) {
	e := newTestEdge(t)
	const dead = "sip:agent@127.0.0.2:5999;transport=udp"
	wsA := e.addWorkspace(t, wsSpec{name: "ClinicA", number: "+15551230011", cidr: "127.0.0.1/32", target: dead})
	wsE := e.addWorkspace(t, wsSpec{name: "ClinicE", number: "+15551230012", cidr: "127.0.0.6/32", target: dead, user: "carriere", pass: "correct-horse-battery"})
	carrier := newRawTrunk(t, "127.0.0.6", e.udpAddr)
	for _, tc := range []struct{ name, number string }{
		{"unknown number", "+15559990011"},
		{"number of another workspace", "+15551230011"},
		{"own number", "+15551230012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, raw := carrier.call(t, carrier.newInvite(tc.number), 3*time.Second)
			if res == nil || res.StatusCode != 407 {
				t.Fatalf("got %v, want 407:\n%s", res, raw)
			}
			if !strings.Contains(string(raw), "Proxy-Authenticate: Digest") || strings.Contains(string(raw), "ClinicA") {
				t.Errorf("challenge wrong or leaking:\n%s", raw)
			}
		})
	}
	e.checkNoLeaks(t, wsA, wsE)
}
