package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reaping: the calls of a dead edge node. A node renews the leases of the
// calls it carries ({ws:<id>}:active); when it dies they expire, and the
// reaper frees their slots and ends their records with reason node_lost
// and a call.ended event, in one script per workspace (store_reap_lua.go).
// It runs in admission (admitScript), in a periodic sweep of every
// workspace (ReapExpired, one node per interval: TakeSweep), and for a
// node that has just started, for the calls its previous process left
// (ReapNode).

// ReasonNodeLost is the end reason of a call whose edge node was lost.
const ReasonNodeLost = "node_lost"

// Outcomes of a reaped call (Reaped.Outcome).
const (
	// ReapEnded: the record was ended node_lost and call.ended appended.
	ReapEnded = "ended"
	// ReapAlreadyEnded: the record had ended already; the slot was freed.
	ReapAlreadyEnded = "already_ended"
	// ReapMissing, ReapUndecodable and ReapWorkspaceDeleted free the slot
	// of a call whose record could not be ended: there was none (trimmed),
	// it was not JSON, or the workspace is deleted (nothing is written
	// then). These are dropped records: count and log them.
	ReapMissing          = "missing"
	ReapUndecodable      = "undecodable"
	ReapWorkspaceDeleted = "workspace_deleted"
)

// Reaped is one call the reaper freed.
type Reaped struct {
	WorkspaceID string
	CallID      string
	// NodeID is the node the record names ("" without a record).
	NodeID  string
	Outcome string
}

// Dropped reports whether the call's record could not be ended.
func (r Reaped) Dropped() bool {
	return r.Outcome != ReapEnded && r.Outcome != ReapAlreadyEnded
}

// WithReapObserver has f called with every call the store reaps, in
// admission, in a sweep or for a restarted node (metrics and logs).
func WithReapObserver(f func(Reaped)) StoreOption { return func(s *Store) { s.onReap = f } }

// keySweep is the sweep's lock: the node that set it sweeps until it
// expires (one interval).
const keySweep = "edge:sweep"

// reapBatch bounds the calls one script run reaps (admission and the
// sweep), and the workspaces one pipeline carries.
const reapBatch = 200

// TakeSweep reports whether node may run the sweep now: at most one node
// per interval every gets true, whoever asks.
func (s *Store) TakeSweep(ctx context.Context, node string, every time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, keySweep, node, every).Result()
	if err != nil {
		return false, unavailable("take sweep", err)
	}
	return ok, nil
}

// HoldReaping stops this store reaping expired leases (the sweep and
// admission) until until. An edge holds it while its Redis is away and for
// one lease after it is back: every lease has aged through the outage, and
// the nodes that are alive need that long to renew and re-assert theirs
// before anyone may take them for dead.
func (s *Store) HoldReaping(until time.Time) {
	if ms := until.UnixMilli(); ms > s.reapHeld.Load() {
		s.reapHeld.Store(ms)
	}
}

// reapingHeld reports whether HoldReaping holds at now.
func (s *Store) reapingHeld(now time.Time) bool { return now.UnixMilli() < s.reapHeld.Load() }

// ReapExpired ends the calls of every workspace whose leases have expired,
// and returns them; nothing while reaping is held (HoldReaping).
func (s *Store) ReapExpired(ctx context.Context) ([]Reaped, error) {
	if s.reapingHeld(s.now()) {
		return nil, nil
	}
	ids, err := s.rdb.SMembers(ctx, keyWorkspaces).Result()
	if err != nil {
		return nil, unavailable("reap expired", err)
	}
	var out []Reaped
	for len(ids) > 0 {
		got, err := s.reapAll(ctx, reapExpiredScript, ids, func(string) any { return reapBatch })
		out = append(out, got.reaped...)
		if err != nil {
			return out, err
		}
		ids = got.full // a workspace that filled its batch may have more
	}
	return out, nil
}

// ReapNode ends at once, lease or not, every call of any workspace whose
// record names node: a node that has just started calls it before it
// takes calls, since none of its previous process's calls can be alive.
// It reads each workspace's active calls (one script per workspace,
// pipelined): O(workspaces + active calls), once per start.
func (s *Store) ReapNode(ctx context.Context, node string) ([]Reaped, error) {
	if !validNodeID(node) {
		return nil, invalid("node", "node id 1-128 characters")
	}
	ids, err := s.rdb.SMembers(ctx, keyWorkspaces).Result()
	if err != nil {
		return nil, unavailable("reap node", err)
	}
	got, err := s.reapAll(ctx, reapNodeScript, ids, func(string) any { return node })
	return got.reaped, err
}

type reapRun struct {
	reaped []Reaped
	full   []string // workspaces whose run reaped a whole batch
}

// reapAll runs script for each workspace of ids, reapBatch workspaces
// to a pipeline, with arg as its fourth argument. A workspace whose run
// reaped a whole batch is listed in full.
func (s *Store) reapAll(ctx context.Context, script *redis.Script, ids []string, arg func(ws string) any) (reapRun, error) {
	var run reapRun
	keys := func(ws string) []string {
		return []string{keyActive(ws), keyCalls(ws), keyEvents(ws), keyTombstone(ws)}
	}
	for start := 0; start < len(ids); start += reapBatch {
		batch := ids[start:min(start+reapBatch, len(ids))]
		now := s.now()
		argv := func(ws string) []any {
			return []any{now.UnixMilli(), now.UTC().Format(time.RFC3339Nano), s.eventsMaxLen, arg(ws)}
		}
		cmds := make([]*redis.Cmd, len(batch))
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, ws := range batch {
				cmds[i] = script.EvalSha(ctx, p, keys(ws), argv(ws)...)
			}
			return nil
		})
		for i, ws := range batch {
			cmd := cmds[i]
			if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
				cmd = script.Run(ctx, s.rdb, keys(ws), argv(ws)...) // loads it on that node
			}
			res, err := cmd.Slice()
			if err != nil {
				return run, unavailable("reap workspace "+ws, err)
			}
			r := s.reaped(ws, res)
			run.reaped = append(run.reaped, r...)
			if len(r) >= reapBatch {
				run.full = append(run.full, ws)
			}
		}
	}
	return run, nil
}

// reaped decodes a reap script's answer (id, node, outcome triplets) and
// tells the observer.
func (s *Store) reaped(ws string, res []any) []Reaped {
	out := make([]Reaped, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		str := func(v any) string { x, _ := v.(string); return x }
		r := Reaped{WorkspaceID: ws, CallID: str(res[i]), NodeID: str(res[i+1]), Outcome: str(res[i+2])}
		out = append(out, r)
		if s.onReap != nil {
			s.onReap(r)
		}
	}
	return out
}

// errReapReply is a reap script's answer the store cannot read.
var errReapReply = errors.New("unexpected reply of the reap script")

// admitReply splits admitScript's answer: its status, then what it
// reaped.
func (s *Store) admitReply(ws string, res []any) (string, error) {
	if len(res) == 0 {
		return "", errReapReply
	}
	status, ok := res[0].(string)
	if !ok {
		return "", fmt.Errorf("admit call: %w", errReapReply)
	}
	s.reaped(ws, res[1:])
	return status, nil
}
