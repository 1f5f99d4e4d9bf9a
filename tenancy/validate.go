package tenancy

import (
	"encoding/json"
	"unicode"
	"unicode/utf8"
)

// maxNameLen bounds human-readable names.
const maxNameLen = 200

func validName(field, s string) error {
	if s == "" {
		return invalid(field, "is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNameLen {
		return invalid(field, "must be valid UTF-8 of at most %d characters", maxNameLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid(field, "must not contain control characters")
		}
	}
	return nil
}

// ValidID reports whether s is a usable resource id: 1-64 characters of
// [a-z0-9_-], starting with a letter or digit.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

func validID(field, s string) error {
	if !ValidID(s) {
		return invalid(field, "must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")
	}
	return nil
}

// validJSONObject accepts an absent value or a JSON object of bounded size.
func validJSONObject(field string, raw json.RawMessage, max int) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if len(raw) > max {
		return invalid(field, "larger than %d bytes", max)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return invalid(field, "must be a JSON object")
	}
	return nil
}

func validStrings(field string, list []string, maxItems, maxLen int) error {
	if len(list) > maxItems {
		return invalid(field, "at most %d items", maxItems)
	}
	for _, s := range list {
		if err := validName(field+"[]", s); err != nil {
			return err
		}
		if len(s) > maxLen {
			return invalid(field+"[]", "items of at most %d characters", maxLen)
		}
	}
	return nil
}
