package tenancy

import (
	"encoding/json"
	"slices"
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
	if err := validJSONObject("escalation", o.Escalation, 16<<10); err != nil {
		return err
	}
	_, err := TransferTargets(o.Escalation)
	return err
}

// Allows reports whether account may join in mode.
func (o *OperatorConfig) Allows(accountID, mode string) bool {
	if !slices.Contains(o.Modes, mode) {
		return false
	}
	return len(o.Operators) == 0 || slices.Contains(o.Operators, accountID)
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
