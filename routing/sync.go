package routing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// opDeleteWorkspace is the change-stream op that removes a workspace.
const opDeleteWorkspace = "delete_workspace"

// Run loads the whole map, then follows the change stream until ctx ends;
// it returns nil then. While Redis cannot be reached it retries with
// exponential backoff: before the first load the map stays not ready,
// afterwards it serves the last good table, reports itself degraded and
// reloads everything once Redis answers. A Map runs at most once at a time
// (ErrRunning).
func (m *Map) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	reason := ReasonStart
	if m.ready.Load() {
		reason = ReasonReconnect
	}
	backoff := m.opts.minBackoff
	for {
		err := m.fullLoad(ctx, reason)
		if err == nil {
			backoff = m.opts.minBackoff
			err = m.follow(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errGap) {
			m.log.Warn("routing: change stream gap, reloading everything", "err", err)
			reason = ReasonGap
			continue
		}
		m.failed(err, backoff)
		if m.ready.Load() {
			reason = ReasonReconnect
		}
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, m.opts.maxBackoff)
	}
}

// failed records a failure to reach Redis.
func (m *Map) failed(err error, retry time.Duration) {
	m.met.redisErrors.Inc()
	m.setLastErr(err)
	if m.ready.Load() {
		m.setDegraded(true)
	}
	m.log.Warn("routing: redis", "err", err, "ready", m.ready.Load(), "retry_in", retry)
}

// fullLoad reads every workspace and installs the result. The head of the
// change stream is noted first: a change written during the load is then
// read again and skipped or applied by version.
func (m *Map) fullLoad(ctx context.Context, reason string) error {
	streamID, seq, err := m.src.ChangesHead(ctx)
	if err != nil {
		return err
	}
	ids, err := m.src.ListWorkspaceIDs(ctx)
	if err != nil {
		return err
	}
	old := m.cur.Load()
	entries := make(map[string]*entry, len(ids))
	for _, id := range ids {
		e, err := m.load(ctx, id)
		switch {
		case errors.Is(err, errBadSnapshot):
			if prev, ok := old.workspaces[id]; ok {
				entries[id] = prev
			}
		case err != nil:
			return err
		case e != nil:
			entries[id] = e
		}
	}
	t := buildTable(seq, entries)
	m.streamID = streamID
	m.swap(t)
	m.synced()
	m.setLastErr(nil)
	m.ready.Store(true)
	m.met.ready.Set(1)
	m.setDegraded(false)
	m.met.reloads.WithLabelValues(reason).Inc()
	m.log.Info("routing: map loaded", "reason", reason, "seq", seq,
		"workspaces", len(t.workspaces), "numbers", len(t.numbers))
	return nil
}

// load reads and compiles workspace id. It returns nil, nil when the
// workspace is gone, and errBadSnapshot when its configuration does not
// decode (the caller keeps what it had).
func (m *Map) load(ctx context.Context, id string) (*entry, error) {
	snap, err := m.src.LoadSnapshot(ctx, id)
	switch {
	case errors.Is(err, tenancy.ErrNotFound):
		return nil, nil
	case err != nil && (errors.Is(err, tenancy.ErrUnavailable) || ctx.Err() != nil):
		return nil, err
	case err != nil:
		m.met.badItems.Inc()
		m.log.Error("routing: workspace left as it was", "workspace_id", id, "err", err)
		return nil, fmt.Errorf("%w: %s: %w", errBadSnapshot, id, err)
	case snap.Workspace.ID != id:
		m.met.badItems.Inc()
		m.log.Error("routing: workspace snapshot names another id", "workspace_id", id, "snapshot_id", snap.Workspace.ID)
		return nil, fmt.Errorf("%w: %s holds workspace %q", errBadSnapshot, id, snap.Workspace.ID)
	}
	m.loads++
	e, skipped := compile(snap, m.loads)
	for _, s := range skipped {
		m.met.badItems.Inc()
		m.log.Error("routing: item left out of the map", "workspace_id", id, "item", s)
	}
	return e, nil
}

// follow applies the change stream until an error: a lost Redis, a gap
// (errGap) or the end of ctx. It reconciles periodically.
func (m *Map) follow(ctx context.Context) error {
	next := time.Now().Add(m.opts.reconcile)
	for ctx.Err() == nil {
		changes, err := m.src.ReadChanges(ctx, m.streamID, m.opts.pollWait)
		if err != nil {
			return err
		}
		if err := m.apply(ctx, changes); err != nil {
			return err
		}
		m.synced()
		if time.Now().After(next) {
			if err := m.reconcile(ctx); err != nil {
				return err
			}
			next = time.Now().Add(m.opts.reconcile)
		}
	}
	return ctx.Err()
}

// apply brings the workspaces named by changes up to date in one new
// table. Nothing is installed when a snapshot cannot be read: the caller
// reloads everything.
func (m *Map) apply(ctx context.Context, changes []tenancy.Change) error {
	if len(changes) == 0 {
		return nil
	}
	m.met.changes.Add(float64(len(changes)))
	t := m.cur.Load()
	seq := t.seq
	want := map[string]int64{}
	newer := map[string][]tenancy.Change{} // per workspace, after its loaded version
	deleted := map[string]bool{}
	for _, c := range changes {
		if c.Seq != seq+1 {
			return fmt.Errorf("%w: after %d came %d", errGap, seq, c.Seq)
		}
		seq = c.Seq
		switch {
		case c.Op == opDeleteWorkspace:
			deleted[c.WorkspaceID] = true
		case c.WorkspaceID == "":
		case t.version(c.WorkspaceID) < c.Version:
			want[c.WorkspaceID] = max(want[c.WorkspaceID], c.Version)
			newer[c.WorkspaceID] = append(newer[c.WorkspaceID], c)
		}
	}
	updates := map[string]*entry{}
	for id := range deleted {
		if _, ok := t.workspaces[id]; ok {
			updates[id] = nil
		}
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if deleted[id] {
			continue
		}
		if old, ok := t.workspaces[id]; ok {
			e, ok, err := m.patch(ctx, old, newer[id], want[id])
			if err != nil {
				return err
			}
			if ok {
				updates[id] = e
				continue
			}
		}
		e, err := m.load(ctx, id)
		switch {
		case errors.Is(err, errBadSnapshot):
		case err != nil:
			return err
		case e == nil:
			if _, ok := t.workspaces[id]; ok {
				updates[id] = nil
			}
		default:
			updates[id] = e
		}
	}
	m.swap(t.with(seq, updates))
	m.streamID = changes[len(changes)-1].StreamID
	return nil
}

// version returns the loaded version of workspace id, 0 if not loaded.
func (t *table) version(id string) int64 {
	if e, ok := t.workspaces[id]; ok {
		return e.view.Version
	}
	return 0
}

// reconcile compares the loaded versions with Redis and reloads (or drops)
// the workspaces that differ: a writer that crashed between its commit and
// its announcement leaves no change to follow. A difference is acted on
// only if it survives reading the changes announced meanwhile.
func (m *Map) reconcile(ctx context.Context) error {
	m.met.reconcileRuns.Inc()
	ids, err := m.src.ListWorkspaceIDs(ctx)
	if err != nil {
		return err
	}
	for id := range m.cur.Load().workspaces {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	stale, err := m.drift(ctx, slices.Compact(ids))
	if err != nil || len(stale) == 0 {
		return err
	}
	changes, err := m.src.ReadChanges(ctx, m.streamID, 0)
	if err != nil {
		return err
	}
	if err := m.apply(ctx, changes); err != nil {
		return err
	}
	if stale, err = m.drift(ctx, slices.Sorted(maps.Keys(stale))); err != nil || len(stale) == 0 {
		return err
	}
	t := m.cur.Load()
	updates := map[string]*entry{}
	for _, id := range slices.Sorted(maps.Keys(stale)) {
		e, err := m.load(ctx, id)
		switch {
		case errors.Is(err, errBadSnapshot):
		case err != nil:
			return err
		case e == nil:
			if _, ok := t.workspaces[id]; ok {
				updates[id] = nil
			}
		default:
			updates[id] = e
		}
	}
	if len(updates) == 0 {
		return nil // only workspaces that do not decode: already logged
	}
	m.swap(t.with(t.seq, updates))
	m.met.reloads.WithLabelValues(ReasonReconcile).Inc()
	m.log.Warn("routing: reconciliation reloaded workspaces missing from the change stream",
		"workspaces", len(updates))
	return nil
}

// drift returns the workspaces among ids whose version in Redis differs
// from the loaded one, with their version in Redis (0: gone).
func (m *Map) drift(ctx context.Context, ids []string) (map[string]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	versions, err := m.src.WorkspaceVersions(ctx, ids)
	if err != nil {
		return nil, err
	}
	t := m.cur.Load()
	stale := map[string]int64{}
	for _, id := range ids {
		v := versions[id]
		e, loaded := t.workspaces[id]
		switch {
		case !loaded && v > 0, loaded && v != e.view.Version:
			stale[id] = v
		}
	}
	return stale, nil
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
