package operators

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/internal/httpapi"
)

// Handler serves the operator API and the console on the edge's HTTP port
// (design section 8). Create it with New, mount it for "/v1/" and
// "/console/", run its background work (node registration, operator
// rechecks) with Run, and stop it with Close.
type Handler struct {
	cfg     Config
	store   Store
	calls   Calls
	engine  Engine
	callers Callers
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics

	mux         *http.ServeMux
	ops         *registry
	limiter     *keyLimiter // join attempts, per key
	escLimit    *keyLimiter // escalations, per workspace
	authFail    *keyLimiter // failed authentications, per client address
	forward     http.RoundTripper
	signer      *forwardSigner // nil: no forwarding (Config.ForwardSecret)
	slots       *httpapi.StreamSlots
	streamStore StreamStore // where event streams block (WithStreamStore)
	bg          context.Context
	bgCancel    context.CancelFunc

	closeOnce sync.Once
}

// Option configures a Handler.
type Option func(*Handler)

// WithLogger sets the logger. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) {
		if l != nil {
			h.log = l
		}
	}
}

// WithRegistry registers the handler's metrics into reg. Default: none.
func WithRegistry(reg *prometheus.Registry) Option {
	return func(h *Handler) { h.reg = reg }
}

// WithCallers sets where the caller projections of GET
// /v1/calls/{call_id}/caller are read. Default: none, and that route
// answers 503.
func WithCallers(c Callers) Option {
	return func(h *Handler) { h.callers = c }
}

// WithStreamStore sets where event streams wait for events: a store on a
// Redis pool of its own, so that streams blocked in XREAD never hold the
// connections that call admission and the other requests need. Default:
// the handler's Store.
func WithStreamStore(s StreamStore) Option {
	return func(h *Handler) {
		if s != nil {
			h.streamStore = s
		}
	}
}

// WithForwardTransport sets the transport of requests forwarded to other
// nodes. Default: a transport with the handler's timeouts.
func WithForwardTransport(rt http.RoundTripper) Option {
	return func(h *Handler) {
		if rt != nil {
			h.forward = rt
		}
	}
}

// New returns a Handler that authenticates and reads calls through store,
// finds this node's calls in calls and joins operators with engine.
func New(cfg Config, store Store, calls Calls, engine Engine, opts ...Option) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil || calls == nil || engine == nil {
		return nil, fmt.Errorf("%w: store, calls and engine are required", ErrInvalidConfig)
	}
	h := &Handler{
		cfg: cfg, store: store, calls: calls, engine: engine, log: slog.Default(),
		limiter:  newKeyLimiter(cfg.JoinRate, cfg.JoinBurst),
		escLimit: newKeyLimiter(cfg.EscalationRate, cfg.EscalationBurst),
		authFail: newKeyLimiter(cfg.AuthFailRate, cfg.AuthFailBurst),
		slots:    httpapi.NewStreamSlots(cfg.MaxStreams, cfg.MaxStreamsPerWorkspace, cfg.MaxStreamsPerKey),
	}
	h.streamStore = store
	for _, o := range opts {
		o(h)
	}
	met, err := newMetrics(h.reg)
	if err != nil {
		return nil, err
	}
	h.metrics = met
	if h.forward == nil {
		h.forward = &http.Transport{
			Proxy:                 nil,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       60 * time.Second,
			ResponseHeaderTimeout: cfg.ForwardTimeout,
			TLSHandshakeTimeout:   5 * time.Second,
		}
	}
	if len(cfg.ForwardSecret) > 0 {
		h.signer = newForwardSigner(cfg.ForwardSecret)
	}
	h.bg, h.bgCancel = context.WithCancel(context.Background())
	h.ops = newRegistry(h)
	mux, err := h.routes()
	if err != nil {
		return nil, err
	}
	h.mux = mux
	return h, nil
}

// ServeHTTP serves the routes of the route table and the console.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Run registers this node's HTTP address (Config.AdvertiseAddr) and
// renews it, and checks every operator on this node again every
// Config.RecheckInterval, until ctx ends. It then unregisters the node.
func (h *Handler) Run(ctx context.Context) error {
	recheck := time.NewTicker(h.cfg.RecheckInterval)
	defer recheck.Stop()
	renew := time.NewTicker(h.cfg.NodeTTL / 3)
	defer renew.Stop()
	h.registerNode()
	for {
		select {
		case <-ctx.Done():
			if h.cfg.AdvertiseAddr != "" {
				sctx, cancel := context.WithTimeout(context.Background(), h.cfg.StoreTimeout)
				_ = h.store.UnregisterNode(sctx, h.cfg.NodeID)
				cancel()
			}
			return nil
		case <-renew.C:
			h.registerNode()
		case <-recheck.C:
			h.ops.recheck(ctx)
		}
	}
}

// registerNode writes this node's HTTP address with its lease.
func (h *Handler) registerNode() {
	if h.cfg.AdvertiseAddr == "" {
		return
	}
	ctx, cancel := context.WithTimeout(h.bg, h.cfg.StoreTimeout)
	defer cancel()
	if err := h.store.RegisterNode(ctx, h.cfg.NodeID, h.cfg.AdvertiseAddr, h.cfg.NodeTTL); err != nil {
		h.log.Warn("register node", "error", err)
	}
}

// Close takes every operator of this node off its call (operator.left
// with reason "shutdown") and ends the event streams. It is idempotent.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		h.ops.closeAll()
		h.bgCancel()
	})
	return nil
}

// storeCtx bounds a store operation not tied to a request.
func (h *Handler) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.bg, h.cfg.StoreTimeout)
}
