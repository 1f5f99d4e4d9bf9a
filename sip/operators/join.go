package operators

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// join serves POST /v1/calls/{call_id}/operators?mode=listen|whisper|barge
// on the node holding the call: after the checks of wrap, the mode must
// be one of the three (422 naming "mode"; absent means listen), the
// workspace's operator config must allow the account and the mode (403),
// the body must be application/sdp (415) and a usable WebRTC offer (400,
// 422 without PCMU), and the call must be live here (409). The answer is
// 201 with the SDP answer and the Location of the operator session.
func (h *Handler) join(w http.ResponseWriter, r *request) error {
	modeName := r.URL.Query().Get("mode")
	if modeName == "" {
		modeName = string(media.ModeListen)
	}
	mode, err := media.ParseOperatorMode(modeName)
	if err != nil {
		return invalid("mode", "must be listen, whisper or barge")
	}
	if err := h.allowMode(r, mode); err != nil {
		return err
	}
	if mediaType(r.Header.Get("Content-Type")) != "application/sdp" {
		return fmt.Errorf("%w: send the SDP offer with Content-Type: application/sdp", ErrUnsupportedMedia)
	}
	offer, err := readOffer(w, r.Request)
	if err != nil {
		return err
	}
	call, ok := h.calls.Call(r.call.ID)
	if !ok || call.WorkspaceID != r.p.WorkspaceID || call.Session == nil || r.call.State == tenancy.CallEnded {
		return ErrCallNotActive
	}
	release, ok := h.ops.reserve(r.call.ID, h.cfg.MaxOperatorsPerCall)
	if !ok {
		return fmt.Errorf("%w: %d on call %s", ErrTooManyOperators, h.cfg.MaxOperatorsPerCall, r.call.ID)
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.JoinTimeout)
	defer cancel()
	op, answer, err := h.engine.Join(ctx, call.Session, r.p.AccountID, mode, offer)
	if err != nil {
		return fmt.Errorf("join call %s: %w", r.call.ID, err)
	}
	e := &entry{
		op: op, ws: r.p.WorkspaceID, callID: r.call.ID, keyID: r.p.KeyID, accountID: r.p.AccountID,
		log: h.log.With("call_id", r.call.ID, "workspace_id", r.p.WorkspaceID, "operator_id", op.ID(), "account_id", r.p.AccountID),
	}
	h.ops.add(e)
	e.log.Info("operator joined", "mode", mode)
	w.Header().Set("Location", operatorPath(r.call.ID, op.ID()))
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
	return nil
}

// operatorPath is the Location of an operator session.
func operatorPath(callID, opID string) string {
	return "/v1/calls/" + callID + "/operators/" + opID
}

// allowMode checks that the workspace's operator config allows the key's
// account in mode (403 otherwise).
func (h *Handler) allowMode(r *request, mode media.OperatorMode) error {
	cfg, err := h.operatorConfig(r.Context(), r.p.WorkspaceID)
	if err != nil {
		return err
	}
	if !cfg.Allows(r.p.AccountID, string(mode)) {
		return forbidden("the workspace's operator config does not allow account %s to join calls in mode %s", r.p.AccountID, mode)
	}
	return nil
}

// readOffer reads the SDP offer: one byte over media.MaxOfferSize is
// enough to refuse it (400, as media.ErrBadOffer).
func readOffer(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.ContentLength > media.MaxOfferSize {
		return "", fmt.Errorf("%w: %w: the offer is larger than %d bytes", media.ErrBadOffer, media.ErrSDPTooLarge, media.MaxOfferSize)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, media.MaxOfferSize+1))
	if err != nil {
		return "", malformed("reading the offer: %v", err)
	}
	if len(b) > media.MaxOfferSize {
		return "", fmt.Errorf("%w: %w: the offer is larger than %d bytes", media.ErrBadOffer, media.ErrSDPTooLarge, media.MaxOfferSize)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("%w: the body must be the SDP offer", media.ErrBadOffer)
	}
	return string(b), nil
}

// operatorView is an operator as the API shows it.
type operatorView struct {
	ID          string `json:"id"`
	CallID      string `json:"call_id"`
	AccountID   string `json:"account_id"`
	Mode        string `json:"mode"`
	Muted       bool   `json:"muted"`
	AccountName string `json:"account_name,omitempty"`
	State       string `json:"state,omitempty"`
	JoinedAt    string `json:"joined_at,omitempty"`
}

// updateRequest is the body of PATCH: either field or both.
type updateRequest struct {
	Mode  *string `json:"mode"`
	Muted *bool   `json:"muted"`
}

// updateOperator serves PATCH /v1/calls/{call_id}/operators/{operator_id}
// with {"mode"} and/or {"muted"}: the operator must be on that call of the
// key's workspace (404), and be the key's own account's unless the role
// is admin or owner (403); a new mode must be allowed by the operator
// config (403). 200 with the operator.
func (h *Handler) updateOperator(w http.ResponseWriter, r *request) error {
	e, err := h.ownOperator(r)
	if err != nil {
		return err
	}
	var body updateRequest
	if err := decodeJSON(w, r.Request, &body); err != nil {
		return err
	}
	if body.Mode == nil && body.Muted == nil {
		return invalid("mode", "give mode, muted or both")
	}
	if body.Mode != nil {
		mode, err := media.ParseOperatorMode(*body.Mode)
		if err != nil {
			return invalid("mode", "must be listen, whisper or barge")
		}
		if err := h.allowMode(r, mode); err != nil {
			return err
		}
		if err := e.op.SetMode(mode); err != nil {
			return fmt.Errorf("set mode: %w", ErrCallNotActive)
		}
	}
	if body.Muted != nil {
		e.op.Mute(*body.Muted)
	}
	h.putPresence(e)
	writeJSON(w, http.StatusOK, viewOf(e))
	return nil
}

// leave serves DELETE /v1/calls/{call_id}/operators/{operator_id}: the
// same checks as PATCH, then the operator leaves the call (204).
func (h *Handler) leave(w http.ResponseWriter, r *request) error {
	e, err := h.ownOperator(r)
	if err != nil {
		return err
	}
	reason := reasonLeft
	if e.accountID != r.p.AccountID {
		reason = reasonRemoved
	}
	e.close(reason)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownOperator finds the operator of the path on this node: on the path's
// call, of the key's workspace (else 404), joined by the key's account or
// handled by an admin or owner (else 403).
func (h *Handler) ownOperator(r *request) (*entry, error) {
	e, ok := h.ops.get(r.p.WorkspaceID, r.call.ID, r.PathValue("operator_id"))
	if !ok {
		return nil, tenancy.ErrNotFound
	}
	if e.accountID != r.p.AccountID && !r.p.Role.Allows(tenancy.ActionConfigure) {
		return nil, forbidden("operator %s belongs to another account; only admins and owners may change it", e.op.ID())
	}
	return e, nil
}

func viewOf(e *entry) operatorView {
	st := e.op.Stats()
	return operatorView{ID: st.ID, CallID: e.callID, AccountID: e.accountID, Mode: string(st.Mode), Muted: st.Muted, State: st.State}
}
