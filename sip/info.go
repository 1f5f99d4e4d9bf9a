package sip

import (
	"encoding/json"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// MaxEscalationReason bounds the reason of an escalation request, in
// bytes; a longer one is refused with 400.
const MaxEscalationReason = 1024

// maxInfoBody bounds the body of an INFO the edge reads.
const maxInfoBody = 8 << 10

// escalationBody is the JSON body of an INFO by which the service asks for
// a human (see the package documentation).
type escalationBody struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// onInfo answers an INFO inside a call's dialog (RFC 6086). DTMF INFO of
// the trunk goes to onTrunkDTMF (dtmf.go). Otherwise the edge reads
// one kind of INFO: from the service (leg B), Content-Type
// application/json with {"type":"escalation","reason":"..."}, which writes
// call.escalation_requested into the call's workspace stream and is
// answered 200. An INFO without a body (a keepalive) is answered 200 on
// either leg. Any other body is 415 with Accept: application/json (from
// the trunk, whose INFO the edge does not carry, too); a JSON body that is
// not an escalation is 400 naming the field. An INFO outside every dialog
// is 481.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("INFO").Inc()
	if rej := validateRequest(req); rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	ref, ok := s.matchDialog(req)
	if !ok {
		s.noDialog(req, tx)
		return
	}
	c := ref.c
	var dlg interface {
		ReadRequest(*sip.Request, sip.ServerTransaction) error
	}
	if ref.leg == media.LegA {
		dlg = c.trunkDialog()
	} else {
		dlg = c.svc()
	}
	if dlg.ReadRequest(req, tx) != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	if len(req.Body()) == 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	if ref.leg == media.LegA && isDTMFType(req.ContentType()) {
		s.onTrunkDTMF(c, req, tx)
		return
	}
	if ref.leg != media.LegB || !isJSONType(req.ContentType()) {
		rej := reject(ReasonUnsupportedMedia, "Content-Type")
		rej.headers = []sip.Header{sip.NewHeader("Accept", "application/json")}
		s.refuse(req, tx, rej)
		return
	}
	reason, rej := parseEscalation(req.Body())
	if rej != nil {
		s.refuse(req, tx, rej)
		return
	}
	c.log.Info("escalation requested by the service", "reason", reason)
	c.event(tenancy.EventEscalationRequested, map[string]any{"reason": reason, "source": "service"})
	_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// isJSONType reports whether a Content-Type header is application/json.
func isJSONType(ct *sip.ContentTypeHeader) bool {
	if ct == nil {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct.Value())
	return err == nil && mt == "application/json"
}

// parseEscalation reads an escalation body, refusing with 400 (naming the
// field) anything else.
func parseEscalation(body []byte) (string, *Rejection) {
	if len(body) > maxInfoBody {
		return "", reject(ReasonMalformed, "body too large")
	}
	var b escalationBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || dec.More() {
		return "", reject(ReasonMalformed, "JSON body")
	}
	switch {
	case b.Type != "escalation":
		return "", reject(ReasonMalformed, "type must be escalation")
	case len(b.Reason) > MaxEscalationReason:
		return "", reject(ReasonMalformed, "reason too long")
	case !utf8.ValidString(b.Reason):
		return "", reject(ReasonMalformed, "reason not UTF-8")
	}
	return strings.TrimSpace(b.Reason), nil
}
