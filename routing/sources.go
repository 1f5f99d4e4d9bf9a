package routing

import "net/netip"

// TrunksFrom returns the trunks of every workspace whose CIDRs contain
// addr. Admission uses it only on the path where the dialled number has no
// route through the source's trunks, to challenge a credentialed trunk
// before answering 404 (design section 7, steps 3 and 4). It scans the
// loaded trunks and allocates the result; the common path never calls it.
func (m *Map) TrunksFrom(addr netip.Addr) []*Trunk {
	if !addr.IsValid() {
		return nil
	}
	addr = addr.Unmap().WithZone("")
	var out []*Trunk
	for _, e := range m.cur.Load().workspaces {
		for _, t := range e.view.Trunks {
			if t.match(addr) >= 0 {
				out = append(out, t)
			}
		}
	}
	return out
}
