package admin

import (
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

func outboundBody() map[string]any {
	return map[string]any{
		"id": "carrier-out", "name": "Carrier termination",
		"gateways": []map[string]any{{"host": "198.51.100.10", "port": 5060, "transport": "udp", "priority": 10, "weight": 100},
			{"host": "198.51.100.11", "port": 5060, "transport": "udp", "priority": 20, "weight": 100}},
		"username": "clinic-01", "password": "carrier-secret-1",
		"caller_id": map[string]any{"mode": "own_numbers"},
		"max_cps":   5, "allowed_prefixes": []string{"+1312"},
	}
}

// TestOutboundTrunks checks the outbound-trunks collection: admin+ writes,
// member and viewer read, the password never comes back, and validation
// names the field.
func TestOutboundTrunks(t *testing.T) {
	env := newTestEnv(t)
	a := env.newWorkspace(t, tenancy.EnvStaging)
	path := a.path("/outbound-trunks")
	for _, role := range []tenancy.Role{tenancy.RoleMember, tenancy.RoleViewer} {
		if r := env.req(t, "POST", path, a.keys[role], outboundBody()); r.status != 403 {
			t.Fatalf("%s creates an outbound trunk: %d %s", role, r.status, r.body)
		}
	}
	r := env.must(t, 201, "POST", path, a.keys[tenancy.RoleAdmin], outboundBody())
	if strings.Contains(string(r.body), "carrier-secret-1") {
		t.Fatalf("create answers the password: %s", r.body)
	}
	for _, role := range tenancy.Roles {
		for _, p := range []string{path, path + "/carrier-out"} {
			r := env.must(t, 200, "GET", p, a.keys[role], nil)
			if strings.Contains(string(r.body), "carrier-secret-1") || strings.Contains(string(r.body), `"password"`) {
				t.Fatalf("GET %s as %s shows the password: %s", p, role, r.body)
			}
		}
	}
	// Read-modify-write of what GET shows keeps the password.
	var shown map[string]any
	env.must(t, 200, "GET", path+"/carrier-out", a.keys[tenancy.RoleAdmin], nil).decode(t, &shown)
	shown["name"] = "Renamed"
	env.must(t, 200, "PUT", path+"/carrier-out", a.keys[tenancy.RoleAdmin], shown)
	if _, pass, err := env.store.OutboundCredentials(t.Context(), a.id, "carrier-out"); err != nil || pass != "carrier-secret-1" {
		t.Fatalf("password after replace: %q %v", pass, err)
	}

	bad := []struct {
		name, field string
		edit        func(map[string]any)
	}{
		{"prefix with letters", "allowed_prefixes", func(b map[string]any) { b["allowed_prefixes"] = []string{"+13x"} }},
		{"too many digits", "allowed_prefixes", func(b map[string]any) { b["allowed_prefixes"] = []string{"+13125550100123456"} }},
		{"no gateway", "gateways", func(b map[string]any) { b["gateways"] = []any{} }},
		{"caller id mode", "caller_id.mode", func(b map[string]any) { b["caller_id"] = map[string]any{"mode": "anything"} }},
		{"caller id not own", "caller_id.number", func(b map[string]any) {
			b["caller_id"] = map[string]any{"mode": "fixed", "number": "+13125550100"}
		}},
		{"cps", "max_cps", func(b map[string]any) { b["max_cps"] = 5000 }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			b := outboundBody()
			b["id"] = "bad"
			tc.edit(b)
			r := env.req(t, "POST", path, a.keys[tenancy.RoleAdmin], b)
			if r.status != 422 || !strings.Contains(r.apiErr(t).Message, tc.field) {
				t.Fatalf("status %d %s, want 422 naming %s", r.status, r.body, tc.field)
			}
		})
	}
}
