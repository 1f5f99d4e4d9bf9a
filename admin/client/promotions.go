package client

import (
	"context"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// sourceAuthorizationHeader carries the source workspace's key of a
// promotion (design section 5).
const sourceAuthorizationHeader = "X-Source-Authorization"

// PromotionResult is the answer of a promotion: what it changes (or would,
// on a dry run) in the production workspace.
type PromotionResult struct {
	FromWorkspace string              `json:"from_workspace"`
	Diff          []tenancy.DiffEntry `json:"diff"`
	Applied       bool                `json:"applied"`
}

// Promote copies the agent-behaviour configuration of staging workspace
// from into production workspace target. The client's key is target's
// (admin or owner); sourceKey is from's (admin or owner).
func (c *Client) Promote(ctx context.Context, target, from, sourceKey string, dryRun bool) (PromotionResult, error) {
	var out PromotionResult
	body := struct {
		FromWorkspace string `json:"from_workspace"`
		DryRun        bool   `json:"dry_run"`
	}{from, dryRun}
	h := http.Header{}
	h.Set(sourceAuthorizationHeader, "Bearer "+sourceKey)
	err := c.do(ctx, request{method: http.MethodPost, path: pathOf("workspaces", target, "promotions"), header: h, body: body, out: &out})
	return out, err
}
