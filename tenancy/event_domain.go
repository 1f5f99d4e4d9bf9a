package tenancy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// Domain events are what a workspace's agents (with their call token) and
// members (with their key) post to the workspace's world model, such as
// appointment.booked. Their type is dotted lowercase and never one of the
// prefixes of the events the edge and the control plane write themselves.

// ReservedEventPrefixes are the type prefixes of events the platform
// writes: a domain event may not take them.
var ReservedEventPrefixes = []string{"call.", "operator.", "config.", "call_context.", "promotion."}

// Bounds of a domain event.
const (
	// MaxEventTypeLen bounds a domain event's type.
	MaxEventTypeLen = 64
	// MaxEventDataBytes bounds a domain event's data (its JSON).
	MaxEventDataBytes = 16 << 10
	// MaxEventDataDepth bounds the nesting of a domain event's data.
	MaxEventDataDepth = 8
)

// ErrTooLarge: a value is over its size bound (HTTP 413); see
// *ValidationError, whose Err it is.
var ErrTooLarge = errors.New("too large")

// ValidateEventType checks a domain event's type: two or more dot-separated
// words of a-z, 0-9 and '_', each starting with a letter, at most 64
// characters, and no reserved prefix.
func ValidateEventType(typ string) error {
	if typ == "" || len(typ) > MaxEventTypeLen {
		return invalid("type", "1-%d characters, dotted lowercase such as appointment.booked", MaxEventTypeLen)
	}
	for _, p := range ReservedEventPrefixes {
		if strings.HasPrefix(typ, p) {
			return invalid("type", "the %s* types are the platform's own", p)
		}
	}
	words := strings.Split(typ, ".")
	if len(words) < 2 {
		return invalid("type", "must be dotted, such as appointment.booked")
	}
	for _, w := range words {
		if w == "" || w[0] < 'a' || w[0] > 'z' {
			return invalid("type", "each dotted word starts with a lowercase letter")
		}
		for i := 0; i < len(w); i++ {
			if c := w[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return invalid("type", "only a-z, 0-9, '_' and '.'")
			}
		}
	}
	return nil
}

// ValidateEventData checks a domain event's data: absent (or null), or a JSON object
// of at most MaxEventDataBytes (else a *ValidationError matching
// ErrTooLarge) nested at most MaxEventDataDepth deep.
func ValidateEventData(data json.RawMessage) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	if len(data) > MaxEventDataBytes {
		return &ValidationError{Field: "data", Reason: "larger than 16384 bytes", Err: ErrTooLarge}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	depth, first := 0, true
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return invalid("data", "must be a JSON object")
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
				if depth > MaxEventDataDepth {
					return invalid("data", "nested deeper than %d levels", MaxEventDataDepth)
				}
			default:
				depth--
			}
		}
		if first && tok != json.Delim('{') {
			return invalid("data", "must be a JSON object")
		}
		first = false
	}
	return nil
}
