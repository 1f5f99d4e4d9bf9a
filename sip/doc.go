// Package sip is the edge's SIP data plane (design sections 7 and 9): the
// listeners trunks and services talk to, trunk admission, and a B2BUA that
// bridges each admitted call from its trunk (leg A) to its workspace's
// service (leg B) while the media package anchors the RTP.
//
// Admission of an initial INVITE follows design section 7 in order:
// malformed (400), source in no trunk of any workspace (403, or dropped
// with Config.DropUnknownSources), digest challenge of the owning
// workspace's trunk that matches the source (407, RFC 3261 section 22.3),
// unknown number or a number whose workspace has no trunk matching the
// source (404, identical in both cases), suspended workspace (403), SDP
// (488 with no common codec), then the workspace's limits across all edges
// (tenancy.Store.AdmitCall: 486, or 503 with Retry-After). Only then does
// the call exist: a refused INVITE leaves no record, slot or event. Every
// refusal is counted in edge_sip_invites_total with its reason; the one
// table from cause to SIP status is in errors.go.
//
// An admitted call gets 100 Trying at once, an INVITE to the service
// target with the X-Edge-Call-ID, X-Workspace-ID, X-Service-ID,
// X-Environment, X-Caller, X-Called and X-Voice-Settings headers and the
// edge's own SDP, 180/183 relayed, and 200 with the edge's SDP when the
// service answers. Nothing of the service side reaches the trunk: the
// trunk's responses are built from its own request, with the edge's
// Contact and SDP. CANCEL, BYE from either side, re-INVITE (hold and
// resume, answered at the edge), OPTIONS keepalives, the no-answer,
// media-timeout and maximum-duration timers, and hangup requests from the
// control plane (tenancy.Store.ReadControl) end calls; every end releases
// the media ports, the dialog cache entries and the call's slot, and
// writes call.ended into the workspace's stream.
//
// Transactions and retransmissions are sipgo's (github.com/emiago/sipgo):
// server transactions for what trunks and services send, client
// transactions for what the edge sends, sipgo's dialog sessions for each
// leg, and the package's own dialog cache to find a call from any
// in-dialog request.
//
// # Request screening (RFC 3261 section 8.2, RFC 4475)
//
// Every request is screened on its transport, before sipgo makes a
// transaction of it, and refused statelessly with the status of the one
// cause table in errors.go: unparsable 400 (416 when only the
// Request-URI's scheme is unknown to the parser), other SIP version 505,
// missing or repeated single headers, CSeq unlike the method, unquoted
// display names with separators 400 naming the header, Max-Forwards 0
// 483, a Request-URI, From or To scheme other than sip, sips or tel 416,
// Require of any extension 420 with Unsupported (the edge supports none,
// not even 100rel), an INVITE body other than application/sdp 415 with
// Accept, an INVITE whose Accept excludes SDP 488. Methods without a
// handler get 405 with Allow (REGISTER: the edge is no registrar) or, when
// unknown, 501. These checks come before the source check of design
// section 7, since their answers depend on the request alone and say
// nothing of workspaces or numbers. Answers go, as sipgo's do, to the
// source address and the top Via's port (RFC 3261 section 18.2.2; the
// source port with rport). Over TCP and TLS the stream is framed with
// sipgo's parser; an unparsable message is answered when it can be, the
// rest of what was buffered is discarded, and the connection stays open.
// A request without From tag (RFC 2543, RFC 4475 inv2543) is refused 400:
// neither sipgo's transactions nor the edge's dialogs can be matched
// without it. Responses matching no transaction are dropped silently.
//
// # Per-source rate limit
//
// Config.RateLimit is a token bucket per source IP over every UDP
// datagram and every new TCP or TLS connection (TrustedCIDRs exempt,
// service peers of live calls too). Over it, datagrams are dropped and
// connections closed without an answer and counted in
// edge_sip_dropped_total{reason="rate_limited"}. Silence is deliberate:
// an answer (503) would cost the edge a response per request of the flood,
// reflect traffic at a spoofed source, and tell a scanner the address is
// a live SIP edge; a genuine trunk over its rate retransmits (UDP) and
// gets through once its bucket refills. Workspace limits (max_cps,
// max_concurrent_calls) are quotas, not protection, and are answered
// (503 with Retry-After, 486).
//
// # Escalation by the service (INFO)
//
// A service asks for a human operator with an INFO inside the call's
// dialog (RFC 6086), Content-Type application/json and the body
//
//	{"type": "escalation", "reason": "caller asks for a nurse"}
//
// (reason optional, at most MaxEscalationReason bytes of UTF-8). The edge
// answers 200 and writes call.escalation_requested, data {"reason",
// "source": "service"}, into the call's workspace stream, where operator
// consoles see it. An INFO without a body is answered 200 (keepalive); a
// JSON body that is not an escalation 400 naming the field; DTMF from the
// trunk (application/dtmf-relay, application/dtmf) 200, converted to RFC
// 4733 towards the service (dtmf.go), 400 when it names no digit; any other
// body 415 with Accept: application/json; an INFO outside every dialog 481.
//
// Other packages of the edge reach live calls through Server.Call, which
// gives a CallHandle with the call's workspace, service and media session
// (sip/operators joins operators to it).
package sip
