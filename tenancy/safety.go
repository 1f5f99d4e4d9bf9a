package tenancy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafetyPolicy says what a workspace's agents watch for and what they do
// about it, in the product's vocabulary (design section 12): the concepts
// they monitor, the regulation templates the platform ships that apply,
// and escalation rules.
type SafetyPolicy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// MonitorConcepts are what the agent detects in the conversation.
	MonitorConcepts []MonitorConcept `json:"monitor_concepts"`
	// RegulationTemplates are references ("<id>" or "<id>@<version>") to
	// templates of RegulationTemplates; "<id>" means its latest version.
	RegulationTemplates []string `json:"regulation_templates"`
	// EscalationRules say what happens when a concept is detected or a
	// condition holds.
	EscalationRules []EscalationRule `json:"escalation_rules"`

	// legacy holds the fields of the first policy shape (blocked_topics,
	// escalate_on, action) as read, already mapped onto the fields above;
	// Validate checks them so that errors name the field the client sent.
	legacy *legacyPolicy
}

// MonitorConcept is a concept an agent detects, with its severity.
type MonitorConcept struct {
	// Concept is its name: 1-64 of a-z, 0-9, '_' and '-'.
	Concept     string `json:"concept"`
	Description string `json:"description,omitempty"`
	// Severity is low, medium, high or critical.
	Severity string `json:"severity"`
}

// Severities of monitor concepts, least severe first.
var Severities = []string{"low", "medium", "high", "critical"}

// EscalationRule is what happens when Concept is detected or Condition
// holds (exactly one of the two): escalate to an operator in Mode,
// transfer to Target, or end the call, saying Message first.
type EscalationRule struct {
	Concept   string `json:"concept,omitempty"`
	Condition string `json:"condition,omitempty"`
	// Action is escalate, transfer or end_call.
	Action string `json:"action"`
	// Mode is the operator mode an escalation asks for (listen, whisper,
	// barge): required with escalate.
	Mode string `json:"mode,omitempty"`
	// Target of a transfer: "operators", "service:<service id>" or
	// "pstn:+E164". It must also be a target of the operator config's
	// transfer policy when the transfer happens (design section 11).
	Target string `json:"target,omitempty"`
	// Message is what the agent says first (at most 500 characters).
	Message string `json:"message,omitempty"`
}

// Escalation actions.
const (
	ActionEscalate = "escalate"
	ActionTransfer = "transfer"
	ActionEndCall  = "end_call"
)

// EscalationActions lists the actions of escalation rules.
var EscalationActions = []string{ActionEscalate, ActionTransfer, ActionEndCall}

// EscalationConditions are the conditions a rule can name instead of a
// concept; the agent (or the edge) decides when one holds.
var EscalationConditions = []string{
	"caller_requests_human",     // the caller asks for a person
	"identity_not_verified",     // identity verification failed or was refused
	"repeated_misunderstanding", // the agent failed to understand the caller several times
	"agent_low_confidence",      // the agent is not confident in its answer
	"after_hours",               // the call arrives outside the clinic's opening hours
	"call_duration_exceeded",    // the call is longer than the service's agent_config allows
}

// Bounds of a safety policy.
const (
	maxConcepts     = 100
	maxTemplateRefs = 20
	maxRules        = 100
	maxRuleText     = 500
)

// Validate checks every field of p.
func (p *SafetyPolicy) Validate() error {
	if err := validID("id", p.ID); err != nil {
		return err
	}
	if err := validName("name", p.Name); err != nil {
		return err
	}
	if len(p.Description) > 2000 {
		return invalid("description", "at most 2000 characters")
	}
	if p.legacy != nil {
		if err := p.legacy.validate(); err != nil {
			return err
		}
	}
	concepts, err := p.validConcepts()
	if err != nil {
		return err
	}
	if len(p.RegulationTemplates) > maxTemplateRefs {
		return invalid("regulation_templates", "at most %d templates", maxTemplateRefs)
	}
	seen := map[string]bool{}
	for i, ref := range p.RegulationTemplates {
		field := fmt.Sprintf("regulation_templates[%d]", i)
		t, ok := LookupRegulationTemplate(ref)
		if !ok {
			return invalid(field, "unknown regulation template %q (GET /v1/regulation-templates lists them)", ref)
		}
		if seen[t.ID] {
			return invalid(field, "template %s is listed twice", t.ID)
		}
		seen[t.ID] = true
		for _, c := range t.MonitorConcepts {
			concepts[c.Concept] = true
		}
	}
	if len(p.EscalationRules) > maxRules {
		return invalid("escalation_rules", "at most %d rules", maxRules)
	}
	for i := range p.EscalationRules {
		if err := p.EscalationRules[i].validate(fmt.Sprintf("escalation_rules[%d]", i), concepts); err != nil {
			return err
		}
	}
	return nil
}

// validConcepts checks the monitor concepts and returns their names.
func (p *SafetyPolicy) validConcepts() (map[string]bool, error) {
	if len(p.MonitorConcepts) > maxConcepts {
		return nil, invalid("monitor_concepts", "at most %d concepts", maxConcepts)
	}
	names := map[string]bool{}
	for i, c := range p.MonitorConcepts {
		field := fmt.Sprintf("monitor_concepts[%d]", i)
		if err := validID(field+".concept", c.Concept); err != nil {
			return nil, err
		}
		if names[c.Concept] {
			return nil, invalid(field+".concept", "concept %q is listed twice", c.Concept)
		}
		names[c.Concept] = true
		if err := validText(field+".description", c.Description, maxRuleText); err != nil {
			return nil, err
		}
		if !slices.Contains(Severities, c.Severity) {
			return nil, invalid(field+".severity", "must be low, medium, high or critical")
		}
	}
	return names, nil
}

func (r *EscalationRule) validate(field string, concepts map[string]bool) error {
	switch {
	case r.Concept == "" && r.Condition == "":
		return invalid(field+".concept", "a rule names a concept or a condition")
	case r.Concept != "" && r.Condition != "":
		return invalid(field+".condition", "a rule names a concept or a condition, not both")
	case r.Concept != "" && !concepts[r.Concept]:
		return invalid(field+".concept", "%q is not a monitor concept of this policy or of its regulation templates", r.Concept)
	case r.Condition != "" && !slices.Contains(EscalationConditions, r.Condition):
		return invalid(field+".condition", "must be one of %s", strings.Join(EscalationConditions, ", "))
	}
	switch r.Action {
	case ActionEscalate:
		if !slices.Contains(OperatorModes, r.Mode) {
			return invalid(field+".mode", "an escalation asks for an operator mode: listen, whisper or barge")
		}
		if r.Target != "" && r.Target != "operators" {
			return invalid(field+".target", "an escalation goes to the operators; use action transfer for other targets")
		}
	case ActionTransfer:
		if err := validTransferTarget(field+".target", r.Target); err != nil {
			return err
		}
		if r.Mode != "" && (r.Target != "operators" || !slices.Contains(OperatorModes, r.Mode)) {
			return invalid(field+".mode", "only a transfer to the operators takes a mode (listen, whisper or barge)")
		}
	case ActionEndCall:
		if r.Mode != "" || r.Target != "" {
			return invalid(field+".target", "end_call takes neither a mode nor a target")
		}
	default:
		return invalid(field+".action", "must be escalate, transfer or end_call")
	}
	return validText(field+".message", r.Message, maxRuleText)
}

// validTransferTarget accepts "operators", "service:<id>" and "pstn:+E164".
func validTransferTarget(field, t string) error {
	kind, rest, _ := strings.Cut(t, ":")
	switch {
	case t == "operators":
		return nil
	case kind == "service" && ValidID(rest):
		return nil
	case kind == "pstn":
		if n, ok := NormalizeNumber(rest); ok && n == rest {
			return nil
		}
	}
	return invalid(field, `must be "operators", "service:<service id>" or "pstn:+<E.164 number>"`)
}

// validText accepts an optional UTF-8 text of at most max characters,
// without control characters other than newlines and tabs.
func validText(field, s string, max int) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return invalid(field, "must be valid UTF-8 of at most %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// safetyPolicyFields is SafetyPolicy without its methods.
type safetyPolicyFields struct {
	ID                  string           `json:"id"`
	Name                string           `json:"name"`
	Description         string           `json:"description,omitempty"`
	MonitorConcepts     []MonitorConcept `json:"monitor_concepts"`
	RegulationTemplates []string         `json:"regulation_templates"`
	EscalationRules     []EscalationRule `json:"escalation_rules"`
}

// MarshalJSON writes empty lists as [] rather than null.
func (p SafetyPolicy) MarshalJSON() ([]byte, error) {
	f := safetyPolicyFields{p.ID, p.Name, p.Description, p.MonitorConcepts, p.RegulationTemplates, p.EscalationRules}
	if f.MonitorConcepts == nil {
		f.MonitorConcepts = []MonitorConcept{}
	}
	if f.RegulationTemplates == nil {
		f.RegulationTemplates = []string{}
	}
	if f.EscalationRules == nil {
		f.EscalationRules = []EscalationRule{}
	}
	return json.Marshal(f)
}
