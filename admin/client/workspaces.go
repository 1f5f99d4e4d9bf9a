package client

import (
	"context"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// NewWorkspace is the body of POST /v1/workspaces (platform token only).
type NewWorkspace struct {
	Name        string              `json:"name"`
	Environment tenancy.Environment `json:"environment"`
	Owner       NewOwner            `json:"owner"`
	// Settings and Limits are optional; limits are the platform's quota.
	Settings *tenancy.Settings `json:"settings,omitempty"`
	Limits   *tenancy.Limits   `json:"limits,omitempty"`
}

// NewOwner is the owner account of a new workspace.
type NewOwner struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// CreatedWorkspace is the answer of a workspace creation: the workspace,
// its owner and the owner's first API key, whose secret is shown only here.
type CreatedWorkspace struct {
	tenancy.Workspace
	Owner         tenancy.Account `json:"owner"`
	OwnerAPIKey   string          `json:"owner_api_key"`
	OwnerAPIKeyID string          `json:"owner_api_key_id"`
}

// CreateWorkspace creates a workspace with its owner (the client's key
// must be the platform token).
func (c *Client) CreateWorkspace(ctx context.Context, nw NewWorkspace) (CreatedWorkspace, error) {
	var out CreatedWorkspace
	err := c.do(ctx, request{method: http.MethodPost, path: pathOf("workspaces"), body: nw, out: &out})
	return out, err
}

// Workspace returns workspace ws.
func (c *Client) Workspace(ctx context.Context, ws string) (tenancy.Workspace, error) {
	var out tenancy.Workspace
	err := c.do(ctx, request{method: http.MethodGet, path: pathOf("workspaces", ws), out: &out})
	return out, err
}

// WorkspacePatch changes some of a workspace's fields; nil fields keep
// their values. Settings are the owner's; Limits the platform token's.
type WorkspacePatch struct {
	Name     *string           `json:"name,omitempty"`
	Status   *tenancy.Status   `json:"status,omitempty"`
	Settings *tenancy.Settings `json:"settings,omitempty"`
	Limits   *tenancy.Limits   `json:"limits,omitempty"`
}

// PatchWorkspace changes workspace ws and returns it.
func (c *Client) PatchWorkspace(ctx context.Context, ws string, p WorkspacePatch) (tenancy.Workspace, error) {
	var out tenancy.Workspace
	err := c.do(ctx, request{method: http.MethodPatch, path: pathOf("workspaces", ws), body: p, out: &out})
	return out, err
}
