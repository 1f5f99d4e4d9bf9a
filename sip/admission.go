package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
)

// admission is what trunk admission found for an initial INVITE.
type admission struct {
	route  *routing.Route
	trunk  *routing.Trunk
	src    netip.Addr
	caller string
	// identity is what the carrier said of the caller (identity.go).
	identity identity
}

// admit runs trunk admission on a well-formed initial INVITE, in the order
// of design section 7: source in a trunk of any workspace (else 403), the
// route of the number and a trunk of the owning workspace that matches the
// source, the number normalised with that trunk's default country code
// (routing.Map.LookupFrom; else 404, the same answer whether the number is
// unknown or owned by a workspace none of whose trunks match; see unrouted
// for the challenge of a credentialed source trunk that comes first), the
// trunk's request budget for the source (503 with Retry-After, budget.go),
// the digest credentials of that trunk (407), the workspace's status (403),
// then the caller's identity (identity.go). Limits are checked by
// AdmitCallEvent, after the SDP, so a refused call leaves no trace.
func (s *Server) admit(req *sip.Request) (*admission, *Rejection) {
	src := sourceIP(req)
	if !s.router.KnownSource(src) {
		return nil, reject(ReasonUnknownSource, "")
	}
	dialed, ok := dialedUser(&req.Recipient)
	if !ok {
		return nil, s.unrouted(req, src)
	}
	route, trunk, ok := s.router.LookupFrom(src, dialed)
	if !ok {
		return nil, s.unrouted(req, src)
	}
	if rej := s.trunkBudget(trunk, src); rej != nil {
		return nil, rej
	}
	if trunk.HasCredentials() {
		if rej := s.checkDigest(req, trunk); rej != nil {
			return nil, rej
		}
	}
	if !route.Workspace.Active() {
		return nil, reject(ReasonSuspended, "")
	}
	id, rej := callerIdentity(req, trunk.CountryCode)
	if rej != nil {
		return nil, rej
	}
	return &admission{route: route, trunk: trunk, src: src, caller: id.caller, identity: id}, nil
}

// unrouted answers a request whose number has no route through the
// source's trunks: unknown, or owned by a workspace none of whose trunks
// match. Both answer alike: 404. But design section 7 puts the challenge
// (step 3) before the 404 (step 4): when every trunk containing the source
// has credentials, the request must pass the challenge of one of them
// before it learns anything about numbers. A source that some trunk admits
// by address alone gets the 404 at once (it could learn the same through
// that trunk).
func (s *Server) unrouted(req *sip.Request, src netip.Addr) *Rejection {
	trunks := s.router.TrunksFrom(src)
	if rej := s.sourceBudget(src, trunks); rej != nil {
		return rej
	}
	var challenge *Rejection
	for _, t := range trunks {
		if !t.HasCredentials() {
			return reject(ReasonNotFound, "")
		}
		rej := s.checkDigest(req, t)
		if rej == nil {
			return reject(ReasonNotFound, "")
		}
		if challenge == nil || rej.Reason == ReasonAuthFailed {
			challenge = rej
		}
	}
	if challenge != nil {
		return challenge
	}
	return reject(ReasonNotFound, "")
}

// checkDigest verifies the request's Proxy-Authorization against the
// trunk's credentials (RFC 3261 section 22.3) and returns the 407 to send
// when it fails.
func (s *Server) checkDigest(req *sip.Request, t *routing.Trunk) *Rejection {
	hdrs := req.GetHeaders("Proxy-Authorization")
	values := make([]string, 0, len(hdrs))
	for _, h := range hdrs {
		values = append(values, h.Value())
	}
	switch s.auth.verify(digestRequest{method: string(req.Method), uri: req.Recipient, src: sourceIP(req)}, values, t) {
	case authOK:
		return nil
	case authStale:
		return &Rejection{Reason: ReasonAuthRequired, authenticate: s.auth.challenge(true)}
	case authWrong:
		return &Rejection{Reason: ReasonAuthFailed, authenticate: s.auth.challenge(false)}
	default:
		return &Rejection{Reason: ReasonAuthRequired, authenticate: s.auth.challenge(false)}
	}
}

// refuse answers a request with the response of rej and counts it. An
// unknown source is not answered at all when so configured.
func (s *Server) refuse(req *sip.Request, tx sip.ServerTransaction, rej *Rejection) {
	s.countRefusal(req, rej)
	if rej.Reason == ReasonUnknownSource && s.cfg.DropUnknownSources {
		s.metrics.dropped.WithLabelValues(string(ReasonUnknownSource)).Inc()
		return
	}
	res := rej.responseTo(req)
	code := res.StatusCode
	if err := tx.Respond(res); err != nil {
		s.log.Debug("answer refusal", "status", code, "reason", rej.Reason, "error", err)
	}
	s.log.Debug("refused", "method", req.Method, "status", code, "reason", rej.Reason, "detail", rej.Detail, "source", req.Source())
}

// countRefusal counts a refused request: an initial INVITE in
// invites_total, any other request in requests_refused_total.
func (s *Server) countRefusal(req *sip.Request, rej *Rejection) {
	if req.IsInvite() && !hasToTag(req) {
		s.metrics.invites.WithLabelValues("rejected", string(rej.Reason)).Inc()
		return
	}
	s.metrics.refused.WithLabelValues(methodLabel(string(req.Method)), string(rej.Reason)).Inc()
}

// hasToTag reports whether req is in a dialog (its To has a tag).
func hasToTag(req *sip.Request) bool {
	if to := req.To(); to != nil {
		tag, _ := to.Params.Get("tag")
		return tag != ""
	}
	return false
}
