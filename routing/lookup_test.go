package routing_test

import (
	"net/netip"
	"testing"

	"github.com/voiceedge/edge/routing"
)

func TestLookupForms(t *testing.T) {
	env := newTestEnv(t)
	ws := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m := startMap(t, env.store)
	m.waitRoute(t, "+15551230001", ws, "front-desk")

	hits := []struct{ name, dialed string }{
		{"e164", "+15551230001"},
		{"digits", "15551230001"},
		{"sip uri user=phone", "sip:+15551230001@edge.example.org;user=phone"},
		{"sip uri digits", "sip:15551230001@192.0.2.1:5060"},
		{"sip uri upper-case scheme", "SIP:+15551230001@host"},
		{"sips uri", "sips:+15551230001@host;transport=tls"},
		{"sip uri in angle brackets", "<sip:+15551230001@host>"},
		{"sip uri with user parameters", "sip:+15551230001;npdi;rn=+15550000000@host;user=phone"},
		{"sip uri with password", "sip:+15551230001:secret@host"},
		{"sip uri percent-encoded plus", "sip:%2B15551230001@host"},
		{"tel uri with separators", "tel:+1-555-123-0001"},
		{"tel uri with parameters", "tel:+1.555.123.0001;phone-context=example.org"},
		{"spaces and parentheses", "+1 (555) 123-0001"},
		{"dots", "1.555.123.0001"},
		{"request-uri user with parameter", "+15551230001;npdi"},
		{"international prefix 00 (design section 10)", "0015551230001"},
		{"international prefix 011 (design section 10)", "01115551230001"},
	}
	for _, tc := range hits {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := m.Lookup(tc.dialed)
			if !ok || r.Number != "+15551230001" || r.Workspace.ID != ws {
				t.Fatalf("Lookup(%q) = %+v, %v", tc.dialed, r, ok)
			}
		})
	}
	misses := []struct{ name, dialed string }{
		{"empty", ""},
		{"plus only", "+"},
		{"unknown number", "+15551230002"},
		{"letters", "+1555CALLNOW"},
		{"too short", "+1555123"},
		{"too long", "+155512300011234567"},
		{"leading zero", "+05551230001"},
		{"two plus signs", "++15551230001"},
		{"plus in the middle", "1555+1230001"},
		{"sip uri without user", "sip:edge.example.org"},
		{"sip uri with empty user", "sip:@host"},
		{"sip uri with a name", "sip:alice@host"},
		{"scheme only", "tel:"},
		{"unknown scheme", "mailto:+15551230001"},
		{"user@host without scheme", "+15551230001@host"},
		{"truncated escape", "sip:%2@host"},
		{"bad escape", "%ZZ15551230001"},
		{"escaped letter", "%4115551230001"},
		{"nul byte", "+1555123000\x001"},
		{"full-width digits", "＋１５５５１２３０００１"},
		{"invalid utf-8", "+1555\xff1230001"},
		{"only brackets", "<>"},
		{"unterminated bracket", "<"},
		{"separators only", " -.() "},
	}
	for _, tc := range misses {
		t.Run("miss/"+tc.name, func(t *testing.T) {
			if r, ok := m.Lookup(tc.dialed); ok {
				t.Fatalf("Lookup(%q) = %+v, want a miss", tc.dialed, r)
			}
		})
	}
	if got := m.metric(t, "edge_routing_lookups_total", "hit"); got < float64(len(hits)) {
		t.Errorf("lookups{hit} = %v", got)
	}
	if got := m.metric(t, "edge_routing_lookups_total", "miss"); got < float64(len(misses)) {
		t.Errorf("lookups{miss} = %v", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"e164", "+15551230001", "+15551230001", true},
		{"digits", "15551230001", "+15551230001", true},
		{"shortest", "+12345678", "+12345678", true},
		{"longest", "+123456789012345", "+123456789012345", true},
		{"sixteen digits", "+1234567890123456", "", false},
		{"tel", "tel:+44-20-7946-0000", "+442079460000", true},
		{"sip", "sip:+442079460000@h", "+442079460000", true},
		{"garbage", "hello", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := routing.Normalize(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTrunkAdmission(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	env.trunk(a, "core", "10.0.0.0/8")
	env.trunk(a, "edge-pop", "10.1.0.0/16", "2001:db8:a::/48")
	b := env.clinic("South Clinic", "+15551230002", "198.51.100.0/24")
	env.trunk(b, "v6", "2001:db8:b::/48")
	m := startMap(t, env.store)
	m.waitReady(t)
	m.waitRoute(t, "+15551230001", a, "front-desk")
	m.waitRoute(t, "+15551230002", b, "front-desk")
	waitFor(t, "all trunks", func() bool {
		v, ok := m.Workspace(a)
		w, ok2 := m.Workspace(b)
		return ok && ok2 && len(v.Trunks) == 3 && len(w.Trunks) == 2
	})
	ra, _ := m.Lookup("+15551230001")
	rb, _ := m.Lookup("+15551230002")

	tests := []struct {
		name  string
		route *routing.Route
		addr  string
		known bool
		trunk string // "" = no trunk of the route's workspace matches
	}{
		{"own trunk", ra, "192.0.2.10", true, "carrier"},
		{"most specific prefix wins", ra, "10.1.2.3", true, "edge-pop"},
		{"wider prefix", ra, "10.2.0.1", true, "core"},
		{"ipv6 trunk", ra, "2001:db8:a::1", true, "edge-pop"},
		{"ipv4-mapped ipv6 source", ra, "::ffff:192.0.2.10", true, "carrier"},
		{"B's number through A's trunk", rb, "192.0.2.10", true, ""},
		{"B's number through A's v6 trunk", rb, "2001:db8:a::1", true, ""},
		{"A's number through B's trunk", ra, "198.51.100.1", true, ""},
		{"B's own trunk", rb, "198.51.100.1", true, "carrier"},
		{"B's own v6 trunk", rb, "2001:db8:b::7", true, "v6"},
		{"unknown source", ra, "203.0.113.1", false, ""},
		{"unknown v6 source", ra, "2001:db8:c::1", false, ""},
		{"just past a prefix", ra, "192.0.3.0", false, ""},
		{"zero address", ra, "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var addr netip.Addr
			if tc.addr != "" {
				addr = netip.MustParseAddr(tc.addr)
			}
			if got := m.KnownSource(addr); got != tc.known {
				t.Errorf("KnownSource(%s) = %v, want %v", tc.addr, got, tc.known)
			}
			tr, ok := tc.route.TrunkFor(addr)
			if tc.trunk == "" {
				if ok {
					t.Errorf("TrunkFor(%s) = %s of %s, want none", tc.addr, tr.ID, tc.route.Workspace.ID)
				}
				return
			}
			if !ok || tr.ID != tc.trunk {
				t.Errorf("TrunkFor(%s) = %+v, %v; want %s", tc.addr, tr, ok, tc.trunk)
			}
		})
	}
	t.Run("workspace views are isolated", func(t *testing.T) {
		v, _ := m.Workspace(b)
		for _, tr := range v.Trunks {
			if tr.Contains(netip.MustParseAddr("192.0.2.10")) {
				t.Errorf("workspace B's view holds A's trunk %s", tr.ID)
			}
		}
		if _, ok := m.Workspace("ws_doesnotexist"); ok {
			t.Error("unknown workspace found")
		}
		if _, ok := m.Workspace(""); ok {
			t.Error("empty workspace id found")
		}
	})
}
