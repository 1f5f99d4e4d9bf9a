package routing

// maxE164 is the length of the longest E.164 number with its '+'.
const maxE164 = 16

// sipUser returns the user part of what follows "sip:": the text before
// '@', without a password after ':'. A URI without '@' has no user (its
// host is not a number): the result is empty.
func sipUser(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			u := s[:i]
			for j := 0; j < len(u); j++ {
				if u[j] == ':' {
					return u[:j]
				}
			}
			return u
		}
	}
	return ""
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Normalize returns the E.164 form of a dialled number in any form Lookup
// accepts, or false. Unlike Lookup it allocates the returned string.
func Normalize(dialed string) (string, bool) {
	var buf [maxE164]byte
	n, ok := normalize(&buf, dialed)
	if !ok {
		return "", false
	}
	return string(buf[:n]), true
}
