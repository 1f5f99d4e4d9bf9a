package admin

import (
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// TestCreateWithoutID posts items without id to every collection that
// derives one: 201 with the slug of the name (made unique), Location to
// it; a client-chosen id keeps working.
func TestCreateWithoutID(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	admin := fx.keys["admin"]
	tests := []struct {
		name, kind string
		body       map[string]any
		wantID     string // "prefix*" matches a generated id
	}{
		{"service", "services", map[string]any{"name": "Front Desk", "target": "sip:a@10.0.0.1"}, "front-desk"},
		{"service again", "services", map[string]any{"name": "front desk", "target": "sip:a@10.0.0.1"}, "front-desk-2"},
		{"service with an id", "services", map[string]any{"id": "chosen", "name": "Front Desk", "target": "sip:a@10.0.0.1"}, "chosen"},
		{"service without a usable name", "services", map[string]any{"name": "???", "target": "sip:a@10.0.0.1"}, "svc-*"},
		{"trunk", "trunks", map[string]any{"name": "Carrier A", "allowed_cidrs": []string{"203.0.113.0/24"}}, "carrier-a"},
		{"safety policy", "safety-policies", map[string]any{"name": "Emergencies", "regulation_templates": []string{"emergency-988-routing"}}, "emergencies"},
		{"data source", "data-sources", map[string]any{"name": "Main EHR", "kind": "fhir", "base_url": "https://ehr.example.org"}, "main-ehr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]any
			res := env.must(t, 201, "POST", fx.path("/"+tc.kind), admin, tc.body)
			res.decode(t, &got)
			id, _ := got["id"].(string)
			if p, ok := strings.CutSuffix(tc.wantID, "*"); ok && !strings.HasPrefix(id, p) || !ok && id != tc.wantID {
				t.Fatalf("id %q, want %q", id, tc.wantID)
			}
			if loc := res.header.Get("Location"); loc != fx.path("/"+tc.kind+"/"+id) {
				t.Fatalf("Location %q", loc)
			}
			env.must(t, 200, "GET", fx.path("/"+tc.kind+"/"+id), fx.keys["viewer"], nil)
		})
	}
	t.Run("a phone number needs its number", func(t *testing.T) {
		before := env.stateOf(t, fx.id)
		res := env.must(t, 422, "POST", fx.path("/phone-numbers"), admin, map[string]any{"service_id": "front-desk"})
		if e := res.apiErr(t); e.Field != "number" {
			t.Fatalf("field %q", e.Field)
		}
		if env.stateOf(t, fx.id) != before {
			t.Fatalf("a refused POST wrote")
		}
	})
}

// TestSafetyPolicyAPI writes policies in the product's vocabulary and in
// the first shape (mapped), refuses bad ones naming the field and guards
// production.
func TestSafetyPolicyAPI(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	admin := fx.keys["admin"]
	var tpl listPage[tenancy.RegulationTemplate]
	env.must(t, 200, "GET", "/v1/regulation-templates", "", nil).decode(t, &tpl)
	if len(tpl.Items) < 4 || tpl.Items[0].Ref == "" || len(tpl.Items[0].Rules) == 0 {
		t.Fatalf("templates: %+v", tpl)
	}
	bad := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown template", map[string]any{"name": "P", "regulation_templates": []string{"gdpr"}}, "regulation_templates[0]"},
		{"bad severity", map[string]any{"name": "P", "monitor_concepts": []map[string]string{{"concept": "x", "severity": "dire"}}}, "monitor_concepts[0].severity"},
		{"rule of an unknown concept", map[string]any{"name": "P", "escalation_rules": []map[string]string{{"concept": "x", "action": "escalate", "mode": "listen"}}}, "escalation_rules[0].concept"},
		{"escalate without mode", map[string]any{"name": "P", "escalation_rules": []map[string]string{{"condition": "after_hours", "action": "escalate"}}}, "escalation_rules[0].mode"},
		{"bad transfer target", map[string]any{"name": "P", "escalation_rules": []map[string]string{{"condition": "after_hours", "action": "transfer", "target": "elsewhere"}}}, "escalation_rules[0].target"},
		{"old action", map[string]any{"name": "P", "action": "ignore"}, "action"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := env.stateOf(t, fx.id)
			e := env.must(t, 422, "POST", fx.path("/safety-policies"), admin, tc.body).apiErr(t)
			if e.Field != tc.field {
				t.Fatalf("field %q, want %q", e.Field, tc.field)
			}
			if env.stateOf(t, fx.id) != before {
				t.Fatalf("a refused policy was written")
			}
		})
	}
	t.Run("first shape is mapped", func(t *testing.T) {
		var p map[string]any
		env.must(t, 201, "POST", fx.path("/safety-policies"), admin, map[string]any{
			"id": "old", "name": "Old", "blocked_topics": []string{}, "escalate_on": []string{"chest pain"}, "action": "escalate",
		}).decode(t, &p)
		if _, ok := p["action"]; ok {
			t.Fatalf("old field shown: %v", p)
		}
		rules, _ := p["escalation_rules"].([]any)
		if len(rules) != 1 || rules[0].(map[string]any)["concept"] != "chest_pain" {
			t.Fatalf("rules %v", p["escalation_rules"])
		}
	})
	t.Run("production is guarded", func(t *testing.T) {
		prod := env.newWorkspace(t, tenancy.EnvProduction)
		res := env.must(t, 409, "POST", prod.path("/safety-policies"), prod.keys["admin"], map[string]any{"name": "P"})
		if e := res.apiErr(t); e.Code != CodePromotionRequired {
			t.Fatalf("code %q", e.Code)
		}
	})
}
