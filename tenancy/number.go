package tenancy

// PhoneNumber is an E.164 number of a workspace, routed to one of its
// services. Its id is the number itself.
type PhoneNumber struct {
	Number    string `json:"number"`
	ServiceID string `json:"service_id"`
	Label     string `json:"label,omitempty"`
}

// Validate checks every field of n; the number must already be normalised.
func (n *PhoneNumber) Validate() error {
	if !IsE164(n.Number) {
		return invalid("number", "must be E.164: '+' and 8 to 15 digits, no leading zero")
	}
	if err := validID("service_id", n.ServiceID); err != nil {
		return err
	}
	if n.Label != "" {
		return validName("label", n.Label)
	}
	return nil
}

// IsE164 reports whether s is '+' followed by 8-15 digits, the first not 0.
func IsE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeNumber turns a dialled or written number into E.164: it drops
// visual separators (space, '-', '.', '(', ')') and accepts a missing '+'.
// It returns false when what remains is not E.164. It does not allocate when
// s is already E.164.
func NormalizeNumber(s string) (string, bool) {
	if IsE164(s) {
		return s, true
	}
	var buf [16]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n >= len(buf) {
				return "", false
			}
			if n == 0 {
				buf[0] = '+'
				n = 1
			}
			buf[n] = c
			n++
		case c == '+' && n == 0:
			buf[0] = '+'
			n = 1
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	out := string(buf[:n])
	return out, IsE164(out)
}
