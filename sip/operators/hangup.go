package operators

import (
	"context"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// eventHangupRequested is the event a hangup through the operator API
// appends, as the admin API's does (the call then ends with call.ended,
// end reason "hangup_requested").
const eventHangupRequested = "call.hangup_requested"

// hangup serves POST /v1/calls/{call_id}/hangup: any node asks the node
// that carries the call, through that node's control stream in Redis
// (tenancy.Store.RequestHangup), to hang it up; 202 once asked, 409 when
// the call is no longer active. No body.
func (h *Handler) hangup(w http.ResponseWriter, r *request) error {
	if r.call.State == tenancy.CallEnded {
		return ErrCallNotActive
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StoreTimeout)
	defer cancel()
	if err := h.store.RequestHangup(ctx, r.p.WorkspaceID, r.call.ID, "operator"); err != nil {
		return err
	}
	h.eventCtx(ctx, r.p.WorkspaceID, eventHangupRequested, r.call.ID,
		map[string]any{"reason": "operator", "source": "operator_api", "account_id": r.p.AccountID, "node_id": h.cfg.NodeID})
	h.log.Info("hangup requested", "call_id", r.call.ID, "workspace_id", r.p.WorkspaceID, "holder", r.call.NodeID)
	writeJSON(w, http.StatusAccepted, map[string]string{"call_id": r.call.ID, "status": "hangup_requested"})
	return nil
}
