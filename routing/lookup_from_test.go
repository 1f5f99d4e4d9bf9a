package routing_test

import (
	"net/netip"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// TestLookupFrom normalises per matching trunk: A's trunk has country code
// 1, B's trunk 44, and a third workspace C shares A's carrier address with
// a trunk of its own (no country code). A national number reaches only the
// workspace whose trunk (containing the source) normalises it to one of its
// numbers; another workspace's number in national form misses like an
// unknown one.
func TestLookupFrom(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("A", "+13125550100", "192.0.2.0/24")
	env.put(a, tenancy.KindTrunk, &tenancy.Trunk{ID: "carrier", Name: "carrier", AllowedCIDRs: []string{"192.0.2.0/24"}, DefaultCountryCode: "1", MaxRequestsPerSecond: 700})
	b := env.clinic("B", "+442079460000", "198.51.100.0/24")
	env.put(b, tenancy.KindTrunk, &tenancy.Trunk{ID: "carrier", Name: "carrier", AllowedCIDRs: []string{"198.51.100.0/24"}, DefaultCountryCode: "44"})
	c := env.clinic("C", "+13125550199", "192.0.2.7/32")
	m := startMap(t, env.store)
	m.waitRoute(t, "+13125550199", c, "front-desk")
	waitFor(t, "A's country code", func() bool {
		_, tr, ok := m.LookupFrom(netip.MustParseAddr("192.0.2.1"), "3125550100")
		return ok && tr.CountryCode == "1"
	})
	waitFor(t, "B's country code", func() bool {
		_, tr, ok := m.LookupFrom(netip.MustParseAddr("198.51.100.1"), "02079460000")
		return ok && tr.CountryCode == "44"
	})

	carrierA := netip.MustParseAddr("192.0.2.7") // in A's and C's trunks
	carrierB := netip.MustParseAddr("198.51.100.1")
	tests := []struct {
		name   string
		src    netip.Addr
		dialed string
		ws     string // "" = miss
	}{
		{"A national", carrierA, "3125550100", a},
		{"A 1+10", carrierA, "13125550100", a},
		{"A e164", carrierA, "+13125550100", a},
		{"A tel uri", carrierA, "tel:312-555-0100", a},
		{"A sip user=phone", carrierA, "sip:(312)555-0100@carrier;user=phone", a},
		{"A 011 international", carrierA, "01113125550100", a},
		{"C digits without country code", carrierA, "13125550199", c},
		{"C national: C's trunk has no country code", carrierA, "3125550199", ""},
		{"B 0+national", carrierB, "02079460000", b},
		{"B national", carrierB, "2079460000", b},
		{"B 00 international", carrierB, "00442079460000", b},
		{"B's number from A's carrier, national", carrierA, "2079460000", ""},
		{"B's number from A's carrier, e164", carrierA, "+442079460000", ""},
		{"A's number from B's carrier, national", carrierB, "3125550100", ""},
		{"A's number from B's carrier, e164", carrierB, "+13125550100", ""},
		{"unknown national", carrierA, "3125550101", ""},
		{"unknown source", netip.MustParseAddr("203.0.113.1"), "+13125550100", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, tr, ok := m.LookupFrom(tc.src, tc.dialed)
			if tc.ws == "" {
				if ok {
					t.Fatalf("LookupFrom(%s, %q) = %s of %s, want a miss", tc.src, tc.dialed, r.Number, r.Workspace.ID)
				}
				return
			}
			if !ok || r.Workspace.ID != tc.ws || tr.WorkspaceID != tc.ws {
				t.Fatalf("LookupFrom(%s, %q) = %+v, %+v, %v, want workspace %s", tc.src, tc.dialed, r, tr, ok, tc.ws)
			}
		})
	}
	_, tr, _ := m.LookupFrom(carrierA, "3125550100")
	if tr.RequestsPerSecond != 700 {
		t.Errorf("trunk budget %d, want 700", tr.RequestsPerSecond)
	}
	_, tr, _ = m.LookupFrom(carrierA, "13125550199")
	if tr.RequestsPerSecond != tenancy.DefaultTrunkRequestsPerSecond {
		t.Errorf("default trunk budget %d, want %d", tr.RequestsPerSecond, tenancy.DefaultTrunkRequestsPerSecond)
	}
}
