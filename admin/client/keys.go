package client

import (
	"context"
	"net/http"

	"github.com/voiceedge/edge/tenancy"
)

// CreatedKey is a new API key with its secret, shown only once.
type CreatedKey struct {
	tenancy.APIKey
	// Secret is the key itself, to send as a bearer token.
	Secret string `json:"api_key"`
}

// CreatedAccount is a new account with its first API key's secret.
type CreatedAccount struct {
	tenancy.Account
	APIKey   string `json:"api_key"`
	APIKeyID string `json:"api_key_id"`
}

// NewAccount is the body of an account creation.
type NewAccount struct {
	Name  string       `json:"name"`
	Email string       `json:"email"`
	Role  tenancy.Role `json:"role"`
}

// Accounts returns the accounts of workspace ws.
func (c *Client) Accounts(ctx context.Context, ws string) ([]tenancy.Account, error) {
	out, _, err := listAll[tenancy.Account](ctx, c, pathOf("workspaces", ws, "accounts"), nil, "", 0)
	return out, err
}

// CreateAccount creates an account of workspace ws (owner only) with its
// first API key.
func (c *Client) CreateAccount(ctx context.Context, ws string, a NewAccount) (CreatedAccount, error) {
	var out CreatedAccount
	err := c.do(ctx, request{method: http.MethodPost, path: pathOf("workspaces", ws, "accounts"), body: a, out: &out})
	return out, err
}

// APIKeys returns the API keys of workspace ws (never their secrets).
func (c *Client) APIKeys(ctx context.Context, ws string) ([]tenancy.APIKey, error) {
	out, _, err := listAll[tenancy.APIKey](ctx, c, pathOf("workspaces", ws, "api-keys"), nil, "", 0)
	return out, err
}

// CreateAPIKey creates another key for the caller's own account.
func (c *Client) CreateAPIKey(ctx context.Context, ws, name string) (CreatedKey, error) {
	var out CreatedKey
	body := struct {
		Name string `json:"name,omitempty"`
	}{name}
	err := c.do(ctx, request{method: http.MethodPost, path: pathOf("workspaces", ws, "api-keys"), body: body, out: &out})
	return out, err
}

// RevokeAPIKey revokes key id of workspace ws: one's own (member or
// above) or anyone's (owner).
func (c *Client) RevokeAPIKey(ctx context.Context, ws, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: pathOf("workspaces", ws, "api-keys", id)})
}
