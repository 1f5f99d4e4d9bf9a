package sip

import (
	"bytes"
	"net"
	"sort"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// supportedExtensions are the option tags of Require the edge supports
// (RFC 3261 section 8.2.2.3): 100rel (RFC 3262, prack.go) and timer
// (RFC 4028, session_timer.go). A request that
// requires any other extension is refused with 420 and an Unsupported
// header naming it.
var supportedExtensions = map[string]bool{"100rel": true, "timer": true}

// supportedValue is the Supported header of the edge's requests and 2xx
// (RFC 3261 section 20.37): its extensions, sorted.
func supportedValue() string {
	tags := make([]string, 0, len(supportedExtensions))
	for t := range supportedExtensions {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return strings.Join(tags, ", ")
}

// screen runs the checks of RFC 3261 section 8.2 that any request passes
// before a transaction exists for it, on the request as parsed and its
// raw bytes (headers only need be present). It returns nil for a request
// that may go on to its method's handler, else the refusal, in this
// order:
//
//   - SIP version other than SIP/2.0: 505 (section 8.1.1.1, 21.5.6);
//   - malformed (400, naming the header): Via, From, To, Call-ID or CSeq
//     missing, no From tag, CSeq method unlike the request's, a header
//     that may appear once appearing twice (section 7.3.1, 20), a From or
//     To display name that is neither a quoted string nor tokens
//     (section 25.1);
//   - Max-Forwards 0: 483 (section 16.3 step 2: the edge never forwards
//     it), except OPTIONS, which the edge answers itself (section 11);
//   - a Request-URI, From or To of a scheme other than sip, sips or tel:
//     416 (section 8.2.2.1);
//   - Require naming an extension the edge lacks: 420 with Unsupported
//     (section 8.2.2.3; never for ACK and CANCEL);
//   - an INVITE's body that is not application/sdp, or is encoded: 415
//     with Accept (section 8.2.3); a body without Content-Type: 400; an
//     Accept that excludes application/sdp: 488, since the edge can only
//     answer with SDP.
//
// ACK is never answered: it is not screened. The method itself (405, 501)
// is the transaction layer's routing (onUnsupported).
func screen(req *sip.Request, raw []byte) *Rejection {
	if req.IsAck() {
		return nil
	}
	if !strings.EqualFold(req.SipVersion, "SIP/2.0") {
		return reject(ReasonBadVersion, "SIP version")
	}
	hops := validateRequest(req)
	if hops != nil && hops.Reason != ReasonTooManyHops {
		return hops
	}
	for _, name := range []string{"Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length", "Content-Type"} {
		if len(req.GetHeaders(name)) > 1 {
			return reject(ReasonMalformed, name+" appears more than once")
		}
	}
	if name := badDisplayName(raw); name != "" {
		return reject(ReasonMalformed, name+" display name")
	}
	if hops != nil {
		return hops
	}
	if rej := checkSchemes(req); rej != nil {
		return rej
	}
	if !req.IsCancel() {
		if rej := checkRequire(req); rej != nil {
			return rej
		}
	}
	if req.IsInvite() {
		return checkOffer(req)
	}
	return nil
}

// checkSchemes refuses URIs of schemes the edge does not handle (RFC 3261
// section 8.2.2.1): the Request-URI, and the From and To a call's caller
// and callee are taken from.
func checkSchemes(req *sip.Request) *Rejection {
	switch {
	case !knownScheme(req.Recipient.Scheme):
		return unsupportedScheme("Request-URI")
	case !knownScheme(req.From().Address.Scheme):
		return unsupportedScheme("From")
	case !knownScheme(req.To().Address.Scheme):
		return unsupportedScheme("To")
	}
	return nil
}

func unsupportedScheme(field string) *Rejection {
	return reject(ReasonUnsupportedScheme, field+" URI scheme")
}

func knownScheme(s string) bool {
	switch strings.ToLower(s) {
	case "sip", "sips", "tel":
		return true
	}
	return false
}

// checkRequire refuses a request that requires an extension the edge
// does not support, listing them in Unsupported (RFC 3261 section
// 8.2.2.3). Proxy-Require is for proxies: the edge terminates the request
// as a user agent and ignores it.
func checkRequire(req *sip.Request) *Rejection {
	var missing []string
	seen := map[string]bool{}
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			tag = strings.TrimSpace(tag)
			key := strings.ToLower(tag)
			if tag == "" || supportedExtensions[key] || seen[key] || (key == "replaces" && replacesInvite(req)) {
				continue
			}
			seen[key] = true
			missing = append(missing, tag)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rej := reject(ReasonBadExtension, "Require")
	rej.headers = []sip.Header{sip.NewHeader("Unsupported", strings.Join(missing, ", "))}
	return rej
}

// checkOffer checks what an INVITE offers and accepts (RFC 3261 section
// 8.2.3): the edge takes and gives application/sdp only, unencoded. An
// INVITE without a body is a delayed offer (offeranswer.go).
func checkOffer(req *sip.Request) *Rejection {
	if len(req.Body()) > 0 {
		ct := req.ContentType()
		if ct == nil {
			return reject(ReasonMalformed, "Content-Type missing")
		}
		if !isSDP(ct.Value()) && !isMultipart(ct.Value()) {
			rej := reject(ReasonUnsupportedMedia, "Content-Type")
			rej.headers = []sip.Header{sip.NewHeader("Accept", "application/sdp")}
			return rej
		}
		for _, h := range req.GetHeaders("Content-Encoding") {
			if v := strings.TrimSpace(h.Value()); v != "" && !strings.EqualFold(v, "identity") {
				rej := reject(ReasonUnsupportedMedia, "Content-Encoding")
				rej.headers = []sip.Header{sip.NewHeader("Accept-Encoding", "identity")}
				return rej
			}
		}
	}
	accepts := req.GetHeaders("Accept")
	if len(accepts) == 0 {
		return nil
	}
	for _, h := range accepts {
		for _, r := range strings.Split(h.Value(), ",") {
			mt, _, _ := strings.Cut(r, ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "application/sdp", "application/*", "*/*":
				return nil
			}
		}
	}
	return reject(ReasonNotAcceptable, "Accept")
}

// isSDP reports whether a Content-Type value is application/sdp.
func isSDP(v string) bool {
	mt, _, _ := strings.Cut(v, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/sdp")
}

// isMultipart reports whether a Content-Type value is multipart/mixed or
// multipart/alternative: SIP-I and SIP-T bodies (RFC 3204), whose SDP part
// the edge uses (media.ExtractSDP).
func isMultipart(v string) bool {
	mt, _, _ := strings.Cut(v, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "multipart/mixed") || strings.EqualFold(mt, "multipart/alternative")
}

// badDisplayName returns "From" or "To" when that header of raw (a
// message's bytes) has a display name that is neither a quoted string nor
// a run of tokens (RFC 3261 section 25.1, RFC 4475 section 3.1.2.16:
// "Bell, Alexander" unquoted), else "". sipgo's parser accepts them.
func badDisplayName(raw []byte) string {
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	_, head, _ = bytes.Cut(head, []byte("\r\n")) // the start line
	for _, line := range unfold(head) {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var field string
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "from", "f":
			field = "From"
		case "to", "t":
			field = "To"
		default:
			continue
		}
		if !displayNameOK(value) {
			return field
		}
	}
	return ""
}

// unfold returns the header lines of a header block, continuation lines
// (starting with space or tab, RFC 3261 section 7.3.1) joined to theirs.
func unfold(head []byte) []string {
	var out []string
	for _, l := range bytes.Split(head, []byte("\r\n")) {
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && len(out) > 0 {
			out[len(out)-1] += " " + string(bytes.TrimLeft(l, " \t"))
			continue
		}
		out = append(out, string(l))
	}
	return out
}

// displayNameOK checks the display name of a name-addr value: a quoted
// string, tokens separated by whitespace, or none.
func displayNameOK(v string) bool {
	v = strings.TrimLeft(v, " \t")
	if v == "" || v[0] == '"' || v[0] == '<' {
		return true
	}
	i := strings.IndexByte(v, '<')
	if i < 0 {
		return true // an addr-spec without display name
	}
	for j := 0; j < i; j++ {
		if c := v[j]; c != ' ' && c != '\t' && !isTokenChar(c) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in a token (RFC 3261 section 25.1).
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-.!%*_+`'~", c) >= 0
}

// rawRefusal is the stateless answer to a request sipgo's parser refused:
// 416 when the Request-URI is of a well-formed scheme the edge does not
// handle (RFC 3261 section 8.2.2.1; sipgo refuses to parse such URIs),
// else 400. It is nil when no response can be addressed (see
// badRequestFor).
func rawRefusal(data []byte) []byte {
	rej := reject(ReasonMalformed, "")
	if s, ok := requestLineScheme(data); ok && !knownScheme(s) {
		rej = unsupportedScheme("Request-URI")
	}
	code, phrase := rej.Status()
	return refusalFor(data, "SIP/2.0 "+itoa(code)+" "+phrase)
}

// requestLineScheme returns the scheme of the Request-URI of a request
// line "METHOD SP URI SP SIP/2.0" when it is syntactically one (RFC 3986
// section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ":").
func requestLineScheme(data []byte) (string, bool) {
	line, _, _ := bytes.Cut(data, []byte("\r\n"))
	parts := bytes.Split(line, []byte(" "))
	if len(parts) != 3 || !bytes.HasPrefix(parts[2], []byte("SIP/")) {
		return "", false
	}
	scheme, _, ok := bytes.Cut(parts[1], []byte(":"))
	if !ok || len(scheme) == 0 || len(scheme) > 32 {
		return "", false
	}
	for i, c := range scheme {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	return string(scheme), true
}

// replyAddr is where a stateless response to a request received over UDP
// from src goes (RFC 3261 section 18.2.2, RFC 3581 section 4): the source
// IP and the port of the top Via's sent-by (5060 when absent), or the
// source port when the Via asks for rport. sipgo's transactions answer
// the same way.
func replyAddr(req *sip.Request, src net.Addr) net.Addr {
	u, ok := src.(*net.UDPAddr)
	via := req.Via()
	if !ok || via == nil {
		return src
	}
	if rport, ok := via.Params.Get("rport"); ok && rport == "" {
		return src
	}
	out := *u
	out.Port = sip.DefaultUdpPort
	if via.Port > 0 {
		out.Port = via.Port
	}
	return &out
}

// knownMethods are methods of RFC 3261 and its extensions that the edge
// recognises but does not take: 405 rather than 501.
var knownMethods = map[string]bool{
	"REGISTER": true, "SUBSCRIBE": true, "NOTIFY": true, "REFER": true, "MESSAGE": true,
	"INFO": true, "UPDATE": true, "PRACK": true, "PUBLISH": true,
}

// onUnsupported answers a request of a method no handler takes (RFC 3261
// section 8.2.1): 405 with Allow for a method the edge knows (REGISTER:
// the edge is no registrar), 501 with Allow for one it does not (section
// 21.5.2). An ACK is never answered.
func (s *Server) onUnsupported(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues(methodLabel(string(req.Method))).Inc()
	if req.IsAck() {
		return
	}
	rej := reject(ReasonNotImplemented, "")
	if knownMethods[string(req.Method)] {
		rej = reject(ReasonMethodNotAllowed, "")
	}
	rej.headers = []sip.Header{sip.NewHeader("Allow", s.allow())}
	s.refuse(req, tx, rej)
}

// allow is the Allow header value: the methods that have a handler.
func (s *Server) allow() string {
	methods := s.sipSrv.RegisteredMethods()
	sort.Strings(methods)
	return strings.Join(methods, ", ")
}

// normalizeParams trims the whitespace sipgo's parser leaves around the
// names and values of From and To parameters ("; tag = 98asjd8" is legal,
// RFC 3261 section 25.1 and RFC 4475 section 3.1.1.1), so that the tags
// transactions and dialogs are matched by are found. It reports whether
// it changed anything: the request is then passed on re-serialised.
func normalizeParams(req *sip.Request) bool {
	changed := false
	trim := func(params sip.HeaderParams) {
		for i, kv := range params {
			k, v := strings.TrimSpace(kv.K), strings.TrimSpace(kv.V)
			if k != kv.K || v != kv.V {
				params[i].K, params[i].V = k, v
				changed = true
			}
		}
	}
	if f := req.From(); f != nil {
		trim(f.Params)
	}
	if t := req.To(); t != nil {
		trim(t.Params)
	}
	return changed
}
