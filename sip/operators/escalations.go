package operators

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/voiceedge/edge/tenancy"
)

// maxReason bounds an escalation's reason, in bytes.
const maxReason = 1024

// escalationRequest is the body of POST /v1/calls/{call_id}/escalations.
type escalationRequest struct {
	Reason string `json:"reason"`
}

// escalate serves POST /v1/calls/{call_id}/escalations: a member or above
// asks for a human on an active call of its workspace. It writes
// call.escalation_requested (data: reason, source "api", account_id) and
// answers 202 with the event's id; an ended call is 409.
func (h *Handler) escalate(w http.ResponseWriter, r *request) error {
	var body escalationRequest
	if err := decodeJSON(w, r.Request, &body); err != nil {
		return err
	}
	reason := strings.TrimSpace(body.Reason)
	switch {
	case len(reason) > maxReason:
		return invalid("reason", "must be at most %d bytes", maxReason)
	case !utf8.ValidString(reason):
		return invalid("reason", "must be UTF-8 text")
	}
	if r.call.State == tenancy.CallEnded {
		return ErrCallNotActive
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StoreTimeout)
	defer cancel()
	id, err := h.store.AppendEvent(ctx, r.p.WorkspaceID, tenancy.Event{
		Type: tenancy.EventEscalationRequested, CallID: r.call.ID,
		Data: toJSON(map[string]any{"reason": reason, "source": "api", "account_id": r.p.AccountID}),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"event_id": id, "call_id": r.call.ID})
	return nil
}
