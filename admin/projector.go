package admin

import (
	"context"
	"time"
)

// followProjections keeps every workspace's projections current with the
// events the edges append (the API's own appends project at once): every
// Config.ProjectionInterval it lists the workspaces and applies each one's
// new events; every Config.RetentionInterval it also trims each one's
// events to its settings.event_retention_days. It returns when ctx ends.
func (s *Server) followProjections(ctx context.Context) {
	if s.cfg.ProjectionInterval < 0 {
		return
	}
	tick := time.NewTicker(s.cfg.ProjectionInterval)
	defer tick.Stop()
	lastTrim := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		trim := time.Since(lastTrim) >= s.cfg.RetentionInterval
		if trim {
			lastTrim = time.Now()
		}
		s.projectAll(ctx, trim)
	}
}

// projectAll runs one pass of followProjections; failures are logged once
// per pass and retried on the next.
func (s *Server) projectAll(ctx context.Context, trim bool) {
	ids, err := s.store.ListWorkspaceIDs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("projections: list workspaces", "err", err)
		}
		return
	}
	failed, applied := 0, 0
	var lastErr error
	for _, ws := range ids {
		if ctx.Err() != nil {
			return
		}
		n, err := s.store.Project(ctx, ws)
		applied += n
		if err == nil && trim {
			var dropped int64
			if dropped, err = s.store.TrimEvents(ctx, ws); dropped > 0 {
				s.log.Info("events trimmed by retention", "workspace_id", ws, "events", dropped)
			}
		}
		if err != nil {
			failed, lastErr = failed+1, err
		}
	}
	s.metrics.projected.Add(float64(applied))
	if failed > 0 && ctx.Err() == nil {
		s.log.Warn("projections: pass failed for some workspaces", "failed", failed, "workspaces", len(ids), "err", lastErr)
	}
}
