// Package admin is the control plane's REST API (design sections 4-6),
// served by `edge-admin serve`: workspaces and their accounts, API keys,
// services, phone numbers, trunks, safety policies, data sources, voice
// settings, operator config, billing, calls, events (also as a live
// Server-Sent Events stream), promotions, the world model (domain events
// and entity projections) and the call context agents read with their
// call token, with its OpenAPI description,
// Prometheus metrics and health probes.
//
// One route table (routes.go) drives everything that is said about a route:
// the http.ServeMux registration, who may call it (the platform token, or a
// workspace API key whose role allows the route's tenancy.Action), and the
// generated OpenAPI 3.1 document.
//
// Every request of a workspace is checked in this order: the bearer token
// is authenticated (401), the key's workspace must be the path's workspace
// (404 exactly like a workspace that does not exist, so that nothing of
// another workspace leaks), then the role must allow the action (403). The
// role is read from the store at the time of each request, so demoting or
// deleting an account, or revoking a key, takes effect on the next request.
//
// Failures are mapped to HTTP statuses in one table (errors.go): tenancy's
// sentinel errors and this package's own. Writes are single store
// transactions, so a failure leaves nothing partial behind.
//
// Choices where the design is silent:
//   - PUT of a collection item creates (201) or replaces (200); a body id
//     that differs from the path's is 422 naming "id" (a phone number's id
//     is its number, normalised to E.164 on both sides). Write-only fields
//     left out of a replace, or sent back as GET masks them, keep their
//     stored values, so GET, edit, PUT is safe.
//   - PUT accounts/{id} changes name, email and role of an existing account
//     (ids are made by POST); api-keys have no PUT.
//   - POST calls/{id}/hangup answers 202: the edge node carrying the call
//     is asked to end it, and a call.hangup_requested event records who.
//   - A workspace's environment never changes (422 naming "environment").
//   - Rate limits are token buckets per API key and per TCP peer address,
//     with a tighter bucket of failed authentications per address that
//     locks the address out (429 with Retry-After) until it refills.
//   - Event streams re-check their key every few seconds and end when it
//     stops working; their number is capped (503 with Retry-After).
//   - Deleting a workspace (owner) asks the edges to hang up its active
//     calls, deletes every key of its slot in one script that leaves a
//     tombstone (48 h) which the edges' late call-state writes check, and
//     deletes its event stream too, so its audit record is the log line and
//     the change stream's delete_workspace.
//   - Quotas (tenancy.Policy, set by the platform in edge-admin's
//     configuration): a write that would add an item over a count quota
//     (services, phone numbers, trunks, safety policies, data sources,
//     accounts, API keys per account and per workspace) is 409
//     quota_exceeded with error.quota naming it: the request is valid, the
//     workspace is full. A context_graph or agent_config over its size
//     quota is 422 naming the field and the quota. Configuration writes of
//     one workspace's keys share a token bucket (Config.WriteRate): 429.
//   - Phone numbers: a claim of a number some workspace holds, another's
//     or the claimer's own, is one 409 conflict "phone number ... is not
//     available". With tenancy.Policy.PlatformAssignsNumbers only the
//     platform token adds numbers (after verifying them with the carrier);
//     a workspace key adding one is 403, the same whether or not anyone
//     holds it. Without it, admins claim numbers first come first served
//     (README, "Phone numbers").
//   - Trunks: a CIDR wider than the platform's minimum prefix (/16, /48) is
//     422 allowed_cidrs; one that overlaps a CIDR of another workspace's
//     trunk is one 409 conflict whatever it overlaps, unless the platform
//     allows overlaps. The password is kept only as digest HA1s for the
//     platform's realm (EDGE_SIP_REALM), never returned.
//   - Data sources: credentials are sealed with EDGE_ADMIN_SECRET_KEY
//     (without it a data source with credentials is 422 credentials). A
//     PUT that changes base_url must send the credentials again: sent back
//     masked, or left out, it is 422 naming credentials, as the stored
//     credentials are not handed to a new URL.
//   - POST to a collection without "id": the id is the slug of "name"
//     (lowercase a-z0-9 and '-'), "-2", "-3", ... when taken, or
//     "<svc|trunk|policy|ds>-<random>" when the name gives nothing; a data
//     source has an optional "name" (else its kind is used). A phone
//     number's id is its number and is never made up.
//   - Call tokens (design section 12) authenticate as the agent of their
//     call: GET /v1/call-context and POST /v1/call-context/events, and
//     POST /v1/workspaces/{ws}/events of their own workspace. Any other
//     route, and any route of another workspace, answers 404 to a call
//     token (it sees its call and nothing else). A token that is unknown,
//     forged, expired, of a call that ended more than 60 s ago (or whose
//     edge's lease lapsed that long ago) or of a deleted workspace is 401,
//     all alike. An API key or the platform token on the call-context
//     routes is 403.
//   - Domain events (POST .../events, member+ or a call token): type is
//     two or more dotted lowercase words, never call., operator., config.,
//     call_context. or promotion. (422 naming "type"); data is a JSON
//     object of at most 16 KiB (413 naming "data") nested at most 8 deep
//     (422 naming "data"). The event records its actor.
//   - Projections are computed per workspace from its event stream only,
//     by tenancy.Store.Project, which applies each event once under a
//     cursor. They are kept current by the follower of Serve (every
//     Config.ProjectionInterval, for the events edges append), after each
//     event the API appends and before each entity read of the API. The
//     follower also trims events to settings.event_retention_days.
//   - GET /v1/regulation-templates is public, like the API description: it
//     is the platform's documentation, the same for every workspace.
//   - outbound-trunks (design section 11) are written by admin+ and read
//     by every role without their password. POST /v1/workspaces/{ws}/calls
//     (member+) answers 201 with the call in state "dialing" at once and
//     queues a dial request on the edges' dial stream (dial.go); a "from"
//     that is not this workspace's number is 422 naming "from" whoever owns
//     it, a "to" that is not E.164 422 naming "to", and a destination no
//     outbound trunk of the workspace may reach (allowed_prefixes,
//     premium-rate ranges) 403 with a message naming "to": a policy
//     refusal rather than a malformed value. Its budget is the per-
//     workspace budget of hangups.
package admin
