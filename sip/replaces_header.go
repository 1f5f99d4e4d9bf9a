package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// replacesHeader is a Replaces header (RFC 3891 section 6.1):
//
//	Replaces: callid *(";" (to-tag / from-tag / early-only / generic-param))
//
// Its tags are from the recipient's side (section 3): to-tag is the edge's
// tag in the dialog to replace, from-tag the peer's.
type replacesHeader struct {
	callID    string
	toTag     string
	fromTag   string
	earlyOnly bool
}

// maxReplacesLen bounds the header's value.
const maxReplacesLen = 512

// parseReplaces parses the one Replaces header of req. It returns the
// name of what is wrong ("" when valid): more than one Replaces, a missing
// or malformed Call-ID, a missing or repeated to-tag or from-tag.
func parseReplaces(req *sip.Request) (replacesHeader, string) {
	hs := req.GetHeaders("Replaces")
	if len(hs) != 1 {
		return replacesHeader{}, "exactly one Replaces"
	}
	v := strings.TrimSpace(hs[0].Value())
	if v == "" || len(v) > maxReplacesLen || strings.Contains(v, ",") || !printable([]byte(v)) {
		return replacesHeader{}, "Replaces"
	}
	parts := strings.Split(v, ";")
	h := replacesHeader{callID: strings.TrimSpace(parts[0])}
	if !validCallID(h.callID) {
		return replacesHeader{}, "Replaces call-id"
	}
	var seenTo, seenFrom bool
	for _, p := range parts[1:] {
		name, val, hasVal := strings.Cut(strings.TrimSpace(p), "=")
		name, val = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(val)
		switch name {
		case "to-tag", "from-tag":
			if !hasVal || !isToken(val) || (name == "to-tag" && seenTo) || (name == "from-tag" && seenFrom) {
				return replacesHeader{}, "Replaces " + name
			}
			if name == "to-tag" {
				h.toTag, seenTo = val, true
			} else {
				h.fromTag, seenFrom = val, true
			}
		case "early-only":
			if hasVal {
				return replacesHeader{}, "Replaces early-only"
			}
			h.earlyOnly = true
		case "":
			return replacesHeader{}, "Replaces parameter"
		default: // generic-param: ignored
			if !isToken(name) {
				return replacesHeader{}, "Replaces parameter"
			}
		}
	}
	if !seenTo || !seenFrom {
		return replacesHeader{}, "Replaces to-tag and from-tag"
	}
	return h, ""
}

// validCallID reports whether s is a callid: word ["@" word] (RFC 3261
// section 25.1).
func validCallID(s string) bool {
	local, host, at := strings.Cut(s, "@")
	if !validWord(local) || (at && !validWord(host)) {
		return false
	}
	return true
}

// validWord reports whether s is a non-empty RFC 3261 word: token
// characters and the separators a word allows.
func validWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) && strings.IndexByte("()<>:\\\"/[]?{}", s[i]) < 0 {
			return false
		}
	}
	return true
}

// dialogIDs are the ids the dialog cache would know the dialog named by h
// under (sipgo's: Call-ID, the UAS's tag, the UAC's tag): client, when the
// edge dialled the peer (the edge's tag is the UAC's), and server, when
// the peer dialled the edge.
func (h replacesHeader) dialogIDs() (client, server string) {
	return sip.DialogIDMake(h.callID, h.fromTag, h.toTag), sip.DialogIDMake(h.callID, h.toTag, h.fromTag)
}

// replacesInvite reports whether req is an INVITE with Replaces, the one
// request whose Require: replaces the edge accepts (replaces.go).
func replacesInvite(req *sip.Request) bool {
	return req.IsInvite() && req.GetHeader("Replaces") != nil
}
