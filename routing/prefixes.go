package routing

import (
	"cmp"
	"net/netip"
	"slices"
)

// prefixSet answers whether an address lies in any of a set of prefixes in
// O(log n) without allocating: the prefixes become address ranges, merged
// where they overlap or touch and kept sorted, one list per family.
type prefixSet struct {
	v4, v6 []span
}

// span is an inclusive range of addresses as 128-bit integers.
type span struct{ lo, hi u128 }

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	if a.lo != ^uint64(0) {
		return u128{a.hi, a.lo + 1}, true
	}
	if a.hi != ^uint64(0) {
		return u128{a.hi + 1, 0}, true
	}
	return a, false
}

func addrBits(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var v u128
	for i := 0; i < 8; i++ {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[i+8])
	}
	return v
}

// prefixSpan returns the range of a canonical prefix.
func prefixSpan(p netip.Prefix) span {
	lo := addrBits(p.Addr())
	host := p.Addr().BitLen() - p.Bits() // bits of the host part
	var mask u128
	switch {
	case host >= 128:
		mask = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		mask = u128{(uint64(1) << (host - 64)) - 1, ^uint64(0)}
	default:
		mask = u128{0, (uint64(1) << host) - 1}
	}
	return span{lo, u128{lo.hi | mask.hi, lo.lo | mask.lo}}
}

// canonPrefix returns p masked, with IPv4-mapped IPv6 prefixes turned into
// IPv4 ones so that they match the IPv4 addresses they describe. It reports
// false for an invalid prefix.
func canonPrefix(p netip.Prefix) (netip.Prefix, bool) {
	if !p.IsValid() {
		return netip.Prefix{}, false
	}
	a := p.Addr().WithZone("")
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked(), true
	}
	return netip.PrefixFrom(a, p.Bits()).Masked(), true
}

// newPrefixSet builds the set of the canonical prefixes ps.
func newPrefixSet(ps []netip.Prefix) *prefixSet {
	s := &prefixSet{}
	for _, p := range ps {
		if p.Addr().Is4() {
			s.v4 = append(s.v4, prefixSpan(p))
		} else {
			s.v6 = append(s.v6, prefixSpan(p))
		}
	}
	s.v4, s.v6 = mergeSpans(s.v4), mergeSpans(s.v6)
	return s
}

func mergeSpans(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := in[:1]
	for _, sp := range in[1:] {
		last := &out[len(out)-1]
		if after, ok := last.hi.next(); !ok || sp.lo.cmp(after) <= 0 {
			if sp.hi.cmp(last.hi) > 0 {
				last.hi = sp.hi
			}
			continue
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

// contains reports whether a lies in the set.
func (s *prefixSet) contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	spans := s.v6
	if a.Is4() {
		spans = s.v4
	}
	x := addrBits(a)
	// Find the first span that starts after x; the one before it is the
	// only candidate.
	lo, hi := 0, len(spans)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if spans[mid].lo.cmp(x) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo > 0 && x.cmp(spans[lo-1].hi) <= 0
}

// len returns the number of merged ranges.
func (s *prefixSet) len() int { return len(s.v4) + len(s.v6) }
