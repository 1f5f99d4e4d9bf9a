package media

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// WebRTC defaults, the one place they are set.
const (
	// DefaultICEPort is the UDP port of ICE for operator legs (EDGE_ICE_PORT).
	DefaultICEPort = 8443
	// DefaultICEDisconnectedTimeout is how long an operator leg may go
	// without ICE traffic before it counts as disconnected.
	DefaultICEDisconnectedTimeout = 5 * time.Second
	// DefaultICEFailedTimeout is how long after disconnection an operator
	// leg is given up (ICE failed): its Done channel closes.
	DefaultICEFailedTimeout = 10 * time.Second
	// DefaultICEKeepalive is the interval of ICE consent and keepalive
	// checks (RFC 7675).
	DefaultICEKeepalive = 2 * time.Second
)

// WebRTCConfig configures the operator legs of an edge (design section 8).
type WebRTCConfig struct {
	// ICEAddr is the local address ICE binds. The unspecified address
	// (the zero value, meaning 0.0.0.0) binds the ICE port on every local
	// interface. Default: unspecified.
	ICEAddr netip.Addr
	// ICEPort is the one UDP port that carries ICE, DTLS and SRTP of every
	// operator leg (EDGE_ICE_PORT); 0 lets the system choose, with a
	// specific ICEAddr only (tests).
	// Default DefaultICEPort (8443).
	ICEPort int
	// PublicIPs are the addresses announced in ICE candidates instead of
	// the local ones, for an edge behind a 1:1 NAT (EDGE_PUBLIC_IP). Empty
	// announces the local addresses.
	PublicIPs []string
	// ICEDisconnectedTimeout, ICEFailedTimeout and ICEKeepalive tune how
	// soon a vanished browser is noticed. Defaults
	// DefaultICEDisconnectedTimeout (5s), DefaultICEFailedTimeout (10s),
	// DefaultICEKeepalive (2s).
	ICEDisconnectedTimeout time.Duration
	ICEFailedTimeout       time.Duration
	ICEKeepalive           time.Duration
}

// DefaultWebRTCConfig returns the defaults.
func DefaultWebRTCConfig() WebRTCConfig {
	return WebRTCConfig{
		ICEPort:                DefaultICEPort,
		ICEDisconnectedTimeout: DefaultICEDisconnectedTimeout,
		ICEFailedTimeout:       DefaultICEFailedTimeout,
		ICEKeepalive:           DefaultICEKeepalive,
	}
}

// withDefaults fills the zero durations with their defaults.
func (c WebRTCConfig) withDefaults() WebRTCConfig {
	if c.ICEDisconnectedTimeout == 0 {
		c.ICEDisconnectedTimeout = DefaultICEDisconnectedTimeout
	}
	if c.ICEFailedTimeout == 0 {
		c.ICEFailedTimeout = DefaultICEFailedTimeout
	}
	if c.ICEKeepalive == 0 {
		c.ICEKeepalive = DefaultICEKeepalive
	}
	return c
}

// Validate reports whether c can be used, naming the faulty field.
func (c WebRTCConfig) Validate() error {
	if c.ICEPort < 0 || c.ICEPort > 65535 {
		return fmt.Errorf("%w: ice_port %d is not 0-65535", ErrInvalidConfig, c.ICEPort)
	}
	for _, ip := range c.PublicIPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
			return fmt.Errorf("%w: public_ips: %q is not a unicast IP address", ErrInvalidConfig, ip)
		}
	}
	for name, d := range map[string]time.Duration{
		"ice_disconnected_timeout": c.ICEDisconnectedTimeout,
		"ice_failed_timeout":       c.ICEFailedTimeout,
		"ice_keepalive":            c.ICEKeepalive,
	} {
		if d < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrInvalidConfig, name, d)
		}
	}
	return nil
}

// OperatorEngine makes the WebRTC legs of operators joining calls: it owns
// the ICE socket shared by all of them and the WebRTC stack's settings. It
// is safe for concurrent use.
type OperatorEngine struct {
	cfg     WebRTCConfig
	log     *slog.Logger
	metrics *operatorMetrics
	api     *webrtc.API
	mux     ice.UDPMux
	addr    netip.AddrPort

	mu     sync.Mutex
	ops    map[*Operator]struct{}
	closed bool
}

// EngineOption configures an OperatorEngine.
type EngineOption func(*engineOptions)

type engineOptions struct {
	conn net.PacketConn
}

// WithICEConn makes the engine carry ICE on conn, a UDP socket the caller
// bound (tests, socket activation), instead of binding
// WebRTCConfig.ICEAddr:ICEPort. The engine takes ownership: Close closes it.
func WithICEConn(conn net.PacketConn) EngineOption {
	return func(o *engineOptions) { o.conn = conn }
}

// NewOperatorEngine binds the ICE port and prepares the WebRTC stack:
// PCMU (payload type 0) and telephone-event only, DTLS-SRTP, ICE on one UDP
// port with the configured public addresses. Its metrics go into reg (nil
// registers nothing).
func NewOperatorEngine(cfg WebRTCConfig, reg *prometheus.Registry, log *slog.Logger, opts ...EngineOption) (*OperatorEngine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	var o engineOptions
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.Default()
	}
	if o.conn == nil && cfg.ICEPort == 0 && (!cfg.ICEAddr.IsValid() || cfg.ICEAddr.IsUnspecified()) {
		// Each interface would get a port of its own: not one port.
		return nil, fmt.Errorf("%w: ice_port 0 needs a specific ice_addr", ErrInvalidConfig)
	}
	mux, addr, err := listenICE(cfg, o.conn, log)
	if err != nil {
		return nil, err
	}
	api, err := newWebRTCAPI(cfg, mux, addr, log)
	if err != nil {
		mux.Close()
		return nil, err
	}
	e := &OperatorEngine{cfg: cfg, log: log, api: api, mux: mux, addr: addr, ops: make(map[*Operator]struct{})}
	if e.metrics, err = newOperatorMetrics(reg, func() float64 { return float64(e.Active()) }); err != nil {
		mux.Close()
		return nil, err
	}
	return e, nil
}

// ICEAddr returns the local address and port of the ICE socket (the port
// is the one to open in firewalls).
func (e *OperatorEngine) ICEAddr() netip.AddrPort { return e.addr }

// Active returns the number of operator legs joined and not yet closed.
func (e *OperatorEngine) Active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.ops)
}

// Close closes every operator leg and the ICE socket. It is idempotent.
func (e *OperatorEngine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	ops := make([]*Operator, 0, len(e.ops))
	for op := range e.ops {
		ops = append(ops, op)
	}
	e.mu.Unlock()
	for _, op := range ops {
		op.Close()
	}
	return e.mux.Close()
}

// track registers a new operator; it fails once the engine is closed.
func (e *OperatorEngine) track(op *Operator) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("join operator: %w", ErrClosed)
	}
	e.ops[op] = struct{}{}
	return nil
}

// forget drops a closed operator.
func (e *OperatorEngine) forget(op *Operator) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.ops, op)
}

// Join makes a WebRTC leg for an operator of account accountID joining the
// call of sess in mode, from the browser's SDP offer (design section 8). It
// returns the operator and the SDP answer, complete with ICE candidates
// (no trickle), so that one HTTP request and response carry the whole
// negotiation. Errors: ErrInvalidMode; ErrBadOffer for an offer over
// MaxOfferSize, not SDP, or refused by the WebRTC stack (400); ErrNoPCMU
// for an offer without PCMU audio (422); ErrClosed when the call or the
// engine is closed; ctx's error when it ends first.
//
// The caller (the HTTP layer) has already checked that the account may
// join this call in this mode: Join does no authorization.
func (e *OperatorEngine) Join(ctx context.Context, sess *Session, accountID string, mode OperatorMode, offerSDP string) (*Operator, string, error) {
	op, answer, err := e.join(ctx, sess, accountID, mode, offerSDP)
	e.metrics.joins[joinResult(err)].Inc()
	return op, answer, err
}

// joinResult labels the outcome of a join.
func joinResult(err error) string {
	switch {
	case err == nil:
		return joinOK
	case errors.Is(err, ErrBadOffer):
		return joinBadOffer
	case errors.Is(err, ErrNoPCMU):
		return joinNoPCMU
	case errors.Is(err, ErrInvalidMode):
		return joinBadMode
	case errors.Is(err, ErrClosed):
		return joinClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return joinCancelled
	default:
		return joinError
	}
}

func (e *OperatorEngine) join(ctx context.Context, sess *Session, accountID string, mode OperatorMode, offerSDP string) (*Operator, string, error) {
	if !mode.Valid() {
		return nil, "", fmt.Errorf("join operator: %w: %q", ErrInvalidMode, mode)
	}
	if sess == nil {
		return nil, "", fmt.Errorf("join operator: %w: no session", ErrClosed)
	}
	if err := checkOffer(offerSDP); err != nil {
		return nil, "", fmt.Errorf("join operator to call %s: %w", sess.CallID(), err)
	}
	for _, l := range sess.legs {
		if p := l.peer.Load(); p != nil && p.law == lawNone {
			return nil, "", fmt.Errorf("join operator to call %s: %w: %s", sess.CallID(), ErrCodecNotMixable, p.enc)
		}
	}
	op, err := newOperator(e, sess, accountID, mode)
	if err != nil {
		return nil, "", err
	}
	if err := e.track(op); err != nil {
		op.pc.Close()
		return nil, "", err
	}
	answer, err := op.negotiate(ctx, offerSDP)
	if err == nil {
		err = sess.addOperator(op, e.metrics)
	}
	if err != nil {
		op.Close()
		return nil, "", fmt.Errorf("join operator to call %s: %w", sess.CallID(), err)
	}
	op.log.Info("operator joined", "mode", mode)
	return op, answer, nil
}

// newWebRTCAPI builds the WebRTC stack of the engine.
func newWebRTCAPI(cfg WebRTCConfig, mux ice.UDPMux, addr netip.AddrPort, log *slog.Logger) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: pcmuCapability, PayloadType: webrtc.PayloadType(PayloadPCMU)},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: clockRate, SDPFmtpLine: "0-16"},
			PayloadType: webrtc.PayloadType(DefaultTelephoneEventPT)},
	} {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register codec %s: %w", c.MimeType, err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, fmt.Errorf("configure rtcp reports: %w", err)
	}

	se := webrtc.SettingEngine{LoggerFactory: pionLoggerFactory{log: log}}
	se.SetICEUDPMux(mux)
	se.SetICETimeouts(cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepalive)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if addr.Addr().Is6() {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP6}
	} else if addr.Addr().IsUnspecified() {
		networks = append(networks, webrtc.NetworkTypeUDP6)
	}
	se.SetNetworkTypes(networks)
	se.SetIncludeLoopbackCandidate(addr.Addr().IsLoopback())
	if len(cfg.PublicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("%w: public_ips: %w", ErrInvalidConfig, err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// pcmuCapability is the one audio codec of operator legs.
var pcmuCapability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: clockRate, Channels: 1}
