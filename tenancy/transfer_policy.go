package tenancy

import (
	"encoding/json"
	"strings"
)

// TransferTarget is one entry of an operator config's
// escalation.transfer_targets (design section 11): where a service of the
// workspace may transfer its calls. Nothing is a target unless listed.
type TransferTarget struct {
	// Kind is TransferPSTN, TransferService or TransferOperators.
	Kind string `json:"kind"`
	// Prefixes (pstn): E.164 prefixes a number must start with.
	Prefixes []string `json:"prefixes,omitempty"`
	// OutboundTrunkID (pstn): the trunk the transfer is dialled through.
	OutboundTrunkID string `json:"outbound_trunk_id,omitempty"`
	// ServiceID (service): another service of the same workspace.
	ServiceID string `json:"service_id,omitempty"`
}

// Transfer target kinds.
const (
	TransferPSTN      = "pstn"
	TransferService   = "service"
	TransferOperators = "operators"
)

// TransferTargets returns the transfer policy of an escalation object
// (none when absent); an invalid policy is an error naming the field.
func TransferTargets(escalation json.RawMessage) ([]TransferTarget, error) {
	if len(escalation) == 0 || string(escalation) == "null" {
		return nil, nil
	}
	var e struct {
		Targets json.RawMessage `json:"transfer_targets"`
	}
	if json.Unmarshal(escalation, &e) != nil {
		return nil, invalid("escalation", "must be a JSON object")
	}
	if len(e.Targets) == 0 || string(e.Targets) == "null" {
		return nil, nil
	}
	var ts []TransferTarget
	if err := json.Unmarshal(e.Targets, &ts); err != nil {
		return nil, invalid("escalation.transfer_targets", "must be a list of {kind, prefixes, outbound_trunk_id, service_id}")
	}
	if len(ts) > 100 {
		return nil, invalid("escalation.transfer_targets", "at most 100 targets")
	}
	for _, t := range ts {
		switch t.Kind {
		case TransferPSTN:
			if len(t.Prefixes) == 0 || len(t.Prefixes) > 100 {
				return nil, invalid("escalation.transfer_targets[].prefixes", "a pstn target lists 1 to 100 E.164 prefixes")
			}
			for _, p := range t.Prefixes {
				if !isE164Prefix(p) {
					return nil, invalid("escalation.transfer_targets[].prefixes", "%q is not an E.164 prefix such as +1312", p)
				}
			}
			if !ValidID(t.OutboundTrunkID) {
				return nil, invalid("escalation.transfer_targets[].outbound_trunk_id", "a pstn target names an outbound trunk of the workspace")
			}
		case TransferService:
			if !ValidID(t.ServiceID) {
				return nil, invalid("escalation.transfer_targets[].service_id", "a service target names a service of the workspace")
			}
		case TransferOperators:
		default:
			return nil, invalid("escalation.transfer_targets[].kind", "must be pstn, service or operators")
		}
	}
	return ts, nil
}

// MatchPSTN returns the pstn target that covers E.164 number, if any.
func MatchPSTN(ts []TransferTarget, number string) (TransferTarget, bool) {
	for _, t := range ts {
		if t.Kind != TransferPSTN {
			continue
		}
		for _, p := range t.Prefixes {
			if strings.HasPrefix(number, p) {
				return t, true
			}
		}
	}
	return TransferTarget{}, false
}
