package admin

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// wrap makes the handler of a route: rate limits, authentication,
// authorization, the error table and metrics, in that order.
func (s *Server) wrap(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if err := s.serveRoute(sw, r, rt); err != nil {
			s.writeError(sw, r, err)
		}
		s.metrics.requests.WithLabelValues(rt.path, methodLabel(r.Method), strconv.Itoa(sw.code())).Inc()
		s.metrics.duration.WithLabelValues(rt.path).Observe(time.Since(start).Seconds())
	})
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt *route) error {
	rq := &request{Request: r, ws: r.PathValue("ws")}
	if rt.access == public {
		return rt.handle(w, rq)
	}
	ip := s.clientIP(r)
	p, err := s.authenticate(r, ip, r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	key := p.KeyID
	switch {
	case p.Platform:
		key = "platform"
	case p.Agent:
		key = "call:" + p.CallID
	}
	if ok, wait := s.keyLimits.take(key); !ok {
		s.metrics.rateLimited.WithLabelValues("key").Inc()
		return limited(wait)
	}
	if err := authorize(rt, p, rq.ws); err != nil {
		return err
	}
	// Per workspace, after authorization (so only the workspace's own keys
	// spend its budget): every configuration write makes work for every
	// edge, so one tenant's write storm is bounded (issue 10, item 3).
	if rq.ws != "" && !p.Platform && isConfigWrite(rt, r.Method) {
		if ok, wait := s.writeLimits.take(rq.ws); !ok {
			s.metrics.rateLimited.WithLabelValues("workspace_writes").Inc()
			return limited(wait)
		}
	}
	rq.p = p
	return rt.handle(w, rq)
}

// authenticate resolves a bearer token header of the request to a
// principal. Only requests that do not authenticate are counted against
// their address: a valid key is limited per key alone, so behind an
// ingress or a hospital NAT, where every tenant shares one address, no
// client's bad keys or volume lock out another's valid key (issue 10). An
// address past its budget of failures gets 429 for each further unknown
// key, so keys still cannot be guessed at speed.
func (s *Server) authenticate(r *http.Request, ip, header string) (tenancy.Principal, error) {
	p, err := s.principal(r, header)
	if !errors.Is(err, tenancy.ErrUnauthenticated) {
		return p, err
	}
	s.metrics.authFailed.Inc()
	if ok, wait := s.ipLimits.take(ip); !ok {
		s.metrics.rateLimited.WithLabelValues("ip").Inc()
		return tenancy.Principal{}, limited(wait)
	}
	if ok, wait := s.authFailLimits.take(ip); !ok {
		s.metrics.rateLimited.WithLabelValues("auth_failures").Inc()
		return tenancy.Principal{}, limited(wait)
	}
	return p, err
}

// principal resolves an Authorization header value ("Bearer <token>"): the
// platform token or an API key, with its account's role as of now.
func (s *Server) principal(r *http.Request, header string) (tenancy.Principal, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return tenancy.Principal{}, fmt.Errorf("%w: send Authorization: Bearer <token>", tenancy.ErrUnauthenticated)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.BootstrapToken)) == 1 {
		return tenancy.PlatformPrincipal, nil
	}
	if tenancy.IsCallToken(token) {
		p, err := s.store.AuthenticateCallToken(r.Context(), token)
		if errors.Is(err, tenancy.ErrUnauthenticated) {
			return p, fmt.Errorf("%w: unknown, expired or ended call token", tenancy.ErrUnauthenticated)
		}
		return p, err
	}
	p, err := s.store.Authenticate(r.Context(), token)
	if errors.Is(err, tenancy.ErrUnauthenticated) {
		return p, fmt.Errorf("%w: unknown or revoked key", tenancy.ErrUnauthenticated)
	}
	return p, err
}

// authorize decides whether p may call rt on workspace ws. A key (or call
// token) of another workspace gets ErrNotFound, exactly like a workspace
// that does not exist, and that is decided before the role so that nothing
// leaks.
func authorize(rt *route, p tenancy.Principal, ws string) error {
	switch rt.access {
	case platformOnly:
		if !p.Platform {
			return forbidden("only the platform token may do this")
		}
	case callScoped:
		if !p.Agent {
			return forbidden("this route takes the call token of a call (X-Edge-Call-Token), not an API key")
		}
	case inWorkspace:
		if p.Agent {
			// A call token sees its call and nothing else: routes of
			// other workspaces, and of its own that are not open to
			// agents, do not exist for it.
			if p.WorkspaceID != ws || !rt.agentToo {
				return tenancy.ErrNotFound
			}
			return nil
		}
		if p.Platform {
			if !rt.platformToo {
				return forbidden("the platform token may only get, change and delete workspaces")
			}
			return nil
		}
		if p.WorkspaceID != ws {
			return tenancy.ErrNotFound
		}
		if !p.Role.Allows(rt.action) {
			return forbidden(fmt.Sprintf("role %s may not %s", p.Role, actionText[rt.action]))
		}
	}
	return nil
}

var actionText = map[tenancy.Action]string{
	tenancy.ActionRead:       "read this workspace",
	tenancy.ActionOperate:    "operate calls (member or above)",
	tenancy.ActionOwnKeys:    "manage API keys (member or above)",
	tenancy.ActionPostEvents: "post events (member or above)",
	tenancy.ActionConfigure:  "change configuration (admin or above)",
	tenancy.ActionManage:     "manage accounts, billing or the workspace (owner)",
}

// statusWriter records the status written, for metrics; it passes Flush
// and the rest through (http.ResponseController uses Unwrap).
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

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// isConfigWrite reports whether a request of rt with method writes the
// workspace's configuration (its hash, which edges follow): configuration,
// accounts and settings, and keys. Hangups and domain events have limits of
// their own and touch no configuration.
func isConfigWrite(rt *route, method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	switch rt.action {
	case tenancy.ActionConfigure, tenancy.ActionManage, tenancy.ActionOwnKeys:
		return true
	}
	return false
}
