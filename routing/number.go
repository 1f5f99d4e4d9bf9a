package routing

// maxE164 is the length of the longest E.164 number with its '+'.
const maxE164 = 16

// normalize writes the E.164 form of a dialled number into buf and returns
// its length, or false when dialed is not a number. It accepts what a SIP
// edge sees as the called party: a Request-URI user ("+15551230001",
// "15551230001", "+1 (555) 123-0001"), a whole SIP or SIPS URI whose user
// is the number ("sip:+15551230001@host;user=phone", RFC 3261 section 19.1,
// optionally in angle brackets, user parameters such as ";npdi" dropped)
// and a tel URI ("tel:+1-555-123-0001;phone-context=...", RFC 3966).
// Percent-escapes are decoded and visual separators (space - . ( )) are
// dropped, as tenancy.NormalizeNumber does for a plain number. It never
// allocates.
func normalize(buf *[maxE164]byte, dialed string) (int, bool) {
	s := dialed
	if len(s) > 0 && s[0] == '<' {
		s = s[1:]
		if len(s) > 0 && s[len(s)-1] == '>' {
			s = s[:len(s)-1]
		}
	}
	switch {
	case hasPrefixFold(s, "sip:"):
		s = sipUser(s[4:])
	case hasPrefixFold(s, "sips:"):
		s = sipUser(s[5:])
	case hasPrefixFold(s, "tel:"):
		s = s[4:]
	}
	// Parameters of the user part or the tel URI follow ';'.
	for i := 0; i < len(s); i++ {
		if s[i] == ';' {
			s = s[:i]
			break
		}
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return 0, false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return 0, false
			}
			c = hi<<4 | lo
			i += 2
		}
		switch {
		case c >= '0' && c <= '9':
			if n == 0 {
				buf[0] = '+'
				n = 1
			}
			if n >= maxE164 {
				return 0, false
			}
			buf[n] = c
			n++
		case c == '+' && n == 0:
			buf[0] = '+'
			n = 1
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return 0, false
		}
	}
	// E.164: '+' and 8 to 15 digits, the first not 0 (tenancy.IsE164).
	if n < 9 || buf[1] == '0' {
		return 0, false
	}
	return n, true
}

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
