package routing_test

import (
	"net/netip"
	"testing"

	"github.com/voiceedge/edge/routing"
)

// The map of the benchmarks: 10,000 numbers in 100 workspaces.
func benchMap(b *testing.B) *routing.Map {
	b.Helper()
	return newLoadedMap(b, syntheticSource(100, 100))
}

func BenchmarkLookup(b *testing.B) {
	m := benchMap(b)
	forms := []struct{ name, dialed string }{
		{"e164", "+15550420042"},
		{"digits", "15550420042"},
		{"sip", "sip:+15550420042@edge.example.org;user=phone"},
		{"tel", "tel:+1-555-042-0042"},
		{"separators", "+1 (555) 042-0042"},
		{"miss", "+15559990000"},
		{"malformed", "sip:alice@example.org"},
	}
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Lookup(f.dialed)
			}
		})
	}
}

func BenchmarkKnownSource(b *testing.B) {
	m := benchMap(b)
	addrs := []struct {
		name string
		addr netip.Addr
	}{
		{"v4-hit", netip.MustParseAddr("10.42.7.9")},
		{"v4-miss", netip.MustParseAddr("192.0.2.1")},
		{"v6-hit", netip.MustParseAddr("2001:db8:42::1")},
		{"v6-miss", netip.MustParseAddr("2001:db9::1")},
		{"v4-mapped", netip.MustParseAddr("::ffff:10.42.7.9")},
	}
	for _, a := range addrs {
		b.Run(a.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.KnownSource(a.addr)
			}
		})
	}
}

func BenchmarkTrunkFor(b *testing.B) {
	m := benchMap(b)
	r, ok := m.Lookup("+15550420042")
	if !ok {
		b.Fatal("no route")
	}
	addr := netip.MustParseAddr("10.42.7.9")
	b.ReportAllocs()
	for b.Loop() {
		r.TrunkFor(addr)
	}
}
