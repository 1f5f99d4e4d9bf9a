package tenancy

import "encoding/json"

// Kind describes one kind of workspace configuration item: its name in the
// API and the audit trail, and its field prefix in the workspace hash.
type Kind struct {
	// Name is the API collection name, e.g. "services".
	Name string
	// field is the hash field (singletons) or field prefix (collections).
	field string
	// Singleton kinds have one value per workspace and no id.
	Singleton bool
	// Behaviour marks agent-behaviour configuration: guarded in production
	// and copied by promotion (design section 5).
	Behaviour bool
	// Platform-editable only via the workspace, never through Put.
	newItem func() Item
}

// The configuration kinds.
var (
	KindService        = Kind{Name: "services", field: "service:", Behaviour: true, newItem: func() Item { return new(Service) }}
	KindNumber         = Kind{Name: "phone-numbers", field: "number:", newItem: func() Item { return new(PhoneNumber) }}
	KindTrunk          = Kind{Name: "trunks", field: "trunk:", newItem: func() Item { return new(Trunk) }}
	KindSafetyPolicy   = Kind{Name: "safety-policies", field: "safety_policy:", Behaviour: true, newItem: func() Item { return new(SafetyPolicy) }}
	KindDataSource     = Kind{Name: "data-sources", field: "data_source:", newItem: func() Item { return new(DataSource) }}
	KindVoiceSettings  = Kind{Name: "voice-settings", field: "voice_settings", Singleton: true, Behaviour: true, newItem: func() Item { return new(VoiceSettings) }}
	KindOperatorConfig = Kind{Name: "operator-config", field: "operator_config", Singleton: true, Behaviour: true, newItem: func() Item { return new(OperatorConfig) }}
	KindBilling        = Kind{Name: "billing", field: "billing", Singleton: true, newItem: func() Item { return new(Billing) }}
	// KindOutboundTrunk is the termination trunks (design section 11).
	KindOutboundTrunk = Kind{Name: "outbound-trunks", field: "outbound_trunk:", newItem: func() Item { return new(OutboundTrunk) }}
)

// Kinds lists every configuration kind.
var Kinds = []Kind{KindService, KindNumber, KindTrunk, KindSafetyPolicy, KindDataSource, KindVoiceSettings, KindOperatorConfig, KindBilling, KindOutboundTrunk}

// New returns a zero item of the kind, to decode into.
func (k Kind) New() Item { return k.newItem() }

func (k Kind) fieldOf(id string) string {
	if k.Singleton {
		return k.field
	}
	return k.field + id
}

// Item is a configuration item of a workspace.
type Item interface {
	// ItemID is the item's id within its kind ("" for singletons).
	ItemID() string
	Validate() error
}

// ItemID implements Item.
func (s *Service) ItemID() string { return s.ID }

// ItemID implements Item: a number's id is the number.
func (n *PhoneNumber) ItemID() string { return n.Number }

// ItemID implements Item.
func (t *Trunk) ItemID() string { return t.ID }

// ItemID implements Item.
func (p *SafetyPolicy) ItemID() string { return p.ID }

// ItemID implements Item.
func (d *DataSource) ItemID() string { return d.ID }

// ItemID implements Item.
func (v *VoiceSettings) ItemID() string { return "" }

// ItemID implements Item.
func (o *OperatorConfig) ItemID() string { return "" }

// ItemID implements Item.
func (b *Billing) ItemID() string { return "" }

// Redactor is an item with write-only fields.
type Redactor interface {
	// Redact returns the item as the API shows it.
	Redact() Item
}

// Redact implements Redactor.
func (t *Trunk) Redact() Item { r := t.Redacted(); return &r }

// Redact implements Redactor.
func (d *DataSource) Redact() Item { r := d.Redacted(); return &r }

// secretKeeper is an item whose write-only fields, when omitted on a
// replace, keep their stored values.
type secretKeeper interface {
	keepSecrets(old json.RawMessage)
}

func (t *Trunk) keepSecrets(old json.RawMessage) {
	var prev Trunk
	if t.Password != "" || json.Unmarshal(old, &prev) != nil {
		return
	}
	if t.Username != "" && t.Username == prev.Username {
		t.Password, t.HA1 = prev.Password, prev.HA1
	}
}

// keepSecrets keeps the stored credentials when none are sent, and the
// stored value of each credential sent back as its redaction mask (what GET
// shows), so that a read-modify-write does not store the mask.
func (d *DataSource) keepSecrets(old json.RawMessage) {
	var prev DataSource
	if json.Unmarshal(old, &prev) != nil {
		return
	}
	if len(d.Credentials) == 0 {
		d.Credentials = prev.Credentials
		return
	}
	for k, v := range d.Credentials {
		if pv, ok := prev.Credentials[k]; ok && v == redactedMask {
			d.Credentials[k] = pv
		}
	}
}

// redactedMask replaces a write-only value in what the API shows.
const redactedMask = "********"

// Redacted returns the item without write-only fields.
func Redacted(it Item) Item {
	if r, ok := it.(Redactor); ok {
		return r.Redact()
	}
	return it
}
