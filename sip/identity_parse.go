package sip

import (
	"errors"
	"strings"
)

// Bounds of the identity headers the edge reads (untrusted input).
const (
	maxIdentityValue   = 2048 // bytes of one header field value
	maxIdentityEntries = 16   // name-addrs in one header field (all its lines)
)

var errBadNameAddr = errors.New("malformed name-addr")

// nameAddr is one value of a header of name-addr or addr-spec values (RFC
// 3261 section 25.1: P-Asserted-Identity, Remote-Party-ID, Diversion,
// History-Info): its URI and the header parameters after it.
type nameAddr struct {
	uri    string // "sip:+1555@host;user=phone", without angle brackets
	params string // header parameters, without the leading ';'
}

// parseNameAddrs splits a header field value into its comma-separated
// name-addrs, honouring quoted strings and angle brackets. A value that is
// not a list of name-addr / addr-spec with a URI of a scheme fails.
func parseNameAddrs(v string) ([]nameAddr, error) {
	if len(v) > maxIdentityValue {
		return nil, errBadNameAddr
	}
	var out []nameAddr
	for _, part := range splitOutside(v, ',') {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		na, err := parseNameAddr(part)
		if err != nil {
			return nil, err
		}
		if len(out) == maxIdentityEntries {
			return nil, errBadNameAddr
		}
		out = append(out, na)
	}
	if len(out) == 0 {
		return nil, errBadNameAddr
	}
	return out, nil
}

// parseNameAddr parses one name-addr ([display-name] <URI> *(;param)) or
// addr-spec (URI *(;param), whose parameters are all header parameters).
func parseNameAddr(s string) (nameAddr, error) {
	rest := s
	if rest[0] == '"' {
		end := closingQuote(rest)
		if end < 0 {
			return nameAddr{}, errBadNameAddr
		}
		rest = strings.TrimLeft(rest[end+1:], " \t")
		if rest == "" || rest[0] != '<' {
			return nameAddr{}, errBadNameAddr
		}
	}
	var na nameAddr
	if i := strings.IndexByte(rest, '<'); i >= 0 {
		for j := 0; j < i; j++ { // display name of tokens
			if c := rest[j]; c != ' ' && c != '\t' && !isTokenChar(c) {
				return nameAddr{}, errBadNameAddr
			}
		}
		end := strings.IndexByte(rest[i:], '>')
		if end < 0 {
			return nameAddr{}, errBadNameAddr
		}
		na.uri = rest[i+1 : i+end]
		rest = strings.TrimSpace(rest[i+end+1:])
		if rest != "" && rest[0] != ';' {
			return nameAddr{}, errBadNameAddr
		}
		na.params = strings.TrimPrefix(rest, ";")
	} else {
		na.uri, na.params, _ = strings.Cut(rest, ";")
		na.uri = strings.TrimSpace(na.uri)
	}
	if !validIdentityURI(na.uri) {
		return nameAddr{}, errBadNameAddr
	}
	return na, nil
}

// closingQuote returns the index of the '"' that ends the quoted string s
// starts with, honouring quoted-pairs, or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// splitOutside splits s at sep where sep is outside quotes and angle
// brackets.
func splitOutside(s string, sep byte) []string {
	var out []string
	quoted, angle, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '<':
			angle = true
		case !quoted && c == '>':
			angle = false
		case !quoted && !angle && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// validIdentityURI reports whether u is a sip, sips or tel URI with
// something after the scheme and no whitespace or control characters.
func validIdentityURI(u string) bool {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || rest == "" {
		return false
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips", "tel":
	default:
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' {
			return false
		}
	}
	return true
}

// uriUser returns the user part of a sip or sips URI with its user
// parameters ("+1555;verstat=TN-Validation-Passed"), or what follows the
// scheme of a tel URI with its parameters; "" when there is none.
func uriUser(u string) string {
	scheme, rest, _ := strings.Cut(u, ":")
	if strings.EqualFold(scheme, "tel") {
		return rest
	}
	user, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	user, _, _ = strings.Cut(user, ":") // a password
	return user
}

// uriHost returns the host part of a sip or sips URI, "" for tel.
func uriHost(u string) string {
	_, rest, _ := strings.Cut(u, ":")
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == ';' || c == ':' || c == '?' {
			return rest[:i]
		}
	}
	return rest
}

// param returns the value of parameter name (case-insensitive) among
// ';'-separated params, and whether it is there.
func param(params, name string) (string, bool) {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Trim(strings.TrimSpace(v), `"`), true
		}
	}
	return "", false
}
