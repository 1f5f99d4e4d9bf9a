package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/voiceedge/edge/internal/httpapi"
	"github.com/voiceedge/edge/tenancy"
)

// Server is the admin REST API. It holds no state of its own besides rate
// limit buckets: every request reads and writes the store.
type Server struct {
	cfg     Config
	store   *tenancy.Store
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics

	keyLimits, ipLimits, authFailLimits *buckets
	hangupLimits                        *buckets             // per workspace
	writeLimits                         *buckets             // per workspace
	streams                             *httpapi.StreamSlots // live event streams

	routes  []route
	mux     *http.ServeMux
	openapi []byte
	promh   http.Handler
}

// New returns a Server on store. Its metrics register into reg (a new
// private registry when nil, served on /metrics either way); log may be nil
// to discard logs.
func New(cfg Config, store *tenancy.Store, reg *prometheus.Registry, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("admin: nil store")
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, store: store, log: log, reg: reg, metrics: m,
		keyLimits:      newBuckets(cfg.KeyRate, cfg.KeyBurst),
		ipLimits:       newBuckets(cfg.IPRate, cfg.IPBurst),
		authFailLimits: newBuckets(cfg.AuthFailRate, cfg.AuthFailBurst),
		hangupLimits:   newBuckets(cfg.HangupRate, cfg.HangupBurst),
		writeLimits:    newBuckets(cfg.WriteRate, cfg.WriteBurst),
		streams:        httpapi.NewStreamSlots(cfg.MaxStreams, cfg.MaxStreamsPerWorkspace, cfg.MaxStreamsPerKey),
		mux:            http.NewServeMux(),
	}
	s.promh = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	s.routes = s.routeTable()
	for i := range s.routes {
		rt := &s.routes[i]
		s.mux.Handle(rt.pattern(), s.wrap(rt))
	}
	if s.openapi, err = buildOpenAPI(s.routes); err != nil {
		return nil, fmt.Errorf("admin: openapi: %w", err)
	}
	return s, nil
}

// Handler returns the API's root handler: the routes of the route table,
// with a JSON 404 or 405 for anything else.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern != "" {
			s.mux.ServeHTTP(w, r)
			return
		}
		s.unmatched(w, r)
	})
}

// unmatched answers a request no route matches with the JSON error of the
// status the mux would give (404, or 405 with Allow).
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	err := tenancy.ErrNotFound
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		err = fmt.Errorf("%w: %s %s", ErrMethodNotAllowed, r.Method, r.URL.Path)
	}
	s.writeError(w, r, err)
	s.metrics.requests.WithLabelValues("unmatched", methodLabel(r.Method), fmt.Sprint(toAPIError(err).Status)).Inc()
}

// headerProbe is a ResponseWriter that keeps only the status and headers.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

// stopKey is the context key of the channel closed when Serve starts
// shutting down, which ends live event streams.
type stopKey struct{}

// Serve answers requests on ln until ctx ends, and follows the workspaces'
// event streams into their projections meanwhile (followProjections). It
// then shuts down gracefully:
// it stops accepting, ends live event streams, and waits up to
// Config.ShutdownTimeout for requests in flight before closing what is
// left. It returns nil after a graceful shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := make(chan struct{})
	var once sync.Once
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), stopKey{}, (<-chan struct{})(stop))
		},
	}
	srv.RegisterOnShutdown(func() { once.Do(func() { close(stop) }) })
	followCtx, stopFollow := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { defer close(followed); s.followProjections(followCtx) }()
	defer func() { stopFollow(); <-followed }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
		err = fmt.Errorf("admin: shutdown: %w", err)
	}
	<-errc
	return err
}

// stopping returns the channel closed when the server shuts down (nil,
// never closed, when the Handler is served by someone else).
func stopping(ctx context.Context) <-chan struct{} {
	c, _ := ctx.Value(stopKey{}).(<-chan struct{})
	return c
}

// statusBody is the body of the probes.
type statusBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// health answers /healthz: the process serves.
func (s *Server) health(w http.ResponseWriter, _ *request) error {
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
	return nil
}

// ready answers /readyz: 200 when Redis answers, else 503.
func (s *Server) ready(w http.ResponseWriter, r *request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, statusBody{Status: "unavailable", Reason: "redis does not answer"})
		return nil
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ready"})
	return nil
}

// metricsHandler serves the injected registry.
func (s *Server) metricsHandler(w http.ResponseWriter, r *request) error {
	s.promh.ServeHTTP(w, r.Request)
	return nil
}

// openAPIDoc serves the OpenAPI document generated from the route table.
func (s *Server) openAPIDoc(w http.ResponseWriter, _ *request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.openapi)
	return nil
}
