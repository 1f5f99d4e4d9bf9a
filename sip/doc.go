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
package sip
