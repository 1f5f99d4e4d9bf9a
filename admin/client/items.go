package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// itemPath is the path of a configuration item (or a singleton, id "").
func itemPath(ws string, kind tenancy.Kind, id string) string {
	if kind.Singleton || id == "" {
		return pathOf("workspaces", ws, kind.Name)
	}
	return pathOf("workspaces", ws, kind.Name, id)
}

// Items returns every item of a collection kind of workspace ws, sorted
// by id, as the API shows them (write-only fields left out).
func (c *Client) Items(ctx context.Context, ws string, kind tenancy.Kind) ([]tenancy.Item, error) {
	if kind.Singleton {
		it, err := c.Item(ctx, ws, kind, "")
		if err != nil {
			return nil, err
		}
		return []tenancy.Item{it}, nil
	}
	raws, _, err := listAll[json.RawMessage](ctx, c, itemPath(ws, kind, ""), nil, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]tenancy.Item, 0, len(raws))
	for _, raw := range raws {
		it := kind.New()
		if err := json.Unmarshal(raw, it); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kind.Name, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// Item returns one item of workspace ws (id "" for a singleton kind).
func (c *Client) Item(ctx context.Context, ws string, kind tenancy.Kind, id string) (tenancy.Item, error) {
	it := kind.New()
	err := c.do(ctx, request{method: http.MethodGet, path: itemPath(ws, kind, id), out: it})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// PutItem creates or replaces an item of workspace ws (a singleton is
// replaced). A trunk sent without its password keeps the stored one.
func (c *Client) PutItem(ctx context.Context, ws string, kind tenancy.Kind, item tenancy.Item) error {
	return c.do(ctx, request{method: http.MethodPut, path: itemPath(ws, kind, item.ItemID()), body: item})
}

// DeleteItem deletes an item of a collection kind of workspace ws.
func (c *Client) DeleteItem(ctx context.Context, ws string, kind tenancy.Kind, id string) error {
	if kind.Singleton || id == "" {
		return fmt.Errorf("delete %s: %w: a singleton cannot be deleted", kind.Name, ErrInvalid)
	}
	return c.do(ctx, request{method: http.MethodDelete, path: itemPath(ws, kind, id)})
}
