package admin

import (
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// newWorkspaceBody is the body of POST /v1/workspaces.
type newWorkspaceBody struct {
	Name        string              `json:"name"`
	Environment tenancy.Environment `json:"environment"`
	Owner       struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"owner"`
	Limits   *tenancy.Limits   `json:"limits,omitempty"`
	Settings *tenancy.Settings `json:"settings,omitempty"`
}

// createdWorkspace is the 201 of POST /v1/workspaces: the workspace, its
// owner and the owner's first key, whose secret is shown only here.
type createdWorkspace struct {
	tenancy.Workspace
	Owner         tenancy.Account `json:"owner"`
	OwnerAPIKey   string          `json:"owner_api_key"`
	OwnerAPIKeyID string          `json:"owner_api_key_id"`
}

func (s *Server) createWorkspace(w http.ResponseWriter, r *request) error {
	var body newWorkspaceBody
	if err := decodeBody(w, r.Request, &body, false); err != nil {
		return err
	}
	nw := tenancy.NewWorkspace{
		Name: body.Name, Environment: body.Environment,
		Owner:  tenancy.Account{Name: body.Owner.Name, Email: body.Owner.Email},
		Limits: s.cfg.DefaultLimits,
	}
	if body.Limits != nil {
		nw.Limits = *body.Limits
	}
	if body.Settings != nil {
		nw.Settings = *body.Settings
	}
	ws, created, err := s.store.CreateWorkspace(r.Context(), r.p, nw)
	if err != nil {
		return err
	}
	s.log.Info("workspace created", "workspace_id", ws.ID, "environment", ws.Environment, "actor", actorOf(r.p))
	w.Header().Set("Location", "/v1/workspaces/"+ws.ID)
	writeJSON(w, http.StatusCreated, createdWorkspace{Workspace: ws, Owner: created.Account, OwnerAPIKey: created.Secret, OwnerAPIKeyID: created.Key.ID})
	return nil
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *request) error {
	ws, err := s.store.GetWorkspace(r.Context(), r.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ws)
	return nil
}

// workspacePatch is the body of PATCH /v1/workspaces/{ws}: absent fields
// keep their values. id and environment are accepted only unchanged.
type workspacePatch struct {
	ID          *string              `json:"id,omitempty"`
	Environment *tenancy.Environment `json:"environment,omitempty"`
	Name        *string              `json:"name,omitempty"`
	Status      *tenancy.Status      `json:"status,omitempty"`
	Settings    *settingsPatch       `json:"settings,omitempty"`
	Limits      *limitsPatch         `json:"limits,omitempty"`
}

// settingsPatch changes some of a workspace's settings.
type settingsPatch struct {
	AllowDirectChanges *bool   `json:"allow_direct_changes,omitempty"`
	RecordCalls        *bool   `json:"record_calls,omitempty"`
	Timezone           *string `json:"timezone,omitempty"`
	EventRetentionDays *int    `json:"event_retention_days,omitempty"`
}

// limitsPatch changes some of a workspace's limits (platform token only).
type limitsPatch struct {
	MaxConcurrentCalls *int `json:"max_concurrent_calls,omitempty"`
	MaxCPS             *int `json:"max_cps,omitempty"`
}

func (s *Server) patchWorkspace(w http.ResponseWriter, r *request) error {
	var patch workspacePatch
	if err := decodeBody(w, r.Request, &patch, false); err != nil {
		return err
	}
	if patch.Limits != nil && !r.p.Platform {
		return forbidden("limits are the platform's quota: only the platform token sets them")
	}
	if patch.ID != nil && *patch.ID != r.ws {
		return invalid("id", "does not match the workspace of the path")
	}
	ws, err := s.store.UpdateWorkspace(r.Context(), r.p, r.ws, func(ws *tenancy.Workspace) error {
		if patch.Environment != nil && *patch.Environment != ws.Environment {
			return invalid("environment", "cannot be changed; create a workspace of the other environment")
		}
		if patch.Status != nil && *patch.Status != ws.Status && !r.p.Platform {
			// A suspension is the platform's decision (billing, abuse): no
			// role of the workspace, the owner included, lifts or sets it.
			return forbidden("status is set by the platform: only the platform token changes it")
		}
		set(&ws.Name, patch.Name)
		set(&ws.Status, patch.Status)
		if st := patch.Settings; st != nil {
			set(&ws.Settings.AllowDirectChanges, st.AllowDirectChanges)
			set(&ws.Settings.RecordCalls, st.RecordCalls)
			set(&ws.Settings.Timezone, st.Timezone)
			set(&ws.Settings.EventRetentionDays, st.EventRetentionDays)
		}
		if l := patch.Limits; l != nil {
			set(&ws.Limits.MaxConcurrentCalls, l.MaxConcurrentCalls)
			set(&ws.Limits.MaxCPS, l.MaxCPS)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ws)
	return nil
}

// set copies *from into to when from is present.
func set[T any](to *T, from *T) {
	if from != nil {
		*to = *from
	}
}

func (s *Server) deleteWorkspace(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteWorkspace(r.Context(), r.p, r.ws); err != nil {
		return err
	}
	// The workspace's event stream goes with it, so the audit record of
	// its deletion is the log (and the change stream's delete_workspace).
	s.log.Info("workspace deleted", "workspace_id", r.ws, "actor", actorOf(r.p))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// actorOf describes a principal for the audit log.
func actorOf(p tenancy.Principal) string {
	if p.Platform {
		return "platform"
	}
	return p.AccountID + " (" + string(p.Role) + ", key " + p.KeyID + ")"
}
