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
// source (404, identical in both cases; the number is normalised with the
// default country code of each trunk containing the source, see
// routing.Map.LookupFrom), the trunk's request budget (503 with
// Retry-After, budget.go), suspended workspace (403), SDP (488 with no
// common codec), then the workspace's limits across all edges
// (tenancy.Store.AdmitCallEvent: 486 at the concurrent-call limit, 480 with
// Retry-After at the CPS limit; while Redis is away, this node's share of
// them, admit_local.go). Only then does
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
// Contact and SDP. CANCEL, BYE from either side, OPTIONS keepalives, the
// no-answer, media-timeout, session-timer and maximum-duration timers,
// and hangup requests from the control plane (tenancy.Store.ReadControl)
// end calls; every end releases the media ports, the dialog cache entries
// and the call's slot, and writes call.ended into the workspace's stream.
//
// # Dialogs (RFC 3261 sections 12-15, RFC 3262, 3264, 3311, 4028)
//
// Offer/answer in every position (offeranswer.go): an INVITE without SDP
// (a delayed offer, CUCM's default) is bridged, the edge offering PCMU,
// PCMA and telephone-event in its 200 and reading the answer from the
// ACK; an ACK without a usable answer ends the call on both legs
// (no_answer_sdp). Every 2xx carries Allow and Supported (section
// 13.3.1.4) and is retransmitted by the edge until its ACK, for 64*T1
// (Config.T1); a trunk that never acknowledges gets a BYE (no_ack).
//
// re-INVITE and UPDATE are carried end to end (reinvite.go, update.go,
// forward.go): an offer of either leg goes to the other leg with the
// edge's own SDP for that leg, in the direction offered (the voice agent
// learns of a hold), the answer points the relay at the new media
// (address, port, codec, direction) and comes back as the edge's answer.
// An offerless re-INVITE gets the edge's offer in the 200 and its answer
// from the ACK; a hold it brings is offered to the other leg. UPDATE goes
// out as UPDATE to a peer whose Allow lists it, else as re-INVITE; an
// UPDATE of an early dialog is answered at the edge, one without SDP is a
// refresh answered 200 without body. While an exchange is in progress
// another offer gets 491 (glare), or 500 with Retry-After when it comes
// from the leg whose offer is in progress; a 491 to the edge's own offer
// is retried after RFC 3261 section 14.1's delay (2.1-4 s on the
// service's leg, whose Call-ID the edge owns, 0-2 s on the trunk's). A
// peer answering 481 or 408 ends the call.
//
// 100rel (prack.go): 18x go reliably to a trunk that supports or requires
// 100rel, retransmitted until PRACKed (RAck matched; 481 otherwise) or
// refused 500 after 64*T1; early media goes in a reliable 183. The
// service is offered Supported: 100rel and its reliable 18x are PRACKed.
// Require of any other extension is 420 with Unsupported naming it.
//
// Session timers (session_timer.go), per leg: a Session-Expires below
// Config.MinSE (90 s) is 422 with Min-SE, a malformed one 400 "Bad
// Session-Expires"; the 200 carries Session-Expires with the refresher
// (and Require: timer when the peer supports it); the edge refreshes the
// legs it is refresher of at half the interval (UPDATE when allowed, else
// re-INVITE) and ends the call on both legs (session_expired) when a
// refresh it is owed does not come by interval - min(32 s, interval/3).
// Config.SessionExpires (EDGE_SESSION_EXPIRES) is the interval asked of
// the service and used when a trunk names none.
//
// Stuck calls end: either leg silent for Config.MediaTimeout while not on
// hold ends the call (media_timeout_trunk, media_timeout_service;
// mediawatch.go); a BYE in the trunk's early dialog gets 200 and its
// INVITE 487; a service 2xx crossing the edge's CANCEL is acknowledged
// and hung up (latecancel.go); in-dialog requests, OPTIONS included, of
// unknown or ended dialogs get 481; the service's in-dialog requests are
// matched by Call-ID and tags, not by source address (another node of the
// same agent platform may send the BYE), the trunk's also by its CIDRs;
// BYEs are retransmitted until Timer F (Config.ByeTimeout).
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
// 483 (OPTIONS excepted: the edge answers it itself, RFC 3261 section
// 11), a Request-URI, From or To scheme other than sip, sips or tel 416,
// Require of an extension other than 100rel and timer 420 with
// Unsupported naming it, an INVITE body other than application/sdp 415 with
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
// # Per-source rate limit and carrier budgets
//
// Config.RateLimit is a token bucket per source IP over every UDP
// datagram and every new TCP or TLS connection of sources in no trunk
// (TrustedCIDRs exempt, service peers of live calls too). Over it,
// datagrams are dropped and connections closed without an answer and
// counted in edge_sip_dropped_total{reason="rate_limited"}. Silence is
// deliberate: an answer (503) would cost the edge a response per request
// of the flood, reflect traffic at a spoofed source, and tell a scanner
// the address is a live SIP edge.
//
// Sources inside a trunk's CIDRs are carriers and are held to their
// trunks' budgets instead (design section 10, budget.go): a trunk's
// max_requests_per_second (default 500) per source for out-of-dialog
// requests, an initial INVITE charged to the trunk it routes through, so
// that two workspaces' trunks sharing a carrier address keep separate
// budgets. Requests of known dialogs, ACK and CANCEL never count. Over
// budget a request is answered 503 with Retry-After: 1, so the carrier
// fails over rather than retransmitting into silence. Workspace limits
// (max_cps, max_concurrent_calls) are quotas, not protection, and are
// answered with callee-scoped statuses (480 with Retry-After, 486).
//
// # Failure statuses (errors.go)
//
// 503 with Retry-After tells a carrier to back off the whole edge, every
// tenant (RFC 3261 section 21.5.4): the edge sends it only for whole-edge
// conditions, draining (also to OPTIONS), shutdown, media ports exhausted,
// the call store unreachable, and for a trunk over its own budget. A
// single service's failure is final for the call, without Retry-After:
// 480 when it does not answer in time or answers 408/480, 486 when busy
// (486/600), 503 when unreachable or answering any other failure, 500 for
// a fault of the edge's own while setting the call up.
//
// # Drain
//
// Drain (SIGTERM in cmd/edge) refuses new calls and out-of-dialog OPTIONS
// with 503 and Retry-After at once, lets the calls in progress finish, and
// when its time runs out hangs up the calls left: BYE on both legs with
// Reason: SIP;cause=503;text="Edge drain timeout" (RFC 3326 section
// 2), end reason drain_timeout. Close ends calls with reason shutdown and
// its own Reason header (byeReasons in errors.go); a BYE ending a call for
// any other cause carries none.
//
// # Carrier identity and requests to services
//
// The caller's identity is read from P-Asserted-Identity, Remote-Party-ID,
// Privacy, Diversion, History-Info and the STIR/SHAKEN verstat parameter
// (identity.go, which documents what is a 400 and what is ignored) and
// handed to the service as X-Caller, X-Caller-Privacy, X-Caller-Verified
// and X-Diverted-From; nothing else of the trunk's headers reaches it. All
// X- headers together stay under MaxServiceHeaders (1 KiB):
// X-Voice-Settings takes what the others leave, its lists cut from the end
// with "truncated": true when needed. Max-Forwards of the INVITE to the
// service is the trunk's less one (RFC 7332). An INVITE to a UDP service
// over 1300 bytes goes over TCP when the target URI has no transport
// parameter (RFC 3261 section 18.1.1), else stays on UDP with
// X-Voice-Settings cut down until it fits (service_request.go).
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
// # Transfers (design section 11)
//
// Blind transfer is REFER from the service (refer.go, transfer.go). Warm
// transfer is either an INVITE with Replaces from the service's side for
// its own dialog (RFC 3891, replaces.go), after which leg B is a dialog
// the edge is the UAS of (service_dialog.go), or a take-over by a barging
// operator (Server.TakeOver, takeover.go), after which the call outlives
// its agent; a REFER to the operators plays hold audio to the caller
// until an operator is heard (hold.go).
//
// Other packages of the edge reach live calls through Server.Call, which
// gives a CallHandle with the call's workspace, service and media session
// (sip/operators joins operators to it).
package sip
