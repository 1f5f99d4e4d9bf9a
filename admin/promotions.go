package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// SourceAuthorizationHeader carries the source workspace's key of a
// promotion ("Bearer <key>", admin or owner of from_workspace).
const SourceAuthorizationHeader = "X-Source-Authorization"

// promotionBody is the body of POST promotions.
type promotionBody struct {
	FromWorkspace string `json:"from_workspace"`
	DryRun        bool   `json:"dry_run"`
}

// promotionResult is the 200 of POST promotions.
type promotionResult struct {
	FromWorkspace string              `json:"from_workspace"`
	Diff          []tenancy.DiffEntry `json:"diff"`
	Applied       bool                `json:"applied"`
}

// promote copies the agent-behaviour configuration of a staging workspace
// into this production workspace (design section 5). The target key (in
// Authorization) was checked by the route: admin+ of this workspace. The
// source key must be admin+ of from_workspace; a key of any other
// workspace gets 404, as if from_workspace did not exist.
func (s *Server) promote(w http.ResponseWriter, r *request) error {
	var body promotionBody
	if err := decodeBody(w, r.Request, &body, false); err != nil {
		return err
	}
	switch {
	case body.FromWorkspace == "":
		return invalid("from_workspace", "is required")
	case body.FromWorkspace == r.ws:
		return invalid("from_workspace", "a workspace cannot be promoted into itself")
	}
	src, err := s.authenticate(r.Request, s.clientIP(r.Request), r.Header.Get(SourceAuthorizationHeader))
	if errors.Is(err, tenancy.ErrUnauthenticated) {
		return fmt.Errorf("%w: send %s: Bearer <key of from_workspace>", tenancy.ErrUnauthenticated, SourceAuthorizationHeader)
	}
	if err != nil {
		return err
	}
	if src.Platform || src.WorkspaceID != body.FromWorkspace {
		return tenancy.ErrNotFound
	}
	if !src.Role.Allows(tenancy.ActionConfigure) {
		return forbidden(fmt.Sprintf("the source key's role %s may not promote (admin or above)", src.Role))
	}
	diff, err := s.store.Promote(r.Context(), r.p, r.ws, body.FromWorkspace, body.DryRun)
	if err != nil {
		return err
	}
	applied := !body.DryRun
	if applied {
		data, _ := json.Marshal(map[string]any{
			"actor": actorData(r.p), "source_actor": actorData(src),
			"from_workspace": body.FromWorkspace, "changes": len(diff),
		})
		if _, err := s.store.AppendEvent(r.Context(), r.ws, tenancy.Event{Type: tenancy.EventPromotionApplied, Data: data}); err != nil {
			s.log.Warn("promotion applied but not recorded", "workspace_id", r.ws, "err", err)
		}
		s.log.Info("promotion applied", "workspace_id", r.ws, "from_workspace", body.FromWorkspace, "changes", len(diff), "actor", actorOf(r.p))
	}
	writeJSON(w, http.StatusOK, promotionResult{FromWorkspace: body.FromWorkspace, Diff: diff, Applied: applied})
	return nil
}
