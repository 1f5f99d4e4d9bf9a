package routing

import "net/netip"

// LookupFrom returns the route of a number dialled from addr and the trunk
// it arrives through, normalising the number per matching trunk (design
// section 10: the trunk is known only from the source, and each trunk has
// its own default country code). A route is returned only when the owning
// workspace has a trunk containing addr (its most specific, see TrunkFor)
// and that trunk's country code turns dialed into the route's number: a
// number of workspace B dialled through a trunk of workspace A misses
// exactly as an unknown number does (design section 7, step 4).
//
// It tries one normalisation per distinct country code of the map's trunks
// (few: a handful even with many workspaces), the lowest code first, so it
// needs no scan of the trunks. It does not allocate.
func (m *Map) LookupFrom(addr netip.Addr, dialed string) (*Route, *Trunk, bool) {
	t := m.cur.Load()
	var buf, own [maxE164]byte
	for _, cc := range t.countryCodes {
		n, ok := normalizeWith(&buf, dialed, cc)
		if !ok {
			continue
		}
		r, ok := t.numbers[string(buf[:n])]
		if !ok {
			continue
		}
		tr, ok := r.Workspace.TrunkFor(addr)
		if !ok || tr.CountryCode != cc && !sameNumber(&own, dialed, tr.CountryCode, r.Number) {
			continue
		}
		m.met.lookupHit.Inc()
		return r, tr, true
	}
	m.met.lookupMiss.Inc()
	return nil, nil, false
}

// sameNumber reports whether dialed normalises with cc to number.
func sameNumber(buf *[maxE164]byte, dialed, cc, number string) bool {
	n, ok := normalizeWith(buf, dialed, cc)
	return ok && string(buf[:n]) == number
}
