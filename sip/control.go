package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// renewLoop renews the leases of this node's calls every LeaseTTL/3, so
// that the call registry shows them active and their slots stay taken; a
// node that dies stops renewing, and the reaper ends its calls node_lost
// and frees their slots (reap.go). Each round also marks the node alive
// and reads how many nodes are (the divisor of the shares of
// admit_local.go). After Redis was away, the first round once the spool
// is empty re-asserts the calls (ReassertCalls), recreating slots and
// records Redis lost.
func (s *Server) renewLoop(ctx context.Context) {
	every := s.cfg.LeaseTTL / 3
	reassert := false
	next := time.Now()
	var outages int64 // of the spool, as last seen
	for {
		// An outage over before this loop looked (Redis back within a
		// second, maybe empty) needs the re-assertion too: it counts.
		if st := s.spool.Stats(); st.StoreDown || st.Outages != outages {
			outages = st.Outages
			reassert = true
			// Every lease ages while Redis is away: no reaping until the
			// live nodes have had a lease to renew theirs (HoldReaping).
			if r, ok := s.store.(Reaper); ok {
				r.HoldReaping(time.Now().Add(s.cfg.LeaseTTL))
			}
		}
		if !time.Now().Before(next) || (reassert && s.spool.Up()) {
			next = time.Now().Add(every)
			if s.renew(reassert) {
				reassert = false
			} else {
				reassert = true
			}
		}
		if !sleep(ctx, min(time.Second, every)) {
			return
		}
	}
}

// renew is one round of renewLoop; it reports whether Redis took it.
func (s *Server) renew(reassert bool) bool {
	ctx, cancel := s.storeCtx()
	defer cancel()
	n, err := s.store.Heartbeat(ctx, s.cfg.NodeID, s.cfg.LeaseTTL)
	if err == nil {
		s.local.nodes.Store(int64(n))
	} else if errors.Is(err, tenancy.ErrUnavailable) {
		s.spool.MarkDown() // an idle node learns of the outage too
	}
	if reassert && !s.spool.Up() {
		return false // leases wait for the spool: its admissions come first
	}
	var op string
	if reassert {
		op = "reassert_calls"
		calls := map[string][]tenancy.CallRecord{}
		for _, c := range s.dialogs.all() {
			c.mu.Lock()
			calls[c.route.Workspace.ID] = append(calls[c.route.Workspace.ID], c.rec)
			c.mu.Unlock()
		}
		if len(calls) > 0 {
			err = s.store.ReassertCalls(ctx, calls, s.cfg.LeaseTTL)
		}
	} else {
		op = "renew_leases"
		calls := map[string][]string{}
		for _, c := range s.dialogs.all() {
			calls[c.route.Workspace.ID] = append(calls[c.route.Workspace.ID], c.id)
		}
		if len(calls) > 0 {
			err = s.store.RenewLeases(ctx, calls, s.cfg.LeaseTTL)
		}
	}
	if err != nil {
		s.metrics.storeErrors.WithLabelValues(op).Inc()
		s.log.Warn("call leases not renewed", "op", op, "error", err)
		if errors.Is(err, tenancy.ErrUnavailable) {
			s.spool.MarkDown()
		}
		return false
	}
	if reassert {
		s.log.Info("redis back: calls re-asserted", "calls", s.ActiveCalls())
	}
	return true
}

// controlLoop follows the control stream of this node (requests the
// control plane sends to the node that carries a call) and hangs calls up
// on request, with reason "hangup_requested". A request names the call's
// workspace: a call of another workspace is not touched.
func (s *Server) controlLoop(ctx context.Context) {
	after := fmt.Sprintf("%d-0", time.Now().UnixMilli())
	for ctx.Err() == nil {
		ctls, err := s.store.ReadControl(ctx, s.cfg.NodeID, after, s.cfg.ControlWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.metrics.storeErrors.WithLabelValues("read_control").Inc()
			s.log.Warn("read control stream", "error", err)
			sleep(ctx, time.Second)
			continue
		}
		for _, ctl := range ctls {
			after = ctl.StreamID
			if ctl.Op != "hangup" {
				continue
			}
			c, ok := s.dialogs.call(ctl.CallID)
			if !ok || c.route.Workspace.ID != ctl.WorkspaceID {
				continue
			}
			c.log.Info("hangup requested", "reason", ctl.Reason)
			c.terminate(ErrHangupRequested)
		}
	}
}
