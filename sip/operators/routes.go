package operators

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/voiceedge/edge/tenancy"
)

// route is one row of the route table: everything said about a route.
type route struct {
	// name labels the route in metrics.
	name    string
	method  string
	pattern string
	// action is what the key's role must allow (design section 4).
	action tenancy.Action
	// call: the path names a call ({call_id}) that must be of the key's
	// workspace, else 404 exactly as a call that does not exist.
	call bool
	// forward: the request is served by the node holding the call;
	// another node forwards it there.
	forward bool
	// limited: each attempt takes a token of the key's join bucket.
	limited bool
	// perWorkspace: each attempt takes a token of the workspace's
	// escalation bucket.
	perWorkspace bool
	serve        func(h *Handler, w http.ResponseWriter, r *request) error
}

// routeTable is THE list of the operator API's routes.
func routeTable() []route {
	return []route{
		{name: "join", method: http.MethodPost, pattern: "/v1/calls/{call_id}/operators",
			action: tenancy.ActionOperate, call: true, forward: true, limited: true, serve: (*Handler).join},
		{name: "update_operator", method: http.MethodPatch, pattern: "/v1/calls/{call_id}/operators/{operator_id}",
			action: tenancy.ActionOperate, call: true, forward: true, serve: (*Handler).updateOperator},
		{name: "take_over", method: http.MethodPost, pattern: "/v1/calls/{call_id}/operators/{operator_id}/take-over",
			action: tenancy.ActionOperate, call: true, forward: true, serve: (*Handler).takeOver},
		{name: "leave", method: http.MethodDelete, pattern: "/v1/calls/{call_id}/operators/{operator_id}",
			action: tenancy.ActionOperate, call: true, forward: true, serve: (*Handler).leave},
		{name: "list_calls", method: http.MethodGet, pattern: "/v1/calls",
			action: tenancy.ActionRead, serve: (*Handler).listCalls},
		{name: "get_call", method: http.MethodGet, pattern: "/v1/calls/{call_id}",
			action: tenancy.ActionRead, call: true, serve: (*Handler).getCall},
		{name: "hangup", method: http.MethodPost, pattern: "/v1/calls/{call_id}/hangup",
			action: tenancy.ActionOperate, call: true, perWorkspace: true, serve: (*Handler).hangup},
		{name: "escalate", method: http.MethodPost, pattern: "/v1/calls/{call_id}/escalations",
			action: tenancy.ActionOperate, call: true, perWorkspace: true, serve: (*Handler).escalate},
		{name: "levels", method: http.MethodGet, pattern: "/v1/calls/{call_id}/operators/{operator_id}/levels",
			action: tenancy.ActionOperate, call: true, forward: true, serve: (*Handler).streamLevels},
		{name: "get_caller", method: http.MethodGet, pattern: "/v1/calls/{call_id}/caller",
			action: tenancy.ActionRead, call: true, serve: (*Handler).getCaller},
		{name: "event_stream", method: http.MethodGet, pattern: "/v1/events/stream",
			action: tenancy.ActionRead, serve: (*Handler).streamEvents},
		{name: "get_workspace", method: http.MethodGet, pattern: "/v1/workspace",
			action: tenancy.ActionRead, serve: (*Handler).getWorkspace},
	}
}

// request is an authenticated request: its key's principal and, for
// routes of a call, the call's record (of the key's workspace).
type request struct {
	*http.Request
	p    tenancy.Principal
	call tenancy.CallRecord
}

// routes builds the mux: the route table, a JSON 405 with Allow for other
// methods of its paths, a JSON 404 for other paths under /v1/, and the
// console.
func (h *Handler) routes() (*http.ServeMux, error) {
	mux := http.NewServeMux()
	allow := map[string][]string{}
	var order []string
	for _, rt := range routeTable() {
		mux.Handle(rt.method+" "+rt.pattern, h.wrap(rt))
		if _, ok := allow[rt.pattern]; !ok {
			order = append(order, rt.pattern)
		}
		allow[rt.pattern] = append(allow[rt.pattern], rt.method)
	}
	for _, pattern := range order {
		methods := strings.Join(allow[pattern], ", ")
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			h.writeError(w, r, fmt.Errorf("%w: %s %s (allowed: %s)", ErrMethodNotAllowed, r.Method, r.URL.Path, methods))
		})
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, tenancy.ErrNotFound)
	})
	sub, err := fs.Sub(consoleFiles, "console")
	if err != nil {
		return nil, fmt.Errorf("console files: %w", err)
	}
	mux.Handle("GET /console/", consoleHandler(http.StripPrefix("/console/", http.FileServerFS(sub))))
	mux.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	return mux, nil
}

// wrap runs the checks every route shares, in this order: the bearer key
// is authenticated (401); the call of the path must be of the key's
// workspace (404, the same body as a call that does not exist); the role
// must allow the route's action (403); a limited route takes a token of
// the key's bucket (429); a forwarded route whose call is on another node
// goes there. The route's own checks follow.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		if err := h.serveRoute(rt, sw, r); err != nil {
			h.writeError(sw, r, err)
		}
		h.metrics.requests.WithLabelValues(rt.name, strconv.Itoa(sw.statusCode())).Inc()
	})
}

func (h *Handler) serveRoute(rt route, w http.ResponseWriter, r *http.Request) error {
	if h.bg.Err() != nil {
		return &retryError{err: ErrClosed, retryAfter: 5}
	}
	p, err := h.authenticate(r)
	if errors.Is(err, tenancy.ErrUnauthenticated) {
		// Counted per client address, and only for requests that fail: a
		// valid key is never refused for another client's failures.
		if ok, after := h.authFail.allow(clientAddr(r)); !ok {
			return &retryError{err: ErrRateLimited, retryAfter: max(after, 1)}
		}
	}
	if err != nil {
		return err
	}
	req := &request{Request: r, p: p}
	if rt.call {
		rec, err := h.store.GetCall(r.Context(), p.WorkspaceID, r.PathValue("call_id"))
		if err != nil {
			return err
		}
		req.call = rec
	}
	if !p.Role.Allows(rt.action) {
		return forbidden("the role %s may not %s", p.Role, actionVerb(rt.action))
	}
	if rt.limited {
		if ok, after := h.limiter.allow(p.KeyID); !ok {
			return &retryError{err: ErrRateLimited, retryAfter: max(after, 1)}
		}
	}
	if rt.perWorkspace {
		if ok, after := h.escLimit.allow(p.WorkspaceID); !ok {
			return &retryError{err: ErrRateLimited, retryAfter: max(after, 1)}
		}
	}
	if rt.forward && req.call.NodeID != h.cfg.NodeID {
		return h.forwardToNode(w, req)
	}
	return rt.serve(h, w, req)
}

// actionVerb says what an action is, for 403 messages.
func actionVerb(a tenancy.Action) string {
	if a == tenancy.ActionOperate {
		return "join calls as operator, leave them, hang them up or request escalations"
	}
	return "read calls and events"
}

// authenticate resolves the bearer API key to its principal, with its
// account's role now (design section 4); a request forwarded by another
// node carries a forward token instead (forward_token.go).
func (h *Handler) authenticate(r *http.Request) (tenancy.Principal, error) {
	if token := r.Header.Get(ForwardTokenHeader); token != "" {
		return h.forwardedPrincipal(r.Context(), r, token)
	}
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return tenancy.Principal{}, tenancy.ErrUnauthenticated
	}
	p, err := h.store.Authenticate(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		return tenancy.Principal{}, err
	}
	if p.Platform || p.WorkspaceID == "" {
		return tenancy.Principal{}, tenancy.ErrUnauthenticated
	}
	return p, nil
}

// clientAddr is the TCP peer's address: the edge's HTTP is served
// directly, so forwarding headers are not trusted.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusWriter records the status of a response, for metrics, and passes
// Flush (event streams, forwarded responses) through.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

var _ interface{ Unwrap() http.ResponseWriter } = (*statusWriter)(nil)
