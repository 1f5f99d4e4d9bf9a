package sip

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// While Redis is away the edge admits calls from memory: each workspace
// gets this node's share of its limits, max(1, floor(limit / live
// nodes)) for the concurrent calls and for the calls per second, where
// live nodes is what the edge last read in Redis (tenancy.Store.Heartbeat,
// every renewal; 1 before the first). Concurrent calls are this node's
// media sessions of the workspace; calls per second are counted here, by
// the second each INVITE arrived in (so calls that waited for Redis to
// fail are not bunched into the second they fell back in). A
// call over a share gets what it gets at the limit itself (486, 480 with
// Retry-After). The admission is spooled (opAdmit), so the record and the
// slot exist once Redis is back, and the renewal then re-asserts the
// leases of the calls still up (ReassertCalls).

// cpsSeconds is how many seconds of arrivals localAdmission keeps: more
// than a call waits for Redis to fail (StoreTimeout).
const cpsSeconds = 10

// localAdmission counts this node's calls per second per workspace.
type localAdmission struct {
	nodes atomic.Int64 // live nodes last seen in Redis

	mu  sync.Mutex
	cps map[int64]map[string]int // arrival second -> workspace -> calls
}

func newLocalAdmission() *localAdmission {
	l := &localAdmission{cps: map[int64]map[string]int{}}
	l.nodes.Store(1)
	return l
}

// share is this node's part of a limit (0: unlimited).
func (l *localAdmission) share(limit int) int {
	if limit <= 0 {
		return 0
	}
	return max(1, limit/int(max(1, l.nodes.Load())))
}

// admit takes a place for a call of ws that arrived at arrived, whose
// sessions on this node (this call's included) are active, under this
// node's share of limits.
func (l *localAdmission) admit(ws string, limits tenancy.Limits, active int, arrived time.Time) error {
	if c := l.share(limits.MaxConcurrentCalls); c > 0 && active > c {
		return &tenancy.LimitError{Reason: "concurrent"}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sec := arrived.Unix()
	for s := range l.cps {
		if s <= sec-cpsSeconds {
			delete(l.cps, s)
		}
	}
	n := l.cps[sec]
	if n == nil {
		n = map[string]int{}
		l.cps[sec] = n
	}
	if c := l.share(limits.MaxCPS); c > 0 && n[ws] >= c {
		return &tenancy.LimitError{Reason: "cps"}
	}
	n[ws]++
	return nil
}

// admitCall takes a slot for rec under limits and writes started, the
// call's call.started, once it is admitted: in Redis, in one script,
// while Redis takes the workspace's writes straight through, else (or
// when Redis turns out unavailable) from memory, spooling the admission
// and then the event. The event keeps its once key on the way to the
// spool: an admission that timed out but was applied is not written
// twice. It returns the call's token (issueCallToken): issued in the
// admission's script when the store issues the tokens, else after it;
// none for a call admitted from memory.
func (s *Server) admitCall(rec tenancy.CallRecord, limits tenancy.Limits, started tenancy.Event) (string, error) {
	ws := rec.WorkspaceID
	once := newOnce()
	if s.spool.Direct(ws) {
		ctx, cancel := s.storeCtx()
		var token string
		var err error
		if s.withTokens != nil {
			token, err = s.withTokens.AdmitCallEventToken(ctx, rec, limits, s.cfg.LeaseTTL, once, started, s.callTokenTTL())
		} else {
			err = s.store.AdmitCallEvent(ctx, rec, limits, s.cfg.LeaseTTL, once, started)
		}
		cancel()
		if err == nil && s.withTokens == nil {
			token = s.issueCallToken(rec)
		}
		if err == nil || !errors.Is(err, tenancy.ErrUnavailable) {
			return token, err
		}
		s.spool.MarkDown()
		s.log.Warn("redis unavailable: admitting from memory", "call_id", rec.ID, "workspace_id", ws, "error", err)
	}
	if err := s.local.admit(ws, limits, s.shares.count(ws), rec.StartedAt); err != nil {
		return "", err
	}
	s.metrics.localAdmits.Inc()
	// A full spool drops the admission's record (counted and logged by
	// it): the call is still carried.
	s.writeState(opAdmit, ws, rec.ID, admitData{Rec: rec})
	s.writeEventOnce(ws, once, started)
	return "", nil
}
