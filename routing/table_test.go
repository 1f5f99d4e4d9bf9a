package routing

import (
	"encoding/base64"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

func snapshot(id string, version int64, numbers ...string) *tenancy.Snapshot {
	s := &tenancy.Snapshot{
		Workspace: tenancy.Workspace{ID: id, Name: id, Environment: tenancy.EnvStaging, Status: tenancy.StatusActive},
		Version:   version,
		Services:  map[string]tenancy.Service{"agent": {ID: "agent", Name: "Agent", Target: "sip:agent@10.0.0.1"}},
		Numbers:   map[string]tenancy.PhoneNumber{},
		Trunks:    map[string]tenancy.Trunk{"t": {ID: "t", Name: "T", AllowedCIDRs: []string{"192.0.2.0/24"}}},
	}
	for _, n := range numbers {
		s.Numbers[n] = tenancy.PhoneNumber{Number: n, ServiceID: "agent"}
	}
	return s
}

// TestNumberClaimedTwice: while a number moves between workspaces the map
// may briefly hold a stale snapshot that still lists it; the snapshot read
// later is the truth, whatever the order of the updates.
func TestNumberClaimedTwice(t *testing.T) {
	const n = "+15551230001"
	compiled := func(s *tenancy.Snapshot, loaded uint64) *entry {
		e, skipped := compile(s, loaded)
		if len(skipped) != 0 {
			t.Fatalf("skipped %v", skipped)
		}
		return e
	}
	tests := []struct {
		name  string
		build func() *table
		owner string // "" = no route
	}{
		{"full build: later load wins", func() *table {
			return buildTable(1, map[string]*entry{
				"ws_b": compiled(snapshot("ws_b", 3, n), 2),
				"ws_a": compiled(snapshot("ws_a", 7, n), 1),
			})
		}, "ws_b"},
		{"update of the new owner wins over a stale one", func() *table {
			t0 := buildTable(1, map[string]*entry{"ws_a": compiled(snapshot("ws_a", 7, n), 1)})
			return t0.with(2, map[string]*entry{"ws_b": compiled(snapshot("ws_b", 3, n), 2)})
		}, "ws_b"},
		{"stale owner's reload without the number leaves the new owner", func() *table {
			t0 := buildTable(1, map[string]*entry{
				"ws_a": compiled(snapshot("ws_a", 7, n), 1),
				"ws_b": compiled(snapshot("ws_b", 3, n), 2),
			})
			return t0.with(2, map[string]*entry{"ws_a": compiled(snapshot("ws_a", 8), 3)})
		}, "ws_b"},
		{"owner released it: a stale claim does not come back", func() *table {
			t0 := buildTable(1, map[string]*entry{
				"ws_a": compiled(snapshot("ws_a", 7, n), 1),
				"ws_b": compiled(snapshot("ws_b", 3, n), 2),
			})
			return t0.with(2, map[string]*entry{"ws_b": compiled(snapshot("ws_b", 4), 3)})
		}, ""},
		{"workspace dropped", func() *table {
			t0 := buildTable(1, map[string]*entry{"ws_a": compiled(snapshot("ws_a", 7, n), 1)})
			return t0.with(2, map[string]*entry{"ws_a": nil})
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := tc.build()
			r, ok := tb.numbers[n]
			switch {
			case tc.owner == "" && ok:
				t.Fatalf("%s routed to %s, want nothing", n, r.Workspace.ID)
			case tc.owner != "" && (!ok || r.Workspace.ID != tc.owner):
				t.Fatalf("%s routed to %+v, want %s", n, r, tc.owner)
			}
		})
	}
}

func TestCompileLeavesOutBadItems(t *testing.T) {
	s := snapshot("ws_a", 1, "+15551230001")
	s.Services["broken"] = tenancy.Service{ID: "broken", Name: "Broken", Target: "http://nope"}
	s.Numbers["+15551230002"] = tenancy.PhoneNumber{Number: "+15551230002", ServiceID: "broken"}
	s.Numbers["+15551230003"] = tenancy.PhoneNumber{Number: "+15551230003", ServiceID: "missing"}
	s.Numbers["not-a-number"] = tenancy.PhoneNumber{Number: "not-a-number", ServiceID: "agent"}
	s.Trunks["t"] = tenancy.Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"192.0.2.0/24", "300.1.1.1/8"}}
	e, skipped := compile(s, 1)
	if len(skipped) != 5 {
		t.Errorf("skipped = %q, want 5 items", skipped)
	}
	if len(e.routes) != 1 || e.routes[0].Number != "+15551230001" || e.view.Numbers != 1 {
		t.Errorf("routes = %+v", e.routes)
	}
	if p := e.view.Trunks[0].Prefixes; len(p) != 1 {
		t.Errorf("prefixes = %v", p)
	}
	raw, err := base64.RawURLEncoding.DecodeString(e.view.VoiceSettingsB64)
	if err != nil || string(raw) != `{"tts_voice":"","speed":0,"keyterms":[],"sensitive_topics":[]}` {
		t.Errorf("empty voice settings = %s %v", raw, err)
	}
}
