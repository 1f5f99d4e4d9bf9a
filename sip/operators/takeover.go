package operators

import (
	"fmt"
	"net/http"

	"github.com/voiceedge/edge/media"
)

// takeOverView is the answer of a take-over: the operator, armed.
type takeOverView struct {
	operatorView
	TakeOver bool `json:"take_over"`
}

// takeOver serves POST /v1/calls/{call_id}/operators/{operator_id}/take-over
// (design section 11, warm transfer to a human): the operator of the path,
// checked as for PATCH (on that call of the key's workspace, else 404; the
// key's own account's unless admin or owner, else 403), whose operator
// config still allows barge (403), and who is in barge mode (409: the
// caller must hear whoever takes the call), asks to take the call over.
// From then on the agent hanging up no longer ends the call: it goes on
// between the caller and this operator and ends when the operator leaves
// or the caller hangs up (sip.Server.TakeOver). 200 with the operator and
// "take_over": true; again is the same answer.
func (h *Handler) takeOver(w http.ResponseWriter, r *request) error {
	e, err := h.ownOperator(r)
	if err != nil {
		return err
	}
	if err := h.allowMode(r, media.ModeBarge); err != nil {
		return err
	}
	if err := h.calls.TakeOver(r.call.ID, r.p.WorkspaceID, e.op); err != nil {
		return fmt.Errorf("operator %s: %w", e.op.ID(), err)
	}
	e.log.Info("operator takes the call over")
	writeJSON(w, http.StatusOK, takeOverView{operatorView: viewOf(e), TakeOver: true})
	return nil
}
