package routing

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/voiceedge/edge/tenancy"
)

// table is one immutable state of the tenant map. A new table is built for
// every batch of changes and swapped in whole.
type table struct {
	// seq is the change-stream sequence the table reflects.
	seq int64
	// numbers maps an E.164 number to its route.
	numbers map[string]*Route
	// workspaces maps a workspace id to its entry.
	workspaces map[string]*entry
	// sources holds every trunk CIDR of every workspace.
	sources *prefixSet
	// countryCodes are the distinct default country codes of the trunks,
	// sorted, "" among them (see LookupFrom).
	countryCodes []string
}

// entry is one loaded workspace.
type entry struct {
	view   *WorkspaceView
	routes []*Route
	// loaded orders snapshots by the time they were read: when two
	// workspaces claim one number (one of them stale), the later read
	// wins, as a number has one owner at any instant.
	loaded uint64
	// snap is what the entry was compiled from, kept (without context
	// graphs: the routing hash has none) so that a number or trunk change
	// is applied to it without reading the workspace again (sync_items.go).
	snap *tenancy.Snapshot
}

func emptyTable() *table {
	return &table{numbers: map[string]*Route{}, workspaces: map[string]*entry{}, sources: newPrefixSet(nil), countryCodes: []string{""}}
}

// compile turns a snapshot into an entry. Items that do not parse (which
// validation on write should have prevented) are left out and reported in
// skipped, so that one bad item never takes the rest of the map down.
func compile(snap *tenancy.Snapshot, loaded uint64) (e *entry, skipped []string) {
	w := snap.Workspace
	v := &WorkspaceView{
		ID: w.ID, Name: w.Name, Environment: w.Environment, Status: w.Status,
		Limits: w.Limits, Settings: w.Settings, Version: snap.Version,
		Services:       make(map[string]*Service, len(snap.Services)),
		VoiceSettings:  snap.VoiceSettings,
		OperatorConfig: snap.OperatorConfig,
	}
	for _, id := range slices.Sorted(maps.Keys(snap.Trunks)) {
		t := snap.Trunks[id]
		tr := &Trunk{ID: t.ID, Name: t.Name, Username: t.Username, WorkspaceID: w.ID,
			CountryCode: t.DefaultCountryCode, RequestsPerSecond: t.RequestsPerSecond(), AcceptsRefer: t.AcceptsRefer,
			MediaEncryption: t.MediaEncryption, RTPLatching: t.RTPLatching}
		if t.Username != "" && t.HA1 != nil {
			tr.Realm, tr.HA1MD5, tr.HA1SHA256 = t.HA1.Realm, t.HA1.MD5, t.HA1.SHA256
		}
		for _, c := range t.AllowedCIDRs {
			p, err := tenancy.ParseCIDR(c)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("trunk %s: cidr %q", id, c))
				continue
			}
			if p, ok := canonPrefix(p); ok {
				tr.Prefixes = append(tr.Prefixes, p)
			}
		}
		v.Trunks = append(v.Trunks, tr)
	}
	for _, id := range slices.Sorted(maps.Keys(snap.OutboundTrunks)) {
		ot := snap.OutboundTrunks[id].Redacted()
		v.OutboundTrunks = append(v.OutboundTrunks, &ot)
	}
	for id, s := range snap.Services {
		target, err := tenancy.ParseTarget(s.Target)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("service %s: %v", id, err))
			continue
		}
		v.Services[id] = &Service{
			ID: s.ID, Name: s.Name, TargetURI: s.Target, Target: target,
		}
	}
	v.VoiceSettingsB64 = encodeVoiceSettings(snap.VoiceSettings)
	e = &entry{view: v, loaded: loaded, snap: snap}
	for _, key := range slices.Sorted(maps.Keys(snap.Numbers)) {
		n := snap.Numbers[key]
		number, ok := tenancy.NormalizeNumber(key)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("number %q: not E.164", key))
			continue
		}
		svc, ok := v.Services[n.ServiceID]
		if !ok {
			skipped = append(skipped, fmt.Sprintf("number %s: no usable service %q", number, n.ServiceID))
			continue
		}
		e.routes = append(e.routes, &Route{
			Number: number, Label: n.Label, Version: v.Version, Workspace: v, Service: svc,
			Trunks: v.Trunks, VoiceSettings: v.VoiceSettings, VoiceSettingsB64: v.VoiceSettingsB64,
		})
	}
	v.Numbers = len(e.routes)
	return e, skipped
}

// encodeVoiceSettings returns the base64url JSON of v, lists as [] rather
// than null so that services read one shape.
func encodeVoiceSettings(v tenancy.VoiceSettings) string {
	if v.Keyterms == nil {
		v.Keyterms = []string{}
	}
	if v.SensitiveTopics == nil {
		v.SensitiveTopics = []string{}
	}
	b, err := json.Marshal(v)
	if err != nil { // a struct of strings and a float: cannot happen
		b = []byte("{}")
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// buildTable returns a table of the given entries. Where two entries claim
// one number, the one loaded later wins.
func buildTable(seq int64, entries map[string]*entry) *table {
	t := &table{seq: seq, workspaces: entries}
	size := 0
	for _, e := range entries {
		size += len(e.routes)
	}
	t.numbers = make(map[string]*Route, size)
	for _, e := range byLoad(entries) {
		for _, r := range e.routes {
			t.numbers[r.Number] = r
		}
	}
	t.sources = sourcesOf(entries)
	t.countryCodes = countryCodesOf(entries)
	return t
}

// with returns a copy of t in which the workspaces of updates are replaced
// by their new entries (nil: removed), at sequence seq.
func (t *table) with(seq int64, updates map[string]*entry) *table {
	if len(updates) == 0 {
		if seq == t.seq {
			return t
		}
		c := *t
		c.seq = seq
		return &c
	}
	n := &table{seq: seq, workspaces: maps.Clone(t.workspaces), numbers: maps.Clone(t.numbers)}
	for id, e := range updates {
		if old, ok := n.workspaces[id]; ok {
			for _, r := range old.routes {
				if n.numbers[r.Number] == r {
					delete(n.numbers, r.Number)
				}
			}
		}
		if e == nil {
			delete(n.workspaces, id)
		} else {
			n.workspaces[id] = e
		}
	}
	for _, e := range byLoad(updates) {
		for _, r := range e.routes {
			n.numbers[r.Number] = r
		}
	}
	n.sources = sourcesOf(n.workspaces)
	n.countryCodes = countryCodesOf(n.workspaces)
	return n
}

// byLoad returns the non-nil entries ordered by load time.
func byLoad(m map[string]*entry) []*entry {
	out := make([]*entry, 0, len(m))
	for _, e := range m {
		if e != nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int {
		switch {
		case a.loaded < b.loaded:
			return -1
		case a.loaded > b.loaded:
			return 1
		}
		return 0
	})
	return out
}

func sourcesOf(entries map[string]*entry) *prefixSet {
	var ps []netip.Prefix
	for _, e := range entries {
		for _, tr := range e.view.Trunks {
			ps = append(ps, tr.Prefixes...)
		}
	}
	return newPrefixSet(ps)
}

func countryCodesOf(entries map[string]*entry) []string {
	seen := map[string]bool{"": true}
	for _, e := range entries {
		for _, tr := range e.view.Trunks {
			seen[tr.CountryCode] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
