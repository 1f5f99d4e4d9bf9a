package spool

import (
	"context"
	"time"
)

// giveUpAfter is how many workspaces may fail in one replay pass before
// it stops: the store is then down as a whole, and trying every other
// workspace would only take ApplyTimeout each.
const giveUpAfter = 3

// Run replays the spool until ctx ends: a pass whenever something is
// appended, again after a failure with backoff (100ms doubling to
// MaxBackoff), and fsyncs the segments every SyncInterval. When ctx ends
// it makes one last bounded pass if the store is up.
func (s *Spool) Run(ctx context.Context) error {
	syncT := time.NewTicker(s.cfg.SyncInterval)
	defer syncT.Stop()
	backoff := 100 * time.Millisecond
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			down := s.down
			s.mu.Unlock()
			if !down {
				fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				s.pass(fctx)
				cancel()
			}
			return nil
		case <-syncT.C:
			s.sync()
			continue
		case <-s.wake:
		case <-retry.C:
		}
		if s.pass(ctx) {
			backoff = 100 * time.Millisecond
			continue
		}
		retry.Reset(backoff)
		backoff = min(2*backoff, s.cfg.MaxBackoff)
	}
}

// pass replays what waits in memory, in order per workspace: a
// workspace whose entry fails is skipped for the rest of the pass (its
// later entries must not overtake it); the others go on. It reports
// whether nothing failed as unavailable.
func (s *Spool) pass(ctx context.Context) bool {
	s.reload()
	s.mu.Lock()
	batch := append([]*item(nil), s.items...)
	s.mu.Unlock()
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
		err := s.store.Probe(pctx)
		cancel()
		if err != nil {
			return false
		}
	}
	if len(batch) == 0 {
		s.mu.Lock()
		s.setDown(false)
		s.mu.Unlock()
		return true
	}
	blocked := map[string]bool{}
	for _, it := range batch {
		ws := it.e.WorkspaceID
		if it.done || blocked[ws] {
			continue
		}
		if ctx.Err() != nil {
			return false
		}
		actx, cancel := context.WithTimeout(ctx, s.cfg.ApplyTimeout)
		err := s.store.Apply(actx, it.e)
		cancel()
		if err != nil && s.store.Unavailable(err) {
			blocked[ws] = true
			if len(blocked) >= giveUpAfter {
				break
			}
			continue
		}
		if err != nil {
			s.met.dropped.WithLabelValues("refused").Inc()
			s.log.Warn("spooled write refused by the store", "op", it.e.Op, "call_id", it.e.CallID, "workspace_id", ws, "error", err)
		} else {
			s.met.replayed.WithLabelValues(it.e.Op).Inc()
		}
		s.remove(it)
	}
	s.mu.Lock()
	s.setDown(len(blocked) > 0)
	more := s.spilled > 0
	s.mu.Unlock()
	if more && len(blocked) == 0 {
		s.signal()
	}
	return len(blocked) == 0
}

// remove takes an applied item out of memory and acknowledges it on disk.
func (s *Spool) remove(it *item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it.done = true
	s.live--
	for len(s.items) > 0 && s.items[0].done {
		s.items[0] = nil
		s.items = s.items[1:]
	}
	if len(s.items) > 2*s.live+1024 { // done items in the middle: compact
		kept := make([]*item, 0, s.live)
		for _, x := range s.items {
			if !x.done {
				kept = append(kept, x)
			}
		}
		s.items = kept
	}
	if s.pending[it.e.WorkspaceID]--; s.pending[it.e.WorkspaceID] <= 0 {
		delete(s.pending, it.e.WorkspaceID)
	}
	if it.seg != nil && s.disk != nil {
		if err := s.disk.ack(it.e.Seq, it.seg); err != nil {
			s.log.Warn("spool ack not written: the entry replays again after a restart", "call_id", it.e.CallID, "workspace_id", it.e.WorkspaceID, "error", err)
		}
	}
	s.gauges()
}

// reload reads entries spilled to disk back into memory once memory is
// at most half full.
func (s *Spool) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.cfg.MaxEntries - s.live
	if s.spilled == 0 || s.disk == nil || room < s.cfg.MaxEntries/2 {
		return
	}
	es, segs, err := s.disk.scan(s.loadedTo, min(room, s.spilled))
	if err != nil {
		s.log.Warn("spool reload", "error", err)
	}
	for i, e := range es {
		s.items = append(s.items, &item{e: e, seg: segs[i]})
		s.loadedTo = e.Seq
		s.spilled--
		s.live++
	}
}

func (s *Spool) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disk != nil {
		if err := s.disk.sync(); err != nil {
			s.log.Warn("spool fsync", "error", err)
		}
	}
}

// Close fsyncs and closes the segments. Entries held in memory only are
// lost with the process: each is counted and logged. Close is idempotent.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.items {
		if !it.done && it.seg == nil {
			s.dropped++
			s.met.dropped.WithLabelValues("shutdown").Inc()
			s.log.Error("spool closed: call-state write held in memory only is lost", "op", it.e.Op, "call_id", it.e.CallID, "workspace_id", it.e.WorkspaceID)
		}
	}
	s.items, s.live = nil, 0
	if s.disk != nil {
		s.disk.close()
		s.disk = nil
	}
	return nil
}
