package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// Blind transfer (RFC 3515, Referred-By RFC 3892): a service REFERs its
// caller elsewhere, inside its own dialog (leg B). Refer-To forms (design
// section 11):
//
//	tel:+E164, sip:+E164@host   a PSTN number, dialled through the outbound
//	                            trunk the policy names (the host is ignored:
//	                            nothing is ever sent to it)
//	sip:<service_id>@host;target=service    another service of the workspace
//	sip:operators@host;target=operators     the workspace's operators
//
// Answers: 400 for a missing, repeated or malformed Refer-To (or one that
// is none of these forms, e.g. an arbitrary SIP URI), 481 for a REFER of no
// known dialog, 403 for a REFER outside a dialog or from the trunk's side,
// 491 while another transfer of the call is in progress, 403 after
// maxRefersPerCall; else 202 and NOTIFYs (Event: refer, message/sipfrag)
// with the progress: 100, 180, 200 or the failure; a target outside the
// workspace's policy gets NOTIFY "SIP/2.0 403 Forbidden" and nothing is
// dialled.

// maxRefersPerCall bounds the REFERs one call may make (a flood of REFERs
// in one call gets 403 past it).
const maxRefersPerCall = 5

// referTarget is a parsed Refer-To.
type referTarget struct {
	kind   string // tenancy.TransferPSTN, TransferService, TransferOperators
	number string // pstn: E.164
	id     string // service: the service id
}

// parseReferTo parses the one Refer-To of req; "" detail when valid.
func parseReferTo(req *sip.Request) (referTarget, string) {
	var hs []sip.Header
	hs = append(hs, req.GetHeaders("Refer-To")...)
	hs = append(hs, req.GetHeaders("r")...)
	if len(hs) != 1 {
		return referTarget{}, "exactly one Refer-To"
	}
	v := strings.TrimSpace(hs[0].Value())
	if len(v) == 0 || len(v) > 512 || !printable([]byte(v)) {
		return referTarget{}, "Refer-To"
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v, '>')
		if j < i {
			return referTarget{}, "Refer-To"
		}
		v = v[i+1 : j]
	}
	if strings.ContainsAny(v, "?") {
		return referTarget{}, "Refer-To headers (Replaces) are not supported"
	}
	lower := strings.ToLower(v)
	if strings.HasPrefix(lower, "tel:") {
		num, _, _ := strings.Cut(v[4:], ";")
		if n, ok := strictE164(num); ok {
			return referTarget{kind: tenancy.TransferPSTN, number: n}, ""
		}
		return referTarget{}, "Refer-To tel number"
	}
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		return referTarget{}, "Refer-To scheme"
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil || u.Host == "" || u.User == "" {
		return referTarget{}, "Refer-To URI"
	}
	target := ""
	if u.UriParams != nil {
		target, _ = u.UriParams.Get("target")
	}
	switch strings.ToLower(target) {
	case "service":
		id := strings.ToLower(u.User)
		if !tenancy.ValidID(id) {
			return referTarget{}, "Refer-To service id"
		}
		return referTarget{kind: tenancy.TransferService, id: id}, ""
	case "operators":
		if !strings.EqualFold(u.User, "operators") {
			return referTarget{}, "Refer-To operators"
		}
		return referTarget{kind: tenancy.TransferOperators}, ""
	case "":
		if n, ok := strictE164(u.User); ok {
			return referTarget{kind: tenancy.TransferPSTN, number: n}, ""
		}
		return referTarget{}, "Refer-To is not a number, a service or the operators"
	}
	return referTarget{}, "Refer-To target"
}

// strictE164 accepts '+' and digits (visual separators of RFC 3966
// dropped), nothing else: letters or too many digits are refused.
func strictE164(s string) (string, bool) {
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	b := make([]byte, 0, 16)
	b = append(b, '+')
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			b = append(b, c)
		case c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	return string(b), tenancy.IsE164(string(b))
}

// onRefer takes a REFER (RFC 3515 section 2.4).
func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("REFER").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	answer := func(code int, phrase string) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, phrase, nil))
	}
	if tag, _ := req.To().Params.Get("tag"); tag == "" {
		s.xfer.met.transfers.WithLabelValues(transferRefused).Inc()
		answer(403, "Forbidden") // a REFER outside any dialog
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok {
		s.noDialog(req, tx)
		return
	}
	c := ref.c
	if ref.leg != media.LegB {
		s.xfer.met.transfers.WithLabelValues(transferRefused).Inc()
		answer(403, "Forbidden") // only the service transfers its calls
		return
	}
	dlg := c.svc()
	if dlg == nil || dlg.ReadRequest(req, tx) != nil {
		answer(481, "Call/Transaction Does Not Exist")
		return
	}
	target, detail := parseReferTo(req)
	if detail != "" {
		s.xfer.met.transfers.WithLabelValues(transferRefused).Inc()
		s.refuse(req, tx, reject(ReasonMalformed, detail))
		return
	}
	st := s.xfer.transferOf(c.id)
	switch st.begin() {
	case beginBusy:
		answer(491, "Request Pending")
		return
	case beginExhausted:
		s.xfer.met.transfers.WithLabelValues(transferRefused).Inc()
		answer(403, "Forbidden")
		return
	}
	res := sip.NewResponseFromRequest(req, 202, "Accepted", nil)
	contact := s.contact(transportOf(req))
	res.AppendHeader(&contact)
	if err := tx.Respond(res); err != nil {
		st.done()
		return
	}
	referredBy := ""
	if h := req.GetHeader("Referred-By"); h != nil {
		referredBy = h.Value()
	}
	s.calls.Add(1) // Drain and Close wait for the transfer too
	go func() {
		defer s.calls.Done()
		c.runTransfer(target, referredBy, st)
	}()
}
