package sip

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Headers the edge adds to the INVITE it sends to a service (design
// section 7). Nothing of these reaches the trunk.
const (
	HeaderCallID        = "X-Edge-Call-ID"
	HeaderWorkspaceID   = "X-Workspace-ID"
	HeaderServiceID     = "X-Service-ID"
	HeaderEnvironment   = "X-Environment"
	HeaderCaller        = "X-Caller"
	HeaderCalled        = "X-Called"
	HeaderVoiceSettings = "X-Voice-Settings"
	// HeaderCallToken carries the call's token (design section 12), with
	// which the service reads its call's context from the control plane.
	// It is never logged.
	HeaderCallToken = "X-Edge-Call-Token"
	// Design section 10 (identity.go).
	HeaderCallerVerified = "X-Caller-Verified"
	HeaderCallerPrivacy  = "X-Caller-Privacy"
	HeaderDivertedFrom   = "X-Diverted-From"
)

// validateRequest checks what the edge needs of any request before it acts
// on it; the Rejection names the header at fault. sipgo's parser has
// already refused what does not parse, and its transaction layer what has
// no Via or CSeq.
func validateRequest(req *sip.Request) *Rejection {
	switch {
	case req.CallID() == nil || len(req.CallID().Value()) == 0:
		return reject(ReasonMalformed, "Call-ID missing")
	case req.From() == nil:
		return reject(ReasonMalformed, "From missing")
	case req.To() == nil:
		return reject(ReasonMalformed, "To missing")
	case req.CSeq() == nil:
		return reject(ReasonMalformed, "CSeq missing")
	case req.Via() == nil:
		return reject(ReasonMalformed, "Via missing")
	}
	if tag, _ := req.From().Params.Get("tag"); tag == "" {
		return reject(ReasonMalformed, "From tag missing")
	}
	// sipgo upper-cases the method of the request line, not the CSeq's.
	if !strings.EqualFold(string(req.CSeq().MethodName), string(req.Method)) {
		return reject(ReasonMalformed, "CSeq method differs from the request method")
	}
	// Max-Forwards 0: 483, as the edge would have to forward the request;
	// but an OPTIONS is answered by the edge itself, the UAS its
	// Max-Forwards reached (RFC 3261 section 11: OPTIONS with Max-Forwards
	// 0 is how an element's capabilities are queried).
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 && req.Method != sip.OPTIONS {
		return reject(ReasonTooManyHops, "Max-Forwards")
	}
	return nil
}

// validateInvite adds the checks of an initial INVITE.
func validateInvite(req *sip.Request) *Rejection {
	if rej := validateRequest(req); rej != nil {
		return rej
	}
	if c := req.Contact(); c == nil || c.Address.Host == "" {
		return reject(ReasonMalformed, "Contact missing")
	}
	if s := req.Recipient.Scheme; s != "sip" && s != "sips" && s != "tel" {
		return reject(ReasonMalformed, "Request-URI scheme")
	}
	if _, rej := callerIdentity(req, ""); rej != nil {
		return rej
	}
	return nil
}

// dialedUser returns what of a Request-URI names the called number, as
// routing.Map.LookupFrom takes it: the user part of a sip or sips URI (with
// its parameters, e.g. phone-context), the whole of a tel URI; false when
// the URI carries no user (the number is then unknown).
func dialedUser(u *sip.Uri) (string, bool) {
	user := u.User
	if u.Scheme == "tel" {
		user = u.Raw()
	}
	return user, user != ""
}

// callerID returns the caller's number or name from the From header, reduced
// to characters that are safe to pass on; "anonymous" when nothing is left.
func callerID(req *sip.Request) string {
	from := req.From()
	if from == nil {
		return "anonymous"
	}
	user := from.Address.User
	if len(user) > 64 {
		user = user[:64]
	}
	out := make([]byte, 0, len(user))
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("+*#._-", c) >= 0 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "anonymous"
	}
	return string(out)
}

// Bounds of badRequestFor.
const (
	maxEchoLine  = 1024
	maxEchoTotal = 4096
)

// badRequestFor builds a stateless 400 for a request that sipgo's parser
// refused, from the raw bytes: the status line and the Via, From, To,
// Call-ID and CSeq lines copied verbatim (RFC 3261 section 8.2.6.1 needs
// them to match the response). It returns nil when the bytes are a
// response, an ACK (never answered), or lack any of those headers, or
// when a line is too long or holds control characters: such input is
// dropped.
func badRequestFor(data []byte) []byte {
	return refusalFor(data, "SIP/2.0 400 Bad Request")
}

// refusalFor is badRequestFor with another status line.
func refusalFor(data []byte, status string) []byte {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	if len(lines) < 2 || bytes.HasPrefix(lines[0], []byte("SIP/")) || bytes.HasPrefix(lines[0], []byte("ACK ")) {
		return nil
	}
	if !bytes.Contains(lines[0], []byte(" SIP/2.0")) {
		return nil
	}
	found := map[string]bool{}
	out := make([]byte, 0, 512)
	out = append(out, status...)
	out = append(out, "\r\n"...)
	for _, line := range lines[1:] {
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		key := canonicalEcho(string(bytes.TrimSpace(name)))
		if key == "" {
			continue
		}
		if len(line) > maxEchoLine || !printable(line) {
			return nil
		}
		if key != "Via" && found[key] {
			continue
		}
		found[key] = true
		out = append(out, line...)
		out = append(out, "\r\n"...)
		if len(out) > maxEchoTotal {
			return nil
		}
	}
	for _, k := range []string{"Via", "From", "To", "Call-ID", "CSeq"} {
		if !found[k] {
			return nil
		}
	}
	return append(out, "Content-Length: 0\r\n\r\n"...)
}

// canonicalEcho maps a header name, long or compact (RFC 3261 section
// 7.3.3), to the name of a header badRequestFor copies, or "".
func canonicalEcho(name string) string {
	switch strings.ToLower(name) {
	case "via", "v":
		return "Via"
	case "from", "f":
		return "From"
	case "to", "t":
		return "To"
	case "call-id", "i":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	}
	return ""
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
