package routing

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Map is the edge's in-memory tenant map. Its readers (Lookup, KnownSource,
// Workspace, Status) are safe for concurrent use and never block; Run
// keeps it current.
type Map struct {
	src  Source
	log  *slog.Logger
	opts options
	met  *metrics

	cur     atomic.Pointer[table]
	running atomic.Bool

	ready    atomic.Bool
	degraded atomic.Bool
	lastSync atomic.Int64 // unix nanoseconds, 0: never

	mu      sync.Mutex // guards lastErr
	lastErr string

	// Owned by the Run goroutine.
	loads    uint64 // counter of snapshot reads, for entry.loaded
	streamID string // last change-stream id read
}

// New returns a Map fed from src. It serves nothing (every lookup misses,
// Ready is false) until Run has loaded it. Metrics are registered into reg
// (nil: not registered); log may be nil.
func New(src Source, reg *prometheus.Registry, log *slog.Logger, opts ...Option) *Map {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Map{src: src, log: log, opts: defaultOptions()}
	for _, o := range opts {
		o(&m.opts)
	}
	m.met = newMetrics(reg, log, m.staleness)
	m.cur.Store(emptyTable())
	return m
}

// Lookup returns the route of a dialled number: a Request-URI user or a
// whole sip:, sips: or tel: URI, with or without '+' and visual separators
// (see Normalize). Anything that is not a number misses. For an E.164
// number, bare digits and a sip: URI it does not allocate.
func (m *Map) Lookup(dialed string) (*Route, bool) {
	var buf [maxE164]byte
	n, ok := normalize(&buf, dialed)
	if !ok {
		m.met.lookupMiss.Inc()
		return nil, false
	}
	r, ok := m.cur.Load().numbers[string(buf[:n])]
	if !ok {
		m.met.lookupMiss.Inc()
		return nil, false
	}
	m.met.lookupHit.Inc()
	return r, true
}

// KnownSource reports whether addr lies in a trunk CIDR of any workspace
// (design section 7, step 2). It does not allocate.
func (m *Map) KnownSource(addr netip.Addr) bool {
	return m.cur.Load().sources.contains(addr)
}

// Workspace returns workspace id as loaded, or false when the map does not
// hold it.
func (m *Map) Workspace(id string) (*WorkspaceView, bool) {
	e, ok := m.cur.Load().workspaces[id]
	if !ok {
		return nil, false
	}
	return e.view, true
}

// Ready reports whether the first full load has succeeded: until then the
// edge must not take calls.
func (m *Map) Ready() bool { return m.ready.Load() }

// Degraded reports whether Redis is unreachable and the map serves the last
// good table.
func (m *Map) Degraded() bool { return m.degraded.Load() }

// Status is a summary of the map for /readyz and operators.
type Status struct {
	// Ready: the first full load has succeeded.
	Ready bool `json:"ready"`
	// Degraded: Redis is unreachable; the last good map is served.
	Degraded bool `json:"degraded"`
	// Seq is the change-stream sequence number the map reflects.
	Seq int64 `json:"seq"`
	// Workspaces and Numbers are the counts loaded.
	Workspaces int `json:"workspaces"`
	Numbers    int `json:"numbers"`
	// LastSync is when the map was last confirmed current (zero: never).
	LastSync time.Time `json:"last_sync"`
	// LastError is the last Redis error, cleared by a successful reload.
	LastError string `json:"last_error,omitempty"`
}

// Status returns the map's current status.
func (m *Map) Status() Status {
	t := m.cur.Load()
	s := Status{
		Ready: m.Ready(), Degraded: m.Degraded(), Seq: t.seq,
		Workspaces: len(t.workspaces), Numbers: len(t.numbers),
	}
	if ns := m.lastSync.Load(); ns != 0 {
		s.LastSync = time.Unix(0, ns)
	}
	m.mu.Lock()
	s.LastError = m.lastErr
	m.mu.Unlock()
	return s
}

// staleness returns the seconds since the last sync (0 before the first).
func (m *Map) staleness() float64 {
	ns := m.lastSync.Load()
	if ns == 0 {
		return 0
	}
	return time.Since(time.Unix(0, ns)).Seconds()
}

// swap installs t as the current table.
func (m *Map) swap(t *table) {
	m.cur.Store(t)
	m.met.version.Set(float64(t.seq))
	m.met.workspaces.Set(float64(len(t.workspaces)))
	m.met.numbers.Set(float64(len(t.numbers)))
}

// synced records that the map was confirmed current with Redis.
func (m *Map) synced() {
	now := time.Now()
	m.lastSync.Store(now.UnixNano())
	m.met.synced(now)
}

// setDegraded records whether Redis is lost after the map became ready.
func (m *Map) setDegraded(on bool) {
	if m.degraded.Swap(on) != on {
		m.met.degraded.Set(boolGauge(on))
		if on {
			m.log.Warn("routing: redis lost, serving the last good map", "seq", m.cur.Load().seq)
		} else {
			m.log.Info("routing: redis back, map resynced", "seq", m.cur.Load().seq)
		}
	}
}

func (m *Map) setLastErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.lastErr = ""
		return
	}
	m.lastErr = err.Error()
}
