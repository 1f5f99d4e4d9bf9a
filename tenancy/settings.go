package tenancy

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// VoiceSettings is handed to the service with every call (X-Voice-Settings).
type VoiceSettings struct {
	TTSVoice        string   `json:"tts_voice"`
	Speed           float64  `json:"speed"`
	Keyterms        []string `json:"keyterms"`
	SensitiveTopics []string `json:"sensitive_topics"`
}

// Validate checks every field of v.
func (v *VoiceSettings) Validate() error {
	if v.TTSVoice != "" {
		if err := validName("tts_voice", v.TTSVoice); err != nil {
			return err
		}
	}
	if v.Speed != 0 && (v.Speed < 0.5 || v.Speed > 2.0) {
		return invalid("speed", "must be between 0.5 and 2.0")
	}
	if err := validStrings("keyterms", v.Keyterms, 200, 100); err != nil {
		return err
	}
	return validStrings("sensitive_topics", v.SensitiveTopics, 100, 100)
}

// Operator modes (design section 8).
const (
	ModeListen  = "listen"
	ModeWhisper = "whisper"
	ModeBarge   = "barge"
)

// OperatorModes lists the modes an operator can join in.
var OperatorModes = []string{ModeListen, ModeWhisper, ModeBarge}

// OperatorConfig says who may join the workspace's calls and how.
type OperatorConfig struct {
	// Operators are account ids; empty means any member or above.
	Operators []string `json:"operators"`
	// Modes allowed; empty means none.
	Modes      []string        `json:"modes"`
	Escalation json.RawMessage `json:"escalation,omitempty"`
}

// Validate checks every field of o.
func (o *OperatorConfig) Validate() error {
	if len(o.Operators) > 1000 {
		return invalid("operators", "at most 1000 accounts")
	}
	for _, id := range o.Operators {
		if err := validID("operators[]", id); err != nil {
			return err
		}
	}
	for _, m := range o.Modes {
		if !slices.Contains(OperatorModes, m) {
			return invalid("modes[]", "must be listen, whisper or barge")
		}
	}
	return validJSONObject("escalation", o.Escalation, 16<<10)
}

// Allows reports whether account may join in mode.
func (o *OperatorConfig) Allows(accountID, mode string) bool {
	if !slices.Contains(o.Modes, mode) {
		return false
	}
	return len(o.Operators) == 0 || slices.Contains(o.Operators, accountID)
}

// SafetyPolicy constrains what a workspace's agents may say or do.
type SafetyPolicy struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// BlockedTopics are topics the agent must not discuss.
	BlockedTopics []string `json:"blocked_topics"`
	// EscalateOn are triggers that make the agent ask for a human.
	EscalateOn []string `json:"escalate_on"`
	// Action is what the agent does on a match: block, escalate or warn.
	Action string `json:"action"`
}

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
	if err := validStrings("blocked_topics", p.BlockedTopics, 200, 100); err != nil {
		return err
	}
	if err := validStrings("escalate_on", p.EscalateOn, 200, 100); err != nil {
		return err
	}
	switch p.Action {
	case "block", "escalate", "warn":
	default:
		return invalid("action", "must be block, escalate or warn")
	}
	return nil
}

// DataSource is an external system the agents read (an EHR, a scheduling
// API). Its credentials are write-only.
type DataSource struct {
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	BaseURL     string            `json:"base_url"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

// DataSourceKinds lists the supported kinds.
var DataSourceKinds = []string{"fhir", "hl7", "rest", "graphql", "sftp"}

// Validate checks every field of d.
func (d *DataSource) Validate() error {
	if err := validID("id", d.ID); err != nil {
		return err
	}
	if !slices.Contains(DataSourceKinds, d.Kind) {
		return invalid("kind", "must be one of %s", strings.Join(DataSourceKinds, ", "))
	}
	u, err := url.Parse(d.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "sftp") || len(d.BaseURL) > 2048 {
		return invalid("base_url", "must be an absolute http, https or sftp URL")
	}
	if len(d.Credentials) > 32 {
		return invalid("credentials", "at most 32 entries")
	}
	for k, v := range d.Credentials {
		if k == "" || len(k) > 64 || len(v) > 8192 {
			return invalid("credentials", "keys of 1-64 characters, values of at most 8192")
		}
	}
	return nil
}

// Redacted returns d without its credentials, as the API shows it; the
// names of the credentials set are kept so a reader knows they are there.
func (d DataSource) Redacted() DataSource {
	if len(d.Credentials) > 0 {
		red := make(map[string]string, len(d.Credentials))
		for k := range d.Credentials {
			red[k] = redactedMask
		}
		d.Credentials = red
	}
	return d
}

// Billing is the owner's billing profile of a workspace.
type Billing struct {
	Plan         string `json:"plan"`
	ContactEmail string `json:"contact_email"`
	PONumber     string `json:"po_number,omitempty"`
}

// Validate checks every field of b.
func (b *Billing) Validate() error {
	switch b.Plan {
	case "trial", "standard", "enterprise":
	default:
		return invalid("plan", "must be trial, standard or enterprise")
	}
	a := Account{Name: "billing", Email: b.ContactEmail, Role: RoleViewer}
	if err := a.Validate(); err != nil {
		return invalid("contact_email", "not an e-mail address")
	}
	if len(b.PONumber) > 64 {
		return invalid("po_number", "at most 64 characters")
	}
	return nil
}
