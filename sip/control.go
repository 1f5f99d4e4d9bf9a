package sip

import (
	"context"
	"fmt"
	"time"
)

// renewLoop renews the leases of this node's calls every LeaseTTL/3, so
// that the call registry shows them active and their slots stay taken; a
// node that dies stops renewing, and the reaper ends its calls node_lost
// and frees their slots (reap.go).
func (s *Server) renewLoop(ctx context.Context) {
	every := s.cfg.LeaseTTL / 3
	for sleep(ctx, every) {
		calls := map[string][]string{}
		for _, c := range s.dialogs.all() {
			calls[c.route.Workspace.ID] = append(calls[c.route.Workspace.ID], c.id)
		}
		if len(calls) == 0 {
			continue
		}
		s.storeWrite("renew_leases", func(ctx context.Context) error {
			return s.store.RenewLeases(ctx, calls, s.cfg.LeaseTTL)
		})
	}
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
