// Package operators is the signalling of operator legs (design section 8):
// staff of a workspace join its live calls from a browser over WebRTC to
// listen, whisper to the agent or barge in, on the edge's HTTP port. It
// serves the operator API, forwards requests about calls of other edge
// nodes to them, checks every operator again while it is on a call, and
// embeds the operator console.
//
// # Routes
//
// One route table (routes.go) says everything about a route:
//
//	POST   /v1/calls/{call_id}/operators?mode=listen|whisper|barge   Content-Type: application/sdp
//	       -> 201, the SDP answer (application/sdp), Location: /v1/calls/{call_id}/operators/{operator_id}
//	PATCH  /v1/calls/{call_id}/operators/{operator_id}   {"mode": "..."} and/or {"muted": bool} -> 200
//	DELETE /v1/calls/{call_id}/operators/{operator_id}   -> 204
//	POST   /v1/calls/{call_id}/operators/{operator_id}/take-over   -> 200, the operator with "take_over": true
//	       (warm transfer: a barging operator keeps the call when the agent leaves; takeover.go)
//	GET    /v1/calls                   the key's workspace's active calls, each with its operators
//	GET    /v1/calls/{call_id}         one call with its operators
//	GET    /v1/calls/{call_id}/operators/{operator_id}/levels   Server-Sent Events of the call's audio levels
//	GET    /v1/calls/{call_id}/caller  the world model's projection of the call's caller
//	POST   /v1/calls/{call_id}/hangup      -> 202, call.hangup_requested (any node; the holder hangs up)
//	POST   /v1/calls/{call_id}/escalations   {"reason": "...", "mode": "..."} -> 202, call.escalation_requested
//	GET    /v1/events/stream           Server-Sent Events of the workspace's call and operator events
//	GET    /v1/workspace               the key's workspace: id, name, environment, and the key's account
//	GET    /console/                   the operator console
//
// Errors are {"error": {"code", "message", "field"}} as in the admin API,
// mapped from their causes in one table (errors.go).
//
// # Authorization
//
// Every request carries Authorization: Bearer <API key>, authenticated
// with tenancy.Store.Authenticate on every request, so the role is the
// account's role at the time of use. In order: missing or unknown key 401;
// a call that is not of the key's workspace 404 with the same body as a
// call that does not exist (guessed or foreign call ids learn nothing);
// a role that does not allow the route 403 (joining, leaving, changing
// operators and escalating need member or above; reading calls and events
// any role); join attempts beyond the key's bucket 429 with Retry-After;
// then, on the node holding the call, a mode that is not listen, whisper
// or barge 422 naming "mode" (absent: listen), an operator config that
// does not allow the account or the mode 403 (a workspace that never set
// its operator config allows nobody), a body that is not application/sdp
// 415, an offer over media.MaxOfferSize or not SDP 400, an offer without
// PCMU 422 naming "sdp", a call that has ended 409. An operator session of
// another call or workspace is 404; one of another account of the same
// workspace may be changed or removed by admins and owners only (403).
//
// While an operator is on a call, its key, its account's role and the
// operator config are checked again every Config.RecheckInterval (2 s):
// a revoked key, a deleted account, a role below member, or an account or
// mode no longer allowed takes the operator off the call within seconds.
// Each join writes operator.joined (operator_id, account_id, mode) and each
// leave operator.left (the same and a reason: left, removed, disconnected,
// call_ended, key_revoked, account_removed, role_revoked, not_allowed,
// shutdown) into the workspace's stream.
//
// # Several edge nodes
//
// Each node registers its HTTP address (Config.AdvertiseAddr) in Redis
// with a lease (tenancy.Store.RegisterNode). A request about a call whose
// record names another node is authenticated and checked against the
// key's workspace here, then reverse-proxied to the holding node, which
// checks it all again and answers; its response (status, SDP answer,
// Location) is relayed as it is. The bearer key is not forwarded: the
// request carries instead a forward token (forward_token.go), signed with
// the secret the nodes share, naming the key, bound to the method and
// path, valid 30 s and accepted once; the holding node resolves the key's
// role itself. Forwarded requests carry X-Edge-Forwarded-By and are never
// forwarded twice. A call whose node is
// no longer registered is 409; a node that does not answer 502. Who is on
// a call is kept in Redis (tenancy.Store.PutOperator, with a lease renewed
// at every recheck), so any node lists the operators of any call.
//
// # Console and its live updates
//
// The console is what a supervisor works in: the workspace's name and
// environment always in the header (a production workspace under a red
// PRODUCTION banner, and in the page title); a live board of the calls
// (caller, number, service, state, a ticking duration, who is on each and
// in which mode); the escalation queue with a pulsing alert and a beep
// made with WebAudio (no sound file), repeated while a caller waits, and
// a one-click join in the mode the escalation asks (listen when none);
// the caller's projection beside the selected call (GET .../caller:
// previous calls, talk time, escalations; a caller without an entity is a
// first call); and, while joined, mode buttons, mute, leave and level
// meters. Keyboard: J joins the oldest waiting escalation; on a call L, W
// and B switch to listen, whisper and barge, M mutes, Esc leaves.
//
// Audio levels are measured where the audio is: the edge's mixer meters
// each party as it receives it (caller, agent, each operator: RMS in dBFS
// of every 20 ms frame with a short hold, media.Session.Levels, no
// allocation per frame), and the levels route streams them every 100 ms
// to the operator's own console (Server-Sent Events over fetch, like the
// event stream; they never go through Redis). The browser adds one meter
// of its own, the mix it receives, from WebRTC getStats() audioLevel.
//
// The caller projections are the control plane's (design section 12):
// the edge reads them, through the Callers interface that cmd/edge
// implements over Redis (hash {ws:<id>}:entities:callers, field the
// caller's E.164 number), and never writes them.
//
// The console (console/, embedded with go:embed) is plain HTML, CSS and
// JavaScript under a strict Content-Security-Policy, with nothing from
// other origins. The API key is pasted once and kept in sessionStorage
// (this tab only). The live event stream is read with fetch() and a
// streaming body, so the key travels in the Authorization header like
// every other request: EventSource cannot set headers, and a long-lived
// key must never be in a URL (logs, history, referrers). The stream
// carries the call.* and operator.* events only; the configuration audit
// stays in the admin API's stream. Joining is not trickled: the console
// waits for ICE gathering to complete and POSTs the whole offer; with no
// microphone (or a refused one) it sends a silent track and can still
// listen.
package operators
