package operators

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// maxReason bounds an escalation's reason, in bytes.
const maxReason = 1024

// escalationRequest is the body of POST /v1/calls/{call_id}/escalations.
type escalationRequest struct {
	Reason string `json:"reason"`
	// Mode is the mode the operator is asked to join in (listen, whisper
	// or barge); absent: none asked, the console offers listen.
	Mode string `json:"mode"`
}

// escalate serves POST /v1/calls/{call_id}/escalations: a member or above
// asks for a human on an active call of its workspace, optionally in a
// mode (422 naming "mode" for another value). It writes
// call.escalation_requested (data: reason, source "api", account_id, and
// mode when given) and
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
	if body.Mode != "" {
		if _, err := media.ParseOperatorMode(body.Mode); err != nil {
			return invalid("mode", "must be listen, whisper or barge")
		}
	}
	if r.call.State == tenancy.CallEnded {
		return ErrCallNotActive
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.StoreTimeout)
	defer cancel()
	data := map[string]any{"reason": reason, "source": "api", "account_id": r.p.AccountID}
	if body.Mode != "" {
		data["mode"] = body.Mode
	}
	id, err := h.store.AppendEvent(ctx, r.p.WorkspaceID, tenancy.Event{
		Type: tenancy.EventEscalationRequested, CallID: r.call.ID, Data: toJSON(data),
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"event_id": id, "call_id": r.call.ID})
	return nil
}
