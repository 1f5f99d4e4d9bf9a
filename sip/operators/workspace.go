package operators

import (
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// workspaceView is what the console shows of the key's workspace.
type workspaceView struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Environment tenancy.Environment `json:"environment"`
	Status      tenancy.Status      `json:"status"`
	// Account is the key's own account, with its role now.
	Account accountView `json:"account"`
}

type accountView struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	Role tenancy.Role `json:"role"`
}

// getWorkspace serves GET /v1/workspace: the id, name and environment of
// the key's workspace (any role), so the console can always show where it
// is (a production workspace unmistakably). There is no path naming a
// workspace: a key can only ever read its own.
func (h *Handler) getWorkspace(w http.ResponseWriter, r *request) error {
	ws, err := h.store.GetWorkspace(r.Context(), r.p.WorkspaceID)
	if err != nil {
		return err
	}
	acct, err := h.store.GetAccount(r.Context(), r.p.WorkspaceID, r.p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, workspaceView{
		ID: ws.ID, Name: ws.Name, Environment: ws.Environment, Status: ws.Status,
		Account: accountView{ID: acct.ID, Name: acct.Name, Role: acct.Role},
	})
	return nil
}
