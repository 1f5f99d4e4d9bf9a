package admin

import (
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// access says who may call a route.
type access int

const (
	// public routes need no token: probes, metrics, the API description.
	public access = iota
	// platformOnly routes need the platform token.
	platformOnly
	// inWorkspace routes need a key of the path's workspace whose role
	// allows the route's action (or the platform token, with platformToo;
	// or a call token of the workspace, with agentToo).
	inWorkspace
	// callScoped routes need a call token (X-Edge-Call-Token): they act on
	// the token's call and its workspace.
	callScoped
)

// handlerFunc handles one request of a route; an error is answered through
// the error table.
type handlerFunc func(w http.ResponseWriter, r *request) error

// request is an authorized request.
type request struct {
	*http.Request
	// p is who the request acts as (zero on public routes).
	p tenancy.Principal
	// ws is the path's workspace id ("" outside one).
	ws string
}

// queryParam is a query parameter of a route, for the OpenAPI document.
type queryParam struct {
	name, typ, doc string
}

// route is one row of the route table: what is served, who may call it and
// how it is described.
type route struct {
	method, path string
	access       access
	action       tenancy.Action
	platformToo  bool
	// agentToo lets a call token of the path's workspace call the route.
	agentToo     bool
	tag, summary string
	// request names the body's schema ("" for none); optionalBody makes an
	// empty body acceptable.
	request      string
	optionalBody bool
	// response names the success body's schema ("" for none); list wraps
	// it in a page {"items", "next_cursor"}.
	response string
	list     bool
	status   int
	query    []queryParam
	// stream: the route also answers Accept: text/event-stream.
	stream bool
	handle handlerFunc
}

// pattern is the route's http.ServeMux pattern.
func (rt *route) pattern() string { return rt.method + " " + rt.path }

var pagingQuery = []queryParam{
	{"cursor", "string", "Opaque cursor from the previous page's next_cursor."},
	{"limit", "integer", "Page size, 1 to the server's maximum (default 100)."},
}

// routeTable is every route of the API. The mux, the authorization and the
// OpenAPI document are all made from it.
func (s *Server) routeTable() []route {
	const ws = "/v1/workspaces/{ws}"
	rs := []route{
		{method: "GET", path: "/healthz", access: public, tag: "ops", summary: "Liveness probe", response: "Status", status: 200, handle: s.health},
		{method: "GET", path: "/readyz", access: public, tag: "ops", summary: "Readiness probe: 200 when Redis answers, else 503", response: "Status", status: 200, handle: s.ready},
		{method: "GET", path: "/metrics", access: public, tag: "ops", summary: "Prometheus metrics", status: 200, handle: s.metricsHandler},
		{method: "GET", path: "/v1/openapi.json", access: public, tag: "ops", summary: "This OpenAPI document", status: 200, handle: s.openAPIDoc},
		{method: "GET", path: "/v1/regulation-templates", access: public, tag: "safety-policies", summary: "The regulation templates the platform ships, every version, for safety policies to reference",
			response: "RegulationTemplate", list: true, status: 200, handle: s.regulationTemplates},

		{method: "POST", path: "/v1/workspaces", access: platformOnly, tag: "workspaces", summary: "Create a workspace with its owner and the owner's first API key (platform token)", request: "NewWorkspace", response: "CreatedWorkspace", status: 201, handle: s.createWorkspace},
		{method: "GET", path: ws, access: inWorkspace, action: tenancy.ActionRead, platformToo: true, tag: "workspaces", summary: "Get the workspace", response: "Workspace", status: 200, handle: s.getWorkspace},
		{method: "PATCH", path: ws, access: inWorkspace, action: tenancy.ActionManage, platformToo: true, tag: "workspaces", summary: "Change name, status or settings (owner); limits (platform token only)", request: "WorkspacePatch", response: "Workspace", status: 200, handle: s.patchWorkspace},
		{method: "DELETE", path: ws, access: inWorkspace, action: tenancy.ActionManage, platformToo: true, tag: "workspaces", summary: "Delete the workspace with everything of it", status: 204, handle: s.deleteWorkspace},

		{method: "GET", path: ws + "/accounts", access: inWorkspace, action: tenancy.ActionRead, tag: "accounts", summary: "List accounts", response: "Account", list: true, query: pagingQuery, status: 200, handle: s.listAccounts},
		{method: "POST", path: ws + "/accounts", access: inWorkspace, action: tenancy.ActionManage, tag: "accounts", summary: "Create an account with its first API key (shown once)", request: "NewAccount", response: "CreatedAccount", status: 201, handle: s.createAccount},
		{method: "GET", path: ws + "/accounts/{id}", access: inWorkspace, action: tenancy.ActionRead, tag: "accounts", summary: "Get an account", response: "Account", status: 200, handle: s.getAccount},
		{method: "PUT", path: ws + "/accounts/{id}", access: inWorkspace, action: tenancy.ActionManage, tag: "accounts", summary: "Change an account's name, email or role (effective on its keys' next request)", request: "AccountUpdate", response: "Account", status: 200, handle: s.putAccount},
		{method: "DELETE", path: ws + "/accounts/{id}", access: inWorkspace, action: tenancy.ActionManage, tag: "accounts", summary: "Delete an account and its keys", status: 204, handle: s.deleteAccount},

		{method: "GET", path: ws + "/api-keys", access: inWorkspace, action: tenancy.ActionRead, tag: "api-keys", summary: "List API keys (never their secrets)", response: "APIKey", list: true, query: pagingQuery, status: 200, handle: s.listKeys},
		{method: "POST", path: ws + "/api-keys", access: inWorkspace, action: tenancy.ActionOwnKeys, tag: "api-keys", summary: "Create another key for the caller's own account (secret shown once)", request: "NewAPIKey", optionalBody: true, response: "CreatedAPIKey", status: 201, handle: s.createKey},
		{method: "GET", path: ws + "/api-keys/{id}", access: inWorkspace, action: tenancy.ActionRead, tag: "api-keys", summary: "Get an API key (never its secret)", response: "APIKey", status: 200, handle: s.getKey},
		{method: "DELETE", path: ws + "/api-keys/{id}", access: inWorkspace, action: tenancy.ActionOwnKeys, tag: "api-keys", summary: "Revoke a key: one's own (member+), anyone's (owner)", status: 204, handle: s.deleteKey},
	}
	for _, c := range collections {
		rs = append(rs, s.collectionRoutes(ws, c)...)
	}
	for _, c := range singletons {
		rs = append(rs, s.singletonRoutes(ws, c)...)
	}
	rs = append(rs,
		route{method: "GET", path: ws + "/calls", access: inWorkspace, action: tenancy.ActionRead, tag: "calls", summary: "List calls, newest first",
			response: "Call", list: true, status: 200, handle: s.listCalls,
			query: append([]queryParam{{"active", "boolean", "Only calls in progress."}}, pagingQuery...)},
		route{method: "POST", path: ws + "/calls", access: inWorkspace, action: tenancy.ActionOperate, tag: "calls",
			summary: "Place a call from a number of the workspace through its outbound trunk, bridged to a service on answer (member+); 201 with the call (direction outbound), progress in events",
			request: "DialRequest", response: "Call", status: 201, handle: s.placeCall},
		route{method: "GET", path: ws + "/calls/{id}", access: inWorkspace, action: tenancy.ActionRead, tag: "calls", summary: "Get a call", response: "Call", status: 200, handle: s.getCall},
		route{method: "POST", path: ws + "/calls/{id}/hangup", access: inWorkspace, action: tenancy.ActionOperate, tag: "calls", summary: "Hang up a call in progress (409 if it is not active)", request: "HangupRequest", optionalBody: true, response: "HangupAccepted", status: 202, handle: s.hangup},
		route{method: "GET", path: ws + "/events", access: inWorkspace, action: tenancy.ActionRead, tag: "events", summary: "List events oldest first; with Accept: text/event-stream, stream live events (Last-Event-ID resumes)",
			response: "Event", list: true, stream: true, query: pagingQuery, status: 200, handle: s.events},
		route{method: "POST", path: ws + "/events", access: inWorkspace, action: tenancy.ActionPostEvents, agentToo: true, tag: "world-model",
			summary: "Post a domain event (type such as appointment.booked; data a JSON object of at most 16 KiB, 8 levels deep) to the world model (member+, or a call token of the workspace)",
			request: "NewEvent", response: "Event", status: 201, handle: s.postEvent},
		route{method: "GET", path: ws + "/entities/{kind}", access: inWorkspace, action: tenancy.ActionRead, tag: "world-model", summary: "List the entities of a projection (kind: callers, services or numbers), by id",
			response: "Entity", list: true, query: pagingQuery, status: 200, handle: s.listEntities},
		route{method: "GET", path: ws + "/entities/{kind}/{id}", access: inWorkspace, action: tenancy.ActionRead, tag: "world-model", summary: "Get an entity (a caller's or number's id is its E.164 number, '+' escaped as %2B)",
			response: "Entity", status: 200, handle: s.getEntity},
		route{method: "POST", path: ws + "/projections/rebuild", access: inWorkspace, action: tenancy.ActionConfigure, tag: "world-model", summary: "Recompute the projections from the event stream (admin+)",
			response: "RebuildResult", status: 200, handle: s.rebuildProjections},
		route{method: "GET", path: "/v1/call-context", access: callScoped, tag: "call-context", summary: "The context of the call token's call: service (with context graph and agent config), voice settings, safety policies, operator config, data sources",
			response: "CallContext", status: 200, handle: s.callContext},
		route{method: "POST", path: "/v1/call-context/events", access: callScoped, tag: "call-context", summary: "Post a domain event of the call token's call to its workspace's world model",
			request: "NewEvent", response: "Event", status: 201, handle: s.postCallEvent},
		route{method: "POST", path: ws + "/promotions", access: inWorkspace, action: tenancy.ActionConfigure, tag: "promotions", summary: "Promote a staging workspace's agent-behaviour configuration into this production workspace (admin+ in both; source key in X-Source-Authorization)",
			request: "PromotionRequest", response: "PromotionResult", status: 200, handle: s.promote},
	)
	return rs
}
