package sip

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/tenancy"
)

// TestTrunkBudget: two workspaces' trunks share one carrier address; A's
// trunk has a budget of 2 requests/s. A third INVITE within a second for A
// gets 503 with Retry-After (design section 10) and is counted; B's trunk,
// with its own budget, is not affected.
func TestTrunkBudget(t *testing.T) {
	e := newTestEdge(t)
	svc := newCaptureService(t)
	a := e.addWorkspace(t, wsSpec{name: "A", number: "+15551230001", cidr: "127.0.0.1/32", target: svc.target("udp"), budget: 2})
	b := e.addWorkspace(t, wsSpec{name: "B", number: "+15551230002", cidr: "127.0.0.1/32", target: svc.target("udp")})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)

	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	start := time.Now()
	var codes []int
	for range 3 {
		res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 3*time.Second)
		if res == nil {
			t.Fatalf("no answer\n%s", raw)
		}
		codes = append(codes, res.StatusCode)
		if res.StatusCode == 503 {
			if h := res.GetHeader("Retry-After"); h == nil || h.Value() != "1" {
				t.Errorf("503 over budget without Retry-After: 1:\n%s", raw)
			}
		}
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Skipf("three INVITEs took %v: not within one second of the budget", time.Since(start))
	}
	if codes[0] != 486 || codes[1] != 486 || codes[2] != 503 {
		t.Fatalf("A's answers %v, want [486 486 503] (the service is busy; the third is over budget)", codes)
	}
	for range 3 {
		if res, raw := trunk.call(t, trunk.newInvite("+15551230002"), 3*time.Second); res == nil || res.StatusCode != 486 {
			t.Fatalf("B's call through its own trunk: %v, want the service's 486\n%s", res, raw)
		}
	}
	if got := e.counter(t, "edge_sip_invites_total", map[string]string{"result": "rejected", "reason": string(ReasonTrunkBudget)}); got != 1 {
		t.Errorf("invites_total{rejected,trunk_budget} = %v, want 1", got)
	}
	if got := e.counter(t, "edge_sip_dropped_total", nil); got != 0 {
		t.Errorf("dropped %v requests of a carrier, want none", got)
	}
	e.checkNoLeaks(t, a, b)
}

// TestNationalNumbers routes a 10-digit national Request-URI through a
// trunk with default_country_code 1, and answers a number of another
// workspace in national form exactly as an unknown number (design
// section 7 step 4).
func TestNationalNumbers(t *testing.T) {
	e := newTestEdge(t)
	svc := newCaptureService(t)
	a := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: svc.target("udp"), countryCode: "1"})
	e.addWorkspace(t, wsSpec{name: "B", number: "+13125550200", cidr: "127.0.0.3/32", target: svc.target("udp"), countryCode: "1"})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)

	for _, dialed := range []string{"3125550100", "13125550100", "(312)555-0100", "01113125550100", "+13125550100"} {
		t.Run(dialed, func(t *testing.T) {
			res, raw := trunk.call(t, trunk.newInvite(dialed), 3*time.Second)
			if res == nil || res.StatusCode != 486 {
				t.Fatalf("call to %s: %v, want the service's 486\n%s", dialed, res, raw)
			}
			if got := svc.last(t).req.GetHeader(HeaderCalled); got == nil || got.Value() != "+13125550100" {
				t.Errorf("X-Called %v, want +13125550100", got)
			}
		})
	}
	other := trunk.newInvite("3125550200")
	res, rawOther := trunk.call(t, other, 3*time.Second)
	if res == nil || res.StatusCode != 404 {
		t.Fatalf("B's number from A's trunk: %v, want 404\n%s", res, rawOther)
	}
	unknown := trunk.newInvite("3125550999")
	_, rawUnknown := trunk.call(t, unknown, 3*time.Second)
	if n1, n2 := normalized(rawOther, other), normalized(rawUnknown, unknown); n1 != n2 {
		t.Fatalf("404 for another workspace's number differs from an unknown number's:\n%s\n---\n%s", n1, n2)
	}
	e.checkNoLeaks(t, a)
}

// TestServiceInviteFromCarrier checks what of a carrier's INVITE reaches
// the service: the identity headers of design section 10, Max-Forwards
// decremented (RFC 7332), nothing else of the trunk's headers; and the 400
// naming a malformed identity header.
func TestServiceInviteFromCarrier(t *testing.T) {
	e := newTestEdge(t)
	svc := newCaptureService(t)
	ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: svc.target("udp"), countryCode: "1"})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	send := func(t *testing.T, inv *rawInvite, maxFwd string) (*sip.Response, []byte) {
		t.Helper()
		trunk.send(t, strings.Replace(inv.text(trunk.local()), "Max-Forwards: 70", "Max-Forwards: "+maxFwd, 1))
		res, raw := trunk.final(t, 3*time.Second)
		if res != nil && res.StatusCode >= 300 {
			trunk.ack(t, inv, res)
		}
		return res, raw
	}
	tests := []struct {
		name, extra, maxFwd string
		want                map[string]string // header -> value; "" = absent
		mf                  uint32
	}{
		{name: "plain", maxFwd: "70", mf: 69, want: map[string]string{
			HeaderCaller: "+15550009999", HeaderCallerPrivacy: "", HeaderCallerVerified: "", HeaderDivertedFrom: ""}},
		{name: "asserted, verified, diverted", maxFwd: "10", mf: 9,
			extra: "P-Asserted-Identity: <sip:3125550111;verstat=TN-Validation-Passed@carrier.example;user=phone>\r\n" +
				"Diversion: <sip:3125550188@carrier.example>;reason=unconditional;counter=1\r\nX-Carrier-Secret: topology\r\n",
			want: map[string]string{HeaderCaller: "+13125550111", HeaderCallerVerified: "TN-Validation-Passed", HeaderDivertedFrom: "+13125550188", HeaderCallerPrivacy: ""}},
		{name: "privacy", maxFwd: "1", mf: 0,
			extra: "P-Asserted-Identity: <tel:+13125550111>\r\nPrivacy: id\r\n",
			want:  map[string]string{HeaderCaller: "anonymous", HeaderCallerPrivacy: "id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := trunk.newInvite("3125550100")
			inv.extra = tc.extra
			res, raw := send(t, inv, tc.maxFwd)
			if res == nil || res.StatusCode != 486 {
				t.Fatalf("got %v, want the service's 486\n%s", res, raw)
			}
			got := svc.last(t)
			for h, v := range tc.want {
				hv := got.req.GetHeader(h)
				switch {
				case v == "" && hv != nil:
					t.Errorf("%s: %q, want none", h, hv.Value())
				case v != "" && (hv == nil || hv.Value() != v):
					t.Errorf("%s: %v, want %q", h, hv, v)
				}
			}
			if mf := got.req.MaxForwards(); mf == nil || mf.Val() != tc.mf {
				t.Errorf("Max-Forwards %v, want %d", mf, tc.mf)
			}
			for _, leak := range []string{"P-Asserted-Identity", "Diversion", "\r\nPrivacy:", "X-Carrier-Secret", "carrier.example", "3125550111;verstat"} {
				if strings.Contains(string(got.raw), leak) {
					t.Errorf("service INVITE carries %q of the trunk:\n%s", leak, got.raw)
				}
			}
			if got.req.From().Address.User != tc.want[HeaderCaller] {
				t.Errorf("From user %q, want the caller %q", got.req.From().Address.User, tc.want[HeaderCaller])
			}
		})
	}
	before := len(svc.invites())
	for _, tc := range []struct{ name, extra, header string }{
		{"malformed PAI", "P-Asserted-Identity: <sip:+13125550111@carrier\r\n", "P-Asserted-Identity"},
		{"malformed Diversion", "Diversion: \"x\" tel:+1\r\n", "Diversion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := trunk.newInvite("3125550100")
			inv.extra = tc.extra
			res, raw := send(t, inv, "70")
			if res == nil || res.StatusCode != 400 || !strings.Contains(res.Reason, tc.header) {
				t.Fatalf("got %v, want 400 naming %s\n%s", res, tc.header, raw)
			}
		})
	}
	if n := len(svc.invites()); n != before {
		t.Errorf("a refused INVITE reached the service")
	}
	t.Run("Max-Forwards 0", func(t *testing.T) {
		res, raw := send(t, trunk.newInvite("3125550100"), "0")
		if res == nil || res.StatusCode != 483 {
			t.Fatalf("got %v, want 483\n%s", res, raw)
		}
	})
	e.checkNoLeaks(t, ws)
}

// TestLargeServiceInvite: voice settings too large for one UDP datagram.
// X- headers stay under 1 KiB; an INVITE over 1300 bytes goes over TCP to
// a target without transport parameter (RFC 3261 section 18.1.1), and stays
// on UDP under 1300 bytes, with X-Voice-Settings cut down, to a target that
// says transport=udp.
func TestLargeServiceInvite(t *testing.T) {
	keyterms := make([]string, 150)
	for i := range keyterms {
		keyterms[i] = strings.Repeat("term", 20)
	}
	voice := &tenancy.VoiceSettings{TTSVoice: "alloy", Speed: 1, Keyterms: keyterms}
	tests := []struct {
		name, transport, want string
	}{
		{"target allows tcp", "", "tcp"},
		{"target insists on udp", "udp", "udp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			svc := newCaptureService(t)
			ws := e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: svc.target(tc.transport), voice: voice})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			res, raw := trunk.call(t, trunk.newInvite("+13125550100"), 5*time.Second)
			if res == nil || res.StatusCode != 486 {
				t.Fatalf("got %v, want the service's 486\n%s", res, raw)
			}
			got := svc.last(t)
			if got.transport != tc.want {
				t.Fatalf("INVITE of %d bytes came over %s, want %s", len(got.raw), got.transport, tc.want)
			}
			xs := 0
			for _, line := range strings.Split(string(got.raw), "\r\n") {
				if strings.HasPrefix(line, "X-") {
					xs += len(line) + 2
				}
			}
			if xs >= MaxServiceHeaders {
				t.Errorf("X- headers take %d bytes", xs)
			}
			vs := got.req.GetHeader(HeaderVoiceSettings)
			if vs == nil {
				t.Fatal("no X-Voice-Settings")
			}
			switch tc.want {
			case "udp":
				if len(got.raw) > udpRequestLimit {
					t.Errorf("UDP INVITE of %d bytes, want <= %d", len(got.raw), udpRequestLimit)
				}
			case "tcp":
				if len(got.raw) <= udpRequestLimit {
					t.Errorf("TCP INVITE of %d bytes: the test needs a larger one", len(got.raw))
				}
				if via := got.req.Via(); via == nil || !strings.EqualFold(via.Transport, "TCP") {
					t.Errorf("Via %v, want TCP", via)
				}
				// sipgo keeps the TCP connection to the service for reuse, with
				// its reader goroutines: check the call's own resources only.
				waitFor(t, 10*time.Second, "the call released", func() bool {
					calls, legs, peers := e.srv.dialogs.sizes()
					n, err := e.store.ActiveCalls(context.Background(), ws)
					return calls == 0 && legs == 0 && peers == 0 && e.pool.InUse() == 0 && err == nil && n == 0
				})
				return
			}
			e.checkNoLeaks(t, ws)
		})
	}
}

// TestOptionsSignals: OPTIONS with Max-Forwards 0 is answered 200 (RFC 3261
// section 11), and 503 with Retry-After once the edge drains.
func TestOptionsSignals(t *testing.T) {
	e := newTestEdge(t)
	e.addWorkspace(t, wsSpec{name: "A", number: "+13125550100", cidr: "127.0.0.1/32", target: "sip:agent@127.0.0.2:5999;transport=udp"})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	options := func(n int, maxFwd string) string {
		return "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP " + trunk.local() + ";branch=z9hG4bK-opt-" + itoa(n) + "\r\n" +
			"From: <sip:carrier@127.0.0.1>;tag=o" + itoa(n) + "\r\nTo: <sip:edge@127.0.0.1>\r\nCall-ID: opt-" + itoa(n) + "@carrier\r\n" +
			"CSeq: 1 OPTIONS\r\nMax-Forwards: " + maxFwd + "\r\nContent-Length: 0\r\n\r\n"
	}
	trunk.send(t, options(1, "0"))
	if res, raw := trunk.final(t, 3*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS with Max-Forwards 0: %v, want 200\n%s", res, raw)
	}
	if err := e.srv.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	trunk.send(t, options(2, "70"))
	res, raw := trunk.final(t, 3*time.Second)
	if res == nil || res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("OPTIONS while draining: %v, want 503 with Retry-After\n%s", res, raw)
	}
}
