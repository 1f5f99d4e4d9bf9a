package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestPlaceCall checks POST /v1/workspaces/{ws}/calls: member+ places a
// call (201, direction outbound, a dial request for the edges), viewer 403,
// and every refusal names its field; B's numbers, trunks and services are
// for A what unknown ones are.
func TestPlaceCall(t *testing.T) {
	env := newTestEnv(t)
	a := env.newWorkspace(t, tenancy.EnvStaging)
	b := env.newWorkspace(t, tenancy.EnvStaging)
	for _, fx := range []*fixture{a, b} {
		env.must(t, 201, "POST", fx.path("/services"), fx.keys["admin"], itemBody("services", "svc-main"))
		env.must(t, 201, "POST", fx.path("/outbound-trunks"), fx.keys["admin"], outboundBody())
	}
	env.must(t, 201, "POST", a.path("/phone-numbers"), a.keys["admin"], map[string]any{"number": "+13125550100", "service_id": "svc-main"})
	env.must(t, 201, "POST", b.path("/phone-numbers"), b.keys["admin"], map[string]any{"number": "+13125550199", "service_id": "svc-main"})
	env.must(t, 201, "POST", b.path("/outbound-trunks"), b.keys["admin"], func() map[string]any {
		o := outboundBody()
		o["id"], o["allowed_prefixes"] = "b-only", []string{"+44"}
		return o
	}())
	good := func() map[string]any {
		return map[string]any{"from": "+13125550100", "to": "+13125550142", "service_id": "svc-main"}
	}
	path := a.path("/calls")

	if r := env.req(t, "POST", path, a.keys["viewer"], good()); r.status != 403 {
		t.Fatalf("viewer places a call: %d %s", r.status, r.body)
	}
	var call tenancy.CallRecord
	r := env.must(t, 201, "POST", path, a.keys["member"], good())
	r.decode(t, &call)
	if call.Direction != "outbound" || call.WorkspaceID != a.id || call.From != "+13125550100" || call.To != "+13125550142" || !strings.HasPrefix(call.ID, "call_") {
		t.Fatalf("call %+v", call)
	}
	var got tenancy.CallRecord
	env.must(t, 200, "GET", a.path("/calls/"+call.ID), a.keys["viewer"], nil).decode(t, &got)
	if got.ID != call.ID || got.Direction != "outbound" {
		t.Fatalf("GET call %+v", got)
	}
	env.must(t, 404, "GET", b.path("/calls/"+call.ID), b.keys["owner"], nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dials, err := env.store.ReadDials(ctx, "node-test", 100*time.Millisecond)
	if err != nil || len(dials) != 1 || dials[0].CallID != call.ID || dials[0].TrunkID != "carrier-out" || dials[0].WorkspaceID != a.id {
		t.Fatalf("dial requests %+v %v", dials, err)
	}

	refusals := []struct {
		name   string
		edit   func(map[string]any)
		status int
		field  string
	}{
		{"from of B", func(m map[string]any) { m["from"] = "+13125550199" }, 422, "from"},
		{"from of nobody", func(m map[string]any) { m["from"] = "+13125550777" }, 422, "from"},
		{"from with letters", func(m map[string]any) { m["from"] = "+1312555abcd" }, 422, "from"},
		{"to with letters", func(m map[string]any) { m["to"] = "+1312CALLNOW" }, 422, "to"},
		{"to too many digits", func(m map[string]any) { m["to"] = "+131255501001234567" }, 422, "to"},
		{"to outside the prefixes", func(m map[string]any) { m["to"] = "+442071234567" }, 403, "to"},
		{"to premium", func(m map[string]any) { m["to"] = "+19005550100" }, 403, "to"},
		{"unknown service", func(m map[string]any) { m["service_id"] = "nope" }, 422, "service_id"},
		{"B's trunk", func(m map[string]any) { m["outbound_trunk_id"] = "b-only" }, 422, "outbound_trunk_id"},
		{"bad voice settings", func(m map[string]any) { m["voice_settings"] = map[string]any{"speed": 9} }, 422, "voice_settings.speed"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			body := good()
			tc.edit(body)
			r := env.req(t, "POST", path, a.keys["member"], body)
			if r.status != tc.status || !strings.Contains(r.apiErr(t).Message, tc.field) {
				t.Fatalf("status %d %s, want %d naming %s", r.status, r.body, tc.status, tc.field)
			}
		})
	}
	// A number B owns is, for A, an ordinary PSTN number: dialled through
	// A's own trunk, never refused for being B's.
	body := good()
	body["to"] = "+13125550199"
	env.must(t, 201, "POST", path, a.keys["member"], body).decode(t, &call)
	dials, err = env.store.ReadDials(ctx, "node-test", 100*time.Millisecond)
	if err != nil || len(dials) != 1 || dials[0].WorkspaceID != a.id || dials[0].TrunkID != "carrier-out" {
		t.Fatalf("dial to B's number %+v %v", dials, err)
	}
}
