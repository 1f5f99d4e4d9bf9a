package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/sip/spool"
)

// Server is the edge's SIP data plane: listeners, trunk admission and the
// B2BUA between trunks (leg A) and services (leg B). Create it with New,
// serve sockets with ServeUDP, ServeTCP and ServeTLS, run its background
// work (lease renewal, control requests) with Run, and stop it with Drain
// then Close.
type Server struct {
	cfg     Config
	setups  *setupGate    // overload.go
	workers *workerPool   // workers.go
	ended   *endedInvites // absorb.go: the INVITEs of calls ended within 64*T1
	router  Router
	media   Media
	store   CallStore
	tokens  CallTokens // nil: calls carry no token
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *metrics

	ua       *sipgo.UserAgent
	sipSrv   *sipgo.Server
	client   *sipgo.Client
	limiter  *rateLimiter
	conns    *connSlots   // TCP and TLS connections (transport_stream_limits.go)
	shares   *mediaShares // media sessions per workspace (media_share.go)
	budget   *budgets
	auth     *digestAuth
	dialogs  *dialogCache
	late     lateAnswers
	xfer     *xferState   // outbound calls and transfers (xfer.go)
	spool    *spool.Spool // call-state writes while Redis is away (callwrites.go)
	spoolCfg spool.Config
	local    *localAdmission // admission from memory (admit_local.go)

	// withTokens is store when it is tokens too (no WithCallTokens): a
	// call's token is issued with its admission and ended with its end,
	// in their scripts (callwrites.go).
	withTokens tokenCallStore

	mu        sync.Mutex
	listeners map[string]netip.AddrPort // transport ("udp", "tcp", "tls") -> local address

	draining atomic.Bool
	running  atomic.Bool // Run was called: it closes the spool
	closed   atomic.Bool
	calls    sync.WaitGroup // one per admitted call
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger; each call logs through a child with call_id
// and workspace_id. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithCallTokens sets what issues the calls' tokens (nil: none). Default:
// the CallStore, when it implements CallTokens.
func WithCallTokens(t CallTokens) Option {
	return func(s *Server) { s.tokens, s.withTokens = t, nil }
}

// WithSpool sets where and how much of the call state is kept while
// Redis is away (sip/spool). Default: in memory only, spool.DefaultConfig.
func WithSpool(cfg spool.Config) Option {
	return func(s *Server) { s.spoolCfg = cfg }
}

// WithRegistry registers the server's metrics into reg. Default: none.
func WithRegistry(reg *prometheus.Registry) Option {
	return func(s *Server) { s.reg = reg }
}

// New returns a Server that routes with router, anchors media with m and
// writes call state to store.
func New(cfg Config, router Router, m Media, store CallStore, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if router == nil || m == nil || store == nil {
		return nil, fmt.Errorf("%w: router, media and store are required", ErrInvalidConfig)
	}
	s := &Server{
		cfg: cfg, router: router, media: m, store: store, log: slog.Default(),
		limiter:   newRateLimiter(cfg.RateLimit, cfg.RateBurst, cfg.TrustedCIDRs),
		conns:     newConnSlots(cfg.MaxStreamConns, cfg.MaxStreamConnsPerSource),
		shares:    newMediaShares(cfg.MaxCallsPerWorkspace),
		budget:    newBudgets(),
		auth:      newDigestAuth(cfg.Realm, cfg.NonceTTL),
		dialogs:   newDialogCache(),
		listeners: map[string]netip.AddrPort{},
		local:     newLocalAdmission(),
	}
	s.ended = newEndedInvites(64 * cfg.T1) // absorb.go
	s.tokens, _ = store.(CallTokens)
	if s.tokens != nil {
		s.withTokens, _ = store.(tokenCallStore)
	}
	for _, o := range opts {
		o(s)
	}
	met, err := newMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = met
	s.setups = newSetupGate(cfg.MaxSetups)
	if s.reg != nil {
		for _, c := range s.setups.collectors() {
			if err := s.reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	if s.spool, err = spool.Open(s.spoolCfg, storeApplier{store: store, tokens: s.withTokens, lease: cfg.LeaseTTL},
		spool.WithLogger(s.log.With("component", "spool")), spool.WithRegistry(s.reg)); err != nil {
		return nil, err
	}
	if s.xfer, err = newXferState(s); err != nil {
		return nil, err
	}
	sipLog := s.log.With("component", "sipgo")
	s.workers = newWorkerPool(maxWorkers) // workers.go: messages are handled on grown stacks
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("edge"),
		sipgo.WithUserAgentHostname(cfg.PublicIP.String()),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(sipLog),
			sip.WithTransactionLayerRunner(s.workers.submit),
			sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
				if !s.onLateResponse(r) {
					sipLog.Debug("unmatched response", "status", r.StatusCode)
				}
			}),
		),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	s.ua = ua
	if s.sipSrv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog)); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	if s.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog), sipgo.WithClientHostname(cfg.PublicIP.String())); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	s.sipSrv.OnInvite(s.onInvite)
	s.sipSrv.OnAck(s.onAck)
	s.sipSrv.OnBye(s.onBye)
	s.sipSrv.OnCancel(s.onCancel)
	s.sipSrv.OnOptions(s.onOptions)
	s.sipSrv.OnInfo(s.onInfo)
	s.sipSrv.OnUpdate(s.onUpdate)
	s.sipSrv.OnPrack(s.onPrack)
	s.sipSrv.OnRefer(s.onRefer)   // refer.go
	s.sipSrv.OnNotify(s.onNotify) // transfer.go
	s.sipSrv.OnNoRoute(s.onUnsupported)
	s.bgCtx, s.bgCancel = context.WithCancel(context.Background())
	return s, nil
}

// ServeUDP serves SIP on pc until ctx ends (it then closes pc) or pc fails.
func (s *Server) ServeUDP(ctx context.Context, pc net.PacketConn) error {
	s.setListener("udp", pc.LocalAddr())
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	err := s.sipSrv.ServeUDP(&packetFilter{PacketConn: pc, s: s, parser: sip.NewParser()})
	return s.serveErr("udp", pc.LocalAddr(), ctx, err)
}

// ServeTCP serves SIP on l until ctx ends (it then closes l) or l fails.
func (s *Server) ServeTCP(ctx context.Context, l net.Listener) error {
	s.setListener("tcp", l.Addr())
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	err := s.sipSrv.ServeTCP(&listenerFilter{Listener: l, s: s})
	return s.serveErr("tcp", l.Addr(), ctx, err)
}

// ServeTLS serves SIP over TLS on l, a listener that yields TLS
// connections (tls.NewListener), until ctx ends or l fails.
func (s *Server) ServeTLS(ctx context.Context, l net.Listener) error {
	s.setListener("tls", l.Addr())
	stop := context.AfterFunc(ctx, func() { _ = l.Close() })
	defer stop()
	err := s.sipSrv.ServeTLS(&listenerFilter{Listener: l, s: s})
	return s.serveErr("tls", l.Addr(), ctx, err)
}

func (s *Server) serveErr(network string, addr net.Addr, ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || err == nil {
		return nil
	}
	return fmt.Errorf("serve %s %s: %w", network, addr, err)
}

func (s *Server) setListener(network string, a net.Addr) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return
	}
	s.mu.Lock()
	s.listeners[network] = ap
	s.mu.Unlock()
}

// listener returns the local address of the listener of a transport.
func (s *Server) listener(network string) (netip.AddrPort, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ap, ok := s.listeners[network]
	return ap, ok
}

// contact returns the edge's Contact for a transport: its public address
// and the port of that transport's listener.
func (s *Server) contact(network string) sip.ContactHeader {
	ap, _ := s.listener(network)
	u := sip.Uri{Scheme: "sip", User: "edge", Host: s.cfg.PublicIP.String(), Port: int(ap.Port())}
	if network != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", network)
	}
	return sip.ContactHeader{Address: u}
}

// Run renews the leases of this node's calls, sweeps the calls of lost
// nodes and follows the control stream for hangup requests until ctx
// ends.
func (s *Server) Run(ctx context.Context) error {
	s.running.Store(true)
	var wg sync.WaitGroup
	wg.Add(6)
	go func() { defer wg.Done(); _ = s.spool.Run(ctx) }()
	go func() { defer wg.Done(); s.setups.watchCPU(ctx, s.cfg.OverloadLatency) }() // overload_cpu.go
	go func() { defer wg.Done(); s.renewLoop(ctx) }()
	go func() { defer wg.Done(); s.sweepLoop(ctx) }() // reap.go
	go func() { defer wg.Done(); s.controlLoop(ctx) }()
	go func() { defer wg.Done(); s.dialLoop(ctx) }() // outbound.go
	wg.Wait()
	return s.spool.Close()
}

// Drain stops taking new calls (they get 503 with Retry-After) and waits
// for the calls in progress to end, until ctx ends or Config.DrainTimeout
// passes. When that time runs out (ctx's deadline, not its cancellation:
// a cancelled drain leaves its calls to Close), it hangs up the calls
// left, with BYE and a Reason header on both legs and end reason
// "drain_timeout", waits for them to end, and returns an error wrapping
// ErrDrainTimeout.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.DrainTimeout)
		defer cancel()
	}
	done := make(chan struct{})
	go func() { s.calls.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	left := s.ActiveCalls()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("drain with %d calls left: %w", left, ctx.Err())
	}
	s.log.Warn("drain timeout: hanging up the calls left", "active_calls", left)
	for _, c := range s.dialogs.all() {
		c.terminate(ErrDrainTimeout)
	}
	select { // each hangup is bounded by Config.ByeTimeout
	case <-done:
	case <-time.After(s.cfg.ByeTimeout + time.Second):
	}
	return fmt.Errorf("drain ended %d calls: %w", left, ErrDrainTimeout)
}

// Spool says what the spool of call-state writes holds and whether Redis
// takes writes (/readyz).
func (s *Server) Spool() spool.Stats { return s.spool.Stats() }

// ActiveCalls returns the number of calls in progress on this server.
func (s *Server) ActiveCalls() int {
	n, _, _ := s.dialogs.sizes()
	return n
}

// Close hangs up every call (reason "shutdown"), waits for them to end and
// releases the SIP stack. It is idempotent; listeners are closed through
// the contexts given to the Serve methods.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.draining.Store(true)
	for _, c := range s.dialogs.all() {
		c.terminate(ErrShutdown)
	}
	s.calls.Wait()
	s.bgCancel()
	if !s.running.Load() {
		_ = s.spool.Close()
	}
	s.workers.close()
	if err := s.ua.Close(); err != nil {
		return fmt.Errorf("close sip stack: %w", err)
	}
	return nil
}

// storeCtx bounds a call-state write; it is not tied to any call so that
// ends are recorded after their call's context is gone.
func (s *Server) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.bgCtx, s.cfg.StoreTimeout)
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Draining reports whether Drain or Close was called: the server takes no
// new calls.
func (s *Server) Draining() bool { return s.draining.Load() }
