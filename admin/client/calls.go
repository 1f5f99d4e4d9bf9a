package client

import (
	"context"
	"net/url"

	"github.com/voiceedge/edge/tenancy"
)

// Calls returns workspace ws's calls, newest first; active keeps those in
// progress only. max bounds how many (<= 0: all).
func (c *Client) Calls(ctx context.Context, ws string, active bool, max int) ([]tenancy.CallRecord, error) {
	q := url.Values{}
	if active {
		q.Set("active", "true")
	}
	out, _, err := listAll[tenancy.CallRecord](ctx, c, pathOf("workspaces", ws, "calls"), q, "", max)
	return out, err
}

// Events returns up to max events of workspace ws after cursor ("" from
// the oldest), oldest first, and the cursor to continue from ("" at the
// end).
func (c *Client) Events(ctx context.Context, ws, cursor string, max int) ([]tenancy.Event, string, error) {
	return listAll[tenancy.Event](ctx, c, pathOf("workspaces", ws, "events"), nil, cursor, max)
}
