package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config bounds a Spool. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Dir holds the segment files; "" keeps the spool in memory only.
	Dir string
	// MaxEntries bounds the entries held in memory. Default 100,000.
	MaxEntries int
	// MaxBytes bounds the segment files, in bytes. Default 256 MiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is started. Default 8 MiB.
	SegmentBytes int64
	// SyncInterval is how often written segments are fsynced. Default 200ms.
	SyncInterval time.Duration
	// ApplyTimeout bounds one replayed write. Default 2s.
	ApplyTimeout time.Duration
	// MaxBackoff bounds the wait between failed replay passes (from 100ms,
	// doubling). Default 2s.
	MaxBackoff time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxEntries: 100_000, MaxBytes: 256 << 20, SegmentBytes: 8 << 20, SyncInterval: 200 * time.Millisecond,
		ApplyTimeout: 2 * time.Second, MaxBackoff: 2 * time.Second}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	orDefault(&c.MaxEntries, d.MaxEntries)
	orDefault(&c.MaxBytes, d.MaxBytes)
	orDefault(&c.SegmentBytes, d.SegmentBytes)
	orDefault(&c.SyncInterval, d.SyncInterval)
	orDefault(&c.ApplyTimeout, d.ApplyTimeout)
	orDefault(&c.MaxBackoff, d.MaxBackoff)
	return c
}

func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Store applies entries. Apply's error is Unavailable (retry later) or
// final (the entry is dropped, counted as refused). Probe asks the store
// whether it answers, writing nothing: the flusher probes a store that
// was down before it replays, so that no write waits in a hung store's
// connection (and is applied when it resumes, while the spool keeps it
// and replays it again).
type Store interface {
	Apply(ctx context.Context, e Entry) error
	Unavailable(err error) bool
	Probe(ctx context.Context) error
}

// Stats is what the spool holds now.
type Stats struct {
	Entries   int   `json:"entries"`    // waiting, memory and disk
	DiskBytes int64 `json:"disk_bytes"` // segment files
	DiskFull  bool  `json:"disk_full"`  // the last disk append failed
	StoreDown bool  `json:"store_down"` // the store's last answer was unavailable
	Dropped   int64 `json:"dropped"`    // lost since start (full, shutdown)
	Outages   int64 `json:"outages"`    // times the store went down since start: an outage shorter than a look at StoreDown still counts
}

// item is an entry waiting in memory; seg is nil when it is in memory only.
type item struct {
	e    Entry
	seg  *segment
	done bool // applied; still in the slice until compacted
}

// Spool is the queue; see the package comment.
type Spool struct {
	cfg   Config
	store Store
	log   *slog.Logger
	reg   *prometheus.Registry
	met   *metrics

	mu       sync.Mutex
	items    []*item        // in memory, seq order (done ones until compacted)
	live     int            // items not done
	pending  map[string]int // per workspace, memory and disk
	spilled  int            // entries on disk only (seq above loadedTo)
	loadedTo uint64
	nextSeq  uint64
	down     bool
	outages  int64 // times down went true
	diskFull bool
	dropped  int64
	disk     *disk // nil: memory only
	wake     chan struct{}
}

// Option configures a Spool.
type Option func(*Spool)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Spool) { s.log = l } }

// WithRegistry registers the metrics into reg (default: none).
func WithRegistry(reg *prometheus.Registry) Option {
	return func(s *Spool) { s.reg = reg }
}

// Open opens the spool, reading back what its directory holds: those
// entries are replayed by Run.
func Open(cfg Config, store Store, opts ...Option) (*Spool, error) {
	if store == nil {
		return nil, errors.New("spool: store required")
	}
	s := &Spool{cfg: cfg.withDefaults(), store: store, log: slog.Default(), pending: map[string]int{}, nextSeq: 1, wake: make(chan struct{}, 1)}
	for _, o := range opts {
		o(s)
	}
	m, err := newMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.met = m
	if s.cfg.Dir == "" {
		return s, nil
	}
	d, rec, err := openDisk(s.cfg.Dir, s.cfg.MaxBytes, s.cfg.SegmentBytes)
	if err != nil {
		return nil, err
	}
	s.disk, s.nextSeq = d, rec.maxSeq+1
	s.met.corrupt.Add(float64(rec.corrupt))
	for i, e := range rec.entries {
		s.pending[e.WorkspaceID]++
		if len(s.items) < s.cfg.MaxEntries {
			s.items = append(s.items, &item{e: e, seg: rec.segOf[i]})
			s.loadedTo = e.Seq
			s.live++
		} else {
			s.spilled++
		}
	}
	if n := len(rec.entries); n > 0 || rec.corrupt > 0 {
		s.log.Info("spool recovered", "dir", s.cfg.Dir, "entries", n, "corrupt_tails", rec.corrupt)
	}
	s.gauges()
	s.signal() // Run replays what was recovered
	return s, nil
}

// Direct reports whether a write of workspace ws may go straight to the
// store: the store answered last, and nothing of ws is waiting.
func (s *Spool) Direct(ws string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down && s.pending[ws] == 0 && s.spilled == 0
}

// Up reports whether the store answered the last write and nothing waits.
func (s *Spool) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.down && s.live == 0 && s.spilled == 0
}

// MarkDown records that the store answered unavailable (for a write made
// outside the spool, an admission): writes spool until a replay succeeds.
func (s *Spool) MarkDown() {
	s.mu.Lock()
	s.setDown(true)
	s.mu.Unlock()
	s.signal()
}

// Write applies e at once when Direct, else (or when that fails as
// unavailable) appends it; e.Value reaches the store unencoded when it is
// applied at once. It returns the store's final error, or ErrFull
// when e was dropped.
func (s *Spool) Write(ctx context.Context, e Entry) error {
	if s.Direct(e.WorkspaceID) {
		err := s.store.Apply(ctx, e)
		if err == nil || !s.store.Unavailable(err) {
			return err
		}
		s.MarkDown()
	}
	return s.Append(e)
}

// Append queues e behind what waits: in memory and on disk while both
// have room, on disk only while memory is full, in memory only while the
// disk is full. ErrFull when neither has room: e is dropped, counted and
// logged.
func (s *Spool) Append(e Entry) error {
	if err := e.encode(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Seq = s.nextSeq
	memFull := s.live >= s.cfg.MaxEntries || s.spilled > 0
	var seg *segment
	var derr error = errDiskFull
	if s.disk != nil {
		seg, derr = s.disk.append(record{kind: kindEntry, seq: e.Seq, entry: e})
	}
	s.setDiskFull(s.disk != nil && derr != nil)
	switch {
	case memFull && derr != nil:
		s.dropped++
		s.met.dropped.WithLabelValues("full").Inc()
		s.log.Error("spool full: call-state write dropped", "op", e.Op, "call_id", e.CallID, "workspace_id", e.WorkspaceID, "error", derr)
		return fmt.Errorf("%w: %s of call %s", ErrFull, e.Op, e.CallID)
	case memFull:
		s.spilled++
	default:
		s.items = append(s.items, &item{e: e, seg: seg})
		s.loadedTo = e.Seq
		s.live++
	}
	s.nextSeq++
	s.pending[e.WorkspaceID]++
	s.met.spooled.WithLabelValues(e.Op).Inc()
	s.gauges()
	s.signal()
	return nil
}

// Stats returns what the spool holds.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Entries: s.live + s.spilled, DiskFull: s.diskFull, StoreDown: s.down, Dropped: s.dropped, Outages: s.outages}
	if s.disk != nil {
		st.DiskBytes = s.disk.bytes
	}
	return st
}

func (s *Spool) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Spool) setDown(v bool) {
	if v && !s.down {
		s.outages++
	}
	s.down = v
	s.met.down.Set(b2f(v))
}

func (s *Spool) setDiskFull(v bool) {
	if v && !s.diskFull {
		s.log.Warn("spool disk full: writes kept in memory only", "dir", s.cfg.Dir, "max_bytes", s.cfg.MaxBytes)
	}
	s.diskFull = v
	s.met.diskFull.Set(b2f(v))
}

func (s *Spool) gauges() {
	s.met.entries.Set(float64(s.live + s.spilled))
	if s.disk != nil {
		s.met.bytes.Set(float64(s.disk.bytes))
	}
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
