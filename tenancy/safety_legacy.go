package tenancy

import (
	"bytes"
	"encoding/json"
	"strings"
)

// The first shape of a safety policy had blocked_topics, escalate_on and
// action (block, escalate or warn). Such a policy, sent by a client or
// stored before the change, reads as the current shape:
//
//   - every blocked topic and every escalate_on trigger becomes a monitor
//     concept named after it (lowercase, '_' between words) with the topic
//     as its description; severity high, or medium when action was warn;
//   - with action escalate, each of them also gets an escalation rule
//     {concept, action: escalate, mode: listen};
//   - block and warn add no rule: a blocked topic is a concept the agent
//     declines to discuss, described as such.
//
// The old fields are never written back nor shown: the next write of the
// policy stores the current shape.
type legacyPolicy struct {
	BlockedTopics []string `json:"blocked_topics"`
	EscalateOn    []string `json:"escalate_on"`
	Action        string   `json:"action"`
}

// safetyPolicyWire is what a policy may be read from: the current fields
// and the old ones.
type safetyPolicyWire struct {
	safetyPolicyFields
	legacyPolicy
}

// UnmarshalJSON reads the current shape and the first one (mapped, see
// legacyPolicy). Unknown fields are refused.
func (p *SafetyPolicy) UnmarshalJSON(b []byte) error {
	var w safetyPolicyWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	f := w.safetyPolicyFields
	*p = SafetyPolicy{
		ID: f.ID, Name: f.Name, Description: f.Description,
		MonitorConcepts: f.MonitorConcepts, RegulationTemplates: f.RegulationTemplates, EscalationRules: f.EscalationRules,
	}
	l := w.legacyPolicy
	if l.BlockedTopics == nil && l.EscalateOn == nil && l.Action == "" {
		return nil
	}
	p.legacy = &l
	p.migrate(l)
	return nil
}

// migrate maps the old fields onto the current ones.
func (p *SafetyPolicy) migrate(l legacyPolicy) {
	severity := "high"
	if l.Action == "warn" {
		severity = "medium"
	}
	have := map[string]bool{}
	for _, c := range p.MonitorConcepts {
		have[c.Concept] = true
	}
	add := func(topic, description string) {
		name := strings.ReplaceAll(Slug(topic), "-", "_")
		if name == "" || have[name] {
			return
		}
		have[name] = true
		p.MonitorConcepts = append(p.MonitorConcepts, MonitorConcept{Concept: name, Description: description, Severity: severity})
		if l.Action == ActionEscalate {
			p.EscalationRules = append(p.EscalationRules, EscalationRule{Concept: name, Action: ActionEscalate, Mode: ModeListen})
		}
	}
	for _, t := range l.BlockedTopics {
		add(t, "Blocked topic: the agent declines to discuss "+t)
	}
	for _, t := range l.EscalateOn {
		add(t, t)
	}
}

// validate checks the old fields as the first shape did.
func (l *legacyPolicy) validate() error {
	if err := validStrings("blocked_topics", l.BlockedTopics, 200, 100); err != nil {
		return err
	}
	if err := validStrings("escalate_on", l.EscalateOn, 200, 100); err != nil {
		return err
	}
	switch l.Action {
	case "", "block", "escalate", "warn":
	default:
		return invalid("action", "must be block, escalate or warn (deprecated: use escalation_rules)")
	}
	return nil
}
