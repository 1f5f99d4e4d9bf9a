package media

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Manager owns the RTP port pool and the media sessions of the calls an
// edge carries, and exports their metrics. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	pool    *PortPool
	log     *slog.Logger
	metrics *metrics

	mu       sync.Mutex
	sessions map[string]*Session
	pollers  []*poller // made as sessions need them (poller)
	closed   bool
}

// Option configures a Manager.
type Option func(*Manager)

// WithLogger sets the logger; sessions log through a child with call_id.
// Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(m *Manager) {
		if l != nil {
			m.log = l
		}
	}
}

// NewManager returns a Manager that allocates ports from pool and registers
// its metrics into reg (nil registers nothing).
func NewManager(cfg Config, pool *PortPool, reg *prometheus.Registry, opts ...Option) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil {
		return nil, fmt.Errorf("%w: nil port pool", ErrInvalidConfig)
	}
	m := &Manager{
		cfg:      cfg,
		pool:     pool,
		log:      slog.Default(),
		sessions: make(map[string]*Session),
	}
	for _, o := range opts {
		o(m)
	}
	met, err := newMetrics(reg,
		func() float64 { return float64(m.Active()) },
		func() float64 { return float64(pool.InUse()) })
	if err != nil {
		return nil, err
	}
	m.metrics = met
	return m, nil
}

// NewSession allocates the two ports of a call's media session and tracks
// it under callID until it is closed. It returns ErrNoPorts when the pool is
// exhausted (the SIP layer answers 503), ErrDuplicateSession when callID
// has a session, ErrClosed after Close.
func (m *Manager) NewSession(callID string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("new media session for call %s: %w", callID, ErrClosed)
	}
	if _, ok := m.sessions[callID]; ok {
		return nil, fmt.Errorf("new media session for call %s: %w", callID, ErrDuplicateSession)
	}
	poll, err := m.poller()
	if err != nil {
		return nil, fmt.Errorf("new media session for call %s: %w", callID, err)
	}
	s, err := newSession(callID, m.cfg, m.pool, poll, m.metrics, m.log.With("call_id", callID))
	if err != nil {
		if errors.Is(err, ErrNoPorts) {
			m.metrics.portsExhausted.Inc()
		}
		return nil, err
	}
	s.onClose = m.forget
	m.sessions[callID] = s
	return s, nil
}

// poller returns the poller a new session's sockets go to, with m.mu
// held: the one reading the fewest sockets, or a new one when every
// poller reads pollerSockets already, so that there are at least
// GOMAXPROCS of them at load and the relay spreads over the cores. A
// poller is one goroutine among the edge's others, and Go's scheduler
// shares the CPU between goroutines, not between calls: hundreds of
// sockets behind one goroutine starve under a saturated CPU (the
// concurrency load test lost a quarter of its packets at 1,100 calls with
// two pollers; the kernel drops what a socket's buffer cannot hold).
func (m *Manager) poller() (*poller, error) {
	var least *poller
	n := 0
	for _, p := range m.pollers {
		if l := p.load(); least == nil || l < n {
			least, n = p, l
		}
	}
	if least != nil && (n == 0 || n < pollerSockets && len(m.pollers) >= runtime.GOMAXPROCS(0)) {
		return least, nil
	}
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	m.pollers = append(m.pollers, p)
	return p, nil
}

// pollerSockets is how many sockets a poller reads before the next
// session gets a poller of its own: 4 sessions' (4 sockets each).
const pollerSockets = 16

// forget stops tracking a closed session.
func (m *Manager) forget(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[s.callID] == s {
		delete(m.sessions, s.callID)
	}
}

// Session returns the open session of callID.
func (m *Manager) Session(callID string) (*Session, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[callID]
	return s, ok
}

// Active returns the number of open sessions.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Close closes every session and refuses new ones. It is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	open := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		open = append(open, s)
	}
	m.mu.Unlock()
	var errs []error
	for _, s := range open {
		errs = append(errs, s.Close())
	}
	m.mu.Lock()
	for _, p := range m.pollers {
		p.close()
	}
	m.pollers = nil
	m.mu.Unlock()
	return errors.Join(errs...)
}
