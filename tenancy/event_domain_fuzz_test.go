package tenancy

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDomainEvent feeds arbitrary types and data to the domain event
// validators: they never panic, refuse with a *ValidationError naming type
// or data, and what they accept is within the bounds.
func FuzzDomainEvent(f *testing.F) {
	for _, seed := range [][2]string{
		{"appointment.booked", `{"slot":"09:00"}`}, {"call.ended", `{}`}, {"a.b", `[1]`}, {"a..b", ``},
		{"x.y", `{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}`}, {"é.b", `"s"`}, {"a.b", `{"a":"\u0000"}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, typ, data string) {
		for _, err := range []error{ValidateEventType(typ), ValidateEventData(json.RawMessage(data))} {
			var ve *ValidationError
			if err != nil && (!errors.As(err, &ve) || ve.Field != "type" && ve.Field != "data") {
				t.Fatalf("error %v names no field", err)
			}
		}
		if ValidateEventData(json.RawMessage(data)) == nil && data != "" && data != "null" {
			var m map[string]any
			if json.Unmarshal([]byte(data), &m) != nil || len(data) > MaxEventDataBytes {
				t.Fatalf("accepted data that is not a bounded JSON object: %q", data)
			}
		}
	})
}

// FuzzSafetyPolicy decodes arbitrary JSON as a safety policy (current or
// first shape) and validates it: never a panic, every refusal names a
// field.
func FuzzSafetyPolicy(f *testing.F) {
	for _, seed := range []string{
		`{"id":"p","name":"P","monitor_concepts":[{"concept":"x","severity":"low"}],"escalation_rules":[{"concept":"x","action":"end_call"}]}`,
		`{"id":"p","name":"P","blocked_topics":["a b"],"escalate_on":["c"],"action":"escalate"}`,
		`{"id":"p","name":"P","regulation_templates":["emergency-988-routing@1"]}`, `{"action":7}`, `[]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var p SafetyPolicy
		if json.Unmarshal([]byte(data), &p) != nil {
			return
		}
		if err := p.Validate(); err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field == "" {
				t.Fatalf("error %v names no field", err)
			}
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a valid policy: %v", err)
		}
		var again SafetyPolicy
		if err := json.Unmarshal(b, &again); err != nil || again.Validate() != nil {
			t.Fatalf("a valid policy does not read back: %s %v", b, err)
		}
	})
}
