package routing

import (
	"net/netip"
	"testing"
)

func TestPrefixSet(t *testing.T) {
	set := func(cidrs ...string) *prefixSet {
		var ps []netip.Prefix
		for _, c := range cidrs {
			p, ok := canonPrefix(netip.MustParsePrefix(c))
			if !ok {
				t.Fatalf("canonPrefix(%s)", c)
			}
			ps = append(ps, p)
		}
		return newPrefixSet(ps)
	}
	tests := []struct {
		name   string
		set    *prefixSet
		addr   string
		want   bool
		ranges int
	}{
		{"empty set", set(), "192.0.2.1", false, 0},
		{"inside", set("192.0.2.0/24"), "192.0.2.255", true, 1},
		{"first address", set("192.0.2.0/24"), "192.0.2.0", true, 1},
		{"just below", set("192.0.2.0/24"), "192.0.1.255", false, 1},
		{"just above", set("192.0.2.0/24"), "192.0.3.0", false, 1},
		{"host route", set("198.51.100.7/32"), "198.51.100.7", true, 1},
		{"next to host route", set("198.51.100.7/32"), "198.51.100.8", false, 1},
		{"unmasked prefix", set("192.0.2.77/24"), "192.0.2.1", true, 1},
		{"nested prefixes merge", set("10.0.0.0/8", "10.1.0.0/16"), "10.200.0.1", true, 1},
		{"adjacent prefixes merge", set("192.0.2.0/25", "192.0.2.128/25"), "192.0.2.200", true, 1},
		{"gap between prefixes", set("192.0.2.0/26", "192.0.2.128/26"), "192.0.2.100", false, 2},
		{"all of ipv4", set("0.0.0.0/0"), "255.255.255.255", true, 1},
		{"all of ipv6 is not ipv4", set("::/0"), "192.0.2.1", false, 1},
		{"ipv4 prefix is not ipv6", set("0.0.0.0/0"), "2001:db8::1", false, 1},
		{"all of ipv6", set("::/0"), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, 1},
		{"ipv6 inside", set("2001:db8:a::/48"), "2001:db8:a:ffff::1", true, 1},
		{"ipv6 above", set("2001:db8:a::/48"), "2001:db8:b::", false, 1},
		{"ipv6 /64 boundary", set("2001:db8::/64"), "2001:db8:0:0:ffff:ffff:ffff:ffff", true, 1},
		{"ipv6 /65", set("2001:db8::/65"), "2001:db8::8000:0:0:0", false, 1},
		{"mapped prefix matches ipv4", set("::ffff:192.0.2.0/120"), "192.0.2.9", true, 1},
		{"mapped address matches ipv4 prefix", set("192.0.2.0/24"), "::ffff:192.0.2.9", true, 1},
		{"zoned address", set("fe80::/10"), "fe80::1%eth0", true, 1},
		{"many", set("10.0.0.0/24", "10.0.2.0/24", "10.0.4.0/24", "10.0.6.0/24"), "10.0.4.7", true, 4},
		{"many, in a hole", set("10.0.0.0/24", "10.0.2.0/24", "10.0.4.0/24", "10.0.6.0/24"), "10.0.5.7", false, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.set.contains(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("contains(%s) = %v, want %v", tc.addr, got, tc.want)
			}
			if got := tc.set.len(); got != tc.ranges {
				t.Errorf("ranges = %d, want %d", got, tc.ranges)
			}
		})
	}
	t.Run("invalid address", func(t *testing.T) {
		if set("0.0.0.0/0", "::/0").contains(netip.Addr{}) {
			t.Error("the zero Addr is contained")
		}
	})
}

// TestPrefixSetMatchesNetip checks the merged ranges against netip's own
// Contains over many prefixes and addresses.
func TestPrefixSetMatchesNetip(t *testing.T) {
	var ps []netip.Prefix
	for i := range 64 {
		a := netip.AddrFrom4([4]byte{10, byte(i * 4), byte(i * 7), 0})
		ps = append(ps, netip.PrefixFrom(a, 12+i%20).Masked())
		b := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i), byte(i * 3), 0, 0, byte(i)})
		ps = append(ps, netip.PrefixFrom(b, 32+i%90).Masked())
	}
	s := newPrefixSet(ps)
	for i := range 4096 {
		addrs := []netip.Addr{
			netip.AddrFrom4([4]byte{10, byte(i), byte(i * 13), byte(i * 7)}),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i % 64), byte(i * 3 % 256), 0, 0, byte(i % 64), byte(i)}),
		}
		for _, a := range addrs {
			want := false
			for _, p := range ps {
				want = want || p.Contains(a)
			}
			if got := s.contains(a); got != want {
				t.Fatalf("contains(%s) = %v, netip says %v", a, got, want)
			}
		}
	}
}
