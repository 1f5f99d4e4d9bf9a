package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
)

// identity is what a carrier says of a call's caller, reduced to what the
// service is told (design section 10). Nothing else of the trunk's headers
// reaches the service: its INVITE is the edge's own.
type identity struct {
	// caller is X-Caller (and the call record's from): the asserted or
	// offered number in E.164 when it is one, else the From user reduced
	// to safe characters; "anonymous" when the caller asked for privacy or
	// nothing usable is left.
	caller string
	// privacy is X-Caller-Privacy: id, the caller asked not to be
	// identified.
	privacy bool
	// verified is X-Caller-Verified, the STIR/SHAKEN verstat value.
	verified string
	// divertedFrom is X-Diverted-From, the E.164 number that redirected the
	// call to the dialled number.
	divertedFrom string
}

// anonymous is X-Caller of a caller that asked for privacy or gave nothing.
const anonymous = "anonymous"

// verstats are the verstat values of ATIS-1000074 (RFC 8588 PASSporTs
// checked by the carrier), by their lower-case spelling.
var verstats = map[string]string{
	"tn-validation-passed": "TN-Validation-Passed",
	"tn-validation-failed": "TN-Validation-Failed",
	"no-tn-validation":     "No-TN-Validation",
}

// callerIdentity reads the caller's identity from an initial INVITE
// arriving on a trunk whose default country code is cc. The headers, and
// what the edge does with each:
//
//   - P-Asserted-Identity (RFC 3325 section 9.1): the caller's number, first
//     of its sip, sips or tel URIs that is a number; malformed: 400 naming
//     it (the carrier is the edge's trust domain of RFC 3325, and an
//     assertion the edge cannot read must not silently turn into the From).
//   - Remote-Party-ID (draft-ietf-sip-privacy-04, pre-RFC 3325 carriers): the
//     calling party (party=calling or none) when there is no PAI; its
//     privacy=full or uri asks for privacy. It is no standard: a malformed
//     one is ignored.
//   - Privacy (RFC 3323 section 4.2, RFC 3325 section 9.3): id or user asks
//     for privacy; other values (none, header, session, critical) do not
//     hide the caller; unknown values are ignored (RFC 3323 section 4.2).
//     A From of anonymous.invalid or user "anonymous" (RFC 3323) is a request for privacy too.
//   - Diversion (RFC 5806): the topmost entry, the last
//     redirection, is the redirecting number, unless its privacy=full;
//     malformed: 400 naming it.
//   - History-Info (RFC 7044), when there is no Diversion: the entry the
//     last retargeted entry (mp=) was mapped from is the redirecting number.
//     It is informational: a malformed one is ignored.
//   - verstat (ATIS-1000074, RFC 8588 PASSporTs verified by
//     the carrier): the user or URI parameter of the PAI's URI, else of the
//     From's; only its three defined values are passed on.
//
// Numbers are normalised with the trunk's country code (design section 10);
// a number that does not normalise is passed reduced to safe characters
// (caller) or not at all (diverted-from).
func callerIdentity(req *sip.Request, cc string) (identity, *Rejection) {
	var id identity
	pai, err := headerNameAddrs(req, "P-Asserted-Identity")
	if err != nil {
		return id, reject(ReasonMalformed, "P-Asserted-Identity")
	}
	div, err := headerNameAddrs(req, "Diversion")
	if err != nil {
		return id, reject(ReasonMalformed, "Diversion")
	}
	from := ""
	if f := req.From(); f != nil {
		from = f.Address.String()
	}

	for _, na := range pai {
		if n, ok := routing.NormalizeFor(uriUser(na.uri), cc); ok {
			id.caller = n
			break
		}
	}
	if id.caller == "" && len(pai) == 0 {
		if na, ok := callingParty(req); ok {
			if n, ok := routing.NormalizeFor(uriUser(na.uri), cc); ok {
				id.caller = n
			}
			if p, _ := param(na.params, "privacy"); strings.EqualFold(p, "full") || strings.EqualFold(p, "uri") {
				id.privacy = true
			}
		}
	}
	if id.caller == "" {
		id.caller = fromCaller(req, cc)
	}
	if privacyRequested(req) || isAnonymousURI(from) {
		id.privacy = true
	}
	if id.privacy {
		id.caller = anonymous
	}

	for _, na := range pai {
		if v := verstatOf(na.uri); v != "" {
			id.verified = v
			break
		}
	}
	if id.verified == "" {
		id.verified = verstatOf(from)
	}

	if len(div) > 0 {
		if p, _ := param(div[0].params, "privacy"); !strings.EqualFold(p, "full") {
			id.divertedFrom, _ = routing.NormalizeFor(uriUser(div[0].uri), cc)
		}
	} else {
		id.divertedFrom = historyDiversion(req, cc)
	}
	return id, nil
}

// headerNameAddrs returns the name-addrs of every field of a header; nil
// when it is absent.
func headerNameAddrs(req *sip.Request, name string) ([]nameAddr, error) {
	var out []nameAddr
	for _, h := range req.GetHeaders(name) {
		nas, err := parseNameAddrs(h.Value())
		if err != nil {
			return nil, err
		}
		if len(out)+len(nas) > maxIdentityEntries {
			return nil, errBadNameAddr
		}
		out = append(out, nas...)
	}
	return out, nil
}

// callingParty returns the Remote-Party-ID of the calling party, if any
// parses.
func callingParty(req *sip.Request) (nameAddr, bool) {
	nas, err := headerNameAddrs(req, "Remote-Party-ID")
	if err != nil {
		return nameAddr{}, false
	}
	for _, na := range nas {
		if p, ok := param(na.params, "party"); !ok || strings.EqualFold(p, "calling") {
			return na, true
		}
	}
	return nameAddr{}, false
}

// fromCaller is the caller of the From header: E.164 when its user is a
// number, else the user reduced to safe characters (callerID).
func fromCaller(req *sip.Request, cc string) string {
	if f := req.From(); f != nil {
		if n, ok := routing.NormalizeFor(f.Address.User, cc); ok {
			return n
		}
	}
	return callerID(req)
}

// privacyRequested reports whether a Privacy header asks for id or user
// privacy.
func privacyRequested(req *sip.Request) bool {
	for _, h := range req.GetHeaders("Privacy") {
		for _, v := range strings.FieldsFunc(h.Value(), func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' }) {
			if strings.EqualFold(v, "id") || strings.EqualFold(v, "user") {
				return true
			}
		}
	}
	return false
}

// isAnonymousURI reports whether a From URI is the anonymous one of RFC
// 3323 (sip:anonymous@anonymous.invalid) or of its kind.
func isAnonymousURI(u string) bool {
	return strings.EqualFold(uriHost(u), "anonymous.invalid") || strings.EqualFold(uriUser(u), anonymous)
}

// verstatOf returns the verstat of a URI: a parameter of its user part
// (tel URI or sip user=phone, ATIS-1000074) or of the URI; "" when absent
// or not one of the defined values.
func verstatOf(uri string) string {
	if uri == "" {
		return ""
	}
	_, userParams, _ := strings.Cut(uriUser(uri), ";")
	v, ok := param(userParams, "verstat")
	if !ok {
		_, rest, _ := strings.Cut(uri, "@")
		_, uriParams, _ := strings.Cut(rest, ";")
		v, ok = param(uriParams, "verstat")
	}
	if !ok {
		return ""
	}
	return verstats[strings.ToLower(v)]
}

// historyDiversion returns the redirecting number of History-Info (RFC
// 7044): the entry whose index the last retargeted entry's mp
// parameter names. A malformed History-Info is ignored.
func historyDiversion(req *sip.Request, cc string) string {
	nas, err := headerNameAddrs(req, "History-Info")
	if err != nil {
		return ""
	}
	for i := len(nas) - 1; i >= 0; i-- {
		mp, ok := param(nas[i].params, "mp")
		if !ok || mp == "" {
			continue
		}
		for _, e := range nas[:i] {
			if idx, _ := param(e.params, "index"); idx == mp {
				n, _ := routing.NormalizeFor(uriUser(e.uri), cc)
				return n
			}
		}
		return ""
	}
	return ""
}
