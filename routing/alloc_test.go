package routing_test

import (
	"net/netip"
	"testing"
)

// TestZeroAllocations guards the hot paths the SIP layer calls for every
// INVITE: no allocation, so no garbage per call.
func TestZeroAllocations(t *testing.T) {
	m := newLoadedMap(t, syntheticSource(10, 10))
	r, ok := m.Lookup("+15550050005")
	if !ok {
		t.Fatal("no route")
	}
	addr := netip.MustParseAddr("10.5.1.1")
	tests := []struct {
		name string
		fn   func()
	}{
		{"lookup e164", func() { m.Lookup("+15550050005") }},
		{"lookup digits", func() { m.Lookup("15550050005") }},
		{"lookup sip uri", func() { m.Lookup("sip:+15550050005@edge.example.org;user=phone") }},
		{"lookup tel uri", func() { m.Lookup("tel:+1-555-005-0005") }},
		{"lookup miss", func() { m.Lookup("+15559990000") }},
		{"known source", func() { m.KnownSource(addr) }},
		{"trunk for", func() { r.TrunkFor(addr) }},
		{"lookup from", func() { m.LookupFrom(addr, "sip:15550050005@edge;user=phone") }},
		{"lookup from miss", func() { m.LookupFrom(addr, "5559990000") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("%v allocations per call, want 0", n)
			}
		})
	}
}
