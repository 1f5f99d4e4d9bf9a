package tenancy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSafetyPolicyValidate(t *testing.T) {
	concepts := []MonitorConcept{{Concept: "chest_pain", Severity: "critical"}, {Concept: "billing", Description: "money", Severity: "low"}}
	tests := []struct {
		name  string
		p     SafetyPolicy
		field string // "" when valid
	}{
		{"concepts and rules", SafetyPolicy{MonitorConcepts: concepts, EscalationRules: []EscalationRule{
			{Concept: "chest_pain", Action: "escalate", Mode: "barge", Message: "Connecting you now."},
			{Condition: "caller_requests_human", Action: "transfer", Target: "operators", Mode: "listen"},
			{Concept: "billing", Action: "transfer", Target: "service:billing-desk"},
			{Condition: "after_hours", Action: "transfer", Target: "pstn:+13125550100"},
			{Condition: "call_duration_exceeded", Action: "end_call", Message: "Goodbye."},
		}}, ""},
		{"template concept", SafetyPolicy{RegulationTemplates: []string{"emergency-988-routing"}, EscalationRules: []EscalationRule{
			{Concept: "suicidal_ideation", Action: "escalate", Mode: "barge"}}}, ""},
		{"pinned template", SafetyPolicy{RegulationTemplates: []string{"hipaa-minimum-necessary@1"}}, ""},
		{"unknown template", SafetyPolicy{RegulationTemplates: []string{"gdpr"}}, "regulation_templates[0]"},
		{"unknown version", SafetyPolicy{RegulationTemplates: []string{"hipaa-minimum-necessary@9"}}, "regulation_templates[0]"},
		{"template twice", SafetyPolicy{RegulationTemplates: []string{"hipaa-minimum-necessary", "hipaa-minimum-necessary@1"}}, "regulation_templates[1]"},
		{"bad concept name", SafetyPolicy{MonitorConcepts: []MonitorConcept{{Concept: "Chest Pain", Severity: "high"}}}, "monitor_concepts[0].concept"},
		{"concept twice", SafetyPolicy{MonitorConcepts: []MonitorConcept{concepts[0], concepts[0]}}, "monitor_concepts[1].concept"},
		{"no severity", SafetyPolicy{MonitorConcepts: []MonitorConcept{{Concept: "x"}}}, "monitor_concepts[0].severity"},
		{"rule of unknown concept", SafetyPolicy{EscalationRules: []EscalationRule{{Concept: "nope", Action: "escalate", Mode: "listen"}}}, "escalation_rules[0].concept"},
		{"rule of nothing", SafetyPolicy{EscalationRules: []EscalationRule{{Action: "escalate", Mode: "listen"}}}, "escalation_rules[0].concept"},
		{"rule of both", SafetyPolicy{MonitorConcepts: concepts, EscalationRules: []EscalationRule{{Concept: "billing", Condition: "after_hours", Action: "end_call"}}}, "escalation_rules[0].condition"},
		{"unknown condition", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "full_moon", Action: "end_call"}}}, "escalation_rules[0].condition"},
		{"unknown action", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "block"}}}, "escalation_rules[0].action"},
		{"escalate without mode", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "escalate"}}}, "escalation_rules[0].mode"},
		{"transfer without target", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "transfer"}}}, "escalation_rules[0].target"},
		{"transfer to a bad number", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "transfer", Target: "pstn:911"}}}, "escalation_rules[0].target"},
		{"mode on a pstn transfer", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "transfer", Target: "pstn:+13125550100", Mode: "barge"}}}, "escalation_rules[0].mode"},
		{"end_call with target", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "end_call", Target: "operators"}}}, "escalation_rules[0].target"},
		{"long message", SafetyPolicy{EscalationRules: []EscalationRule{{Condition: "after_hours", Action: "end_call", Message: strings.Repeat("x", 501)}}}, "escalation_rules[0].message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.ID, tc.p.Name = "p", "Policy"
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid policy: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}

// TestRegulationTemplatesValid checks every shipped template: a policy
// that references it validates (its own rules name its own concepts).
func TestRegulationTemplatesValid(t *testing.T) {
	seen := map[string]bool{}
	for _, tpl := range RegulationTemplates() {
		t.Run(tpl.Ref, func(t *testing.T) {
			if seen[tpl.Ref] || tpl.Name == "" || tpl.Summary == "" || len(tpl.Rules) == 0 {
				t.Fatalf("template %s: duplicate or undocumented", tpl.Ref)
			}
			seen[tpl.Ref] = true
			p := SafetyPolicy{ID: "p", Name: "P", RegulationTemplates: []string{tpl.Ref}, EscalationRules: tpl.EscalationRules}
			if err := p.Validate(); err != nil {
				t.Fatalf("a policy of template %s: %v", tpl.Ref, err)
			}
			if got, ok := LookupRegulationTemplate(tpl.ID); !ok || got.ID != tpl.ID {
				t.Fatalf("lookup %s: %v %v", tpl.ID, got, ok)
			}
		})
	}
	for _, want := range []string{"hipaa-minimum-necessary", "identity-verification-before-phi", "emergency-988-routing", "recording-consent-by-state"} {
		if !seen[want+"@1"] {
			t.Errorf("template %s is not shipped", want)
		}
	}
}

// TestSafetyPolicyLegacy reads the first policy shape and checks the
// mapping documented on legacyPolicy; what is written back is the current
// shape only.
func TestSafetyPolicyLegacy(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		concepts  []MonitorConcept
		rules     []EscalationRule
		invalidAt string
	}{
		{"escalate", `{"id":"p","name":"P","blocked_topics":[],"escalate_on":["chest pain","Suicidal thoughts"],"action":"escalate"}`,
			[]MonitorConcept{{"chest_pain", "chest pain", "high"}, {"suicidal_thoughts", "Suicidal thoughts", "high"}},
			[]EscalationRule{{Concept: "chest_pain", Action: "escalate", Mode: "listen"}, {Concept: "suicidal_thoughts", Action: "escalate", Mode: "listen"}}, ""},
		{"block", `{"id":"p","name":"P","blocked_topics":["diagnosis"],"escalate_on":[],"action":"block"}`,
			[]MonitorConcept{{"diagnosis", "Blocked topic: the agent declines to discuss diagnosis", "high"}}, nil, ""},
		{"warn", `{"id":"p","name":"P","escalate_on":["refuses verification"],"action":"warn"}`,
			[]MonitorConcept{{"refuses_verification", "refuses verification", "medium"}}, nil, ""},
		{"merged with new fields", `{"id":"p","name":"P","monitor_concepts":[{"concept":"diagnosis","severity":"low"}],"blocked_topics":["diagnosis"],"action":"block"}`,
			[]MonitorConcept{{"diagnosis", "", "low"}}, nil, ""},
		{"bad action", `{"id":"p","name":"P","action":"ignore"}`, nil, nil, "action"},
		{"bad topic", `{"id":"p","name":"P","blocked_topics":[""],"action":"block"}`, nil, nil, "blocked_topics[]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p SafetyPolicy
			if err := json.Unmarshal([]byte(tc.in), &p); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			err := p.Validate()
			if tc.invalidAt != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Field != tc.invalidAt {
					t.Fatalf("error %v, want one naming %s", err, tc.invalidAt)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			gotC, _ := json.Marshal(p.MonitorConcepts)
			wantC, _ := json.Marshal(tc.concepts)
			gotR, _ := json.Marshal(p.EscalationRules)
			wantR, _ := json.Marshal(tc.rules)
			if string(gotC) != string(wantC) || string(gotR) != string(wantR) {
				t.Fatalf("mapped to\n%s %s\nwant\n%s %s", gotC, gotR, wantC, wantR)
			}
			out, _ := json.Marshal(p)
			for _, old := range []string{"blocked_topics", "escalate_on", `"action":"block"`} {
				if strings.Contains(string(out), old) {
					t.Fatalf("written back with %s: %s", old, out)
				}
			}
		})
	}
	var p SafetyPolicy
	if err := json.Unmarshal([]byte(`{"id":"p","name":"P","topics":[]}`), &p); err == nil {
		t.Fatalf("an unknown field is accepted")
	}
}
