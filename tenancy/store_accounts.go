package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// newKey makes an API key for account accountID of workspace ws and
// indexes its hash globally before the workspace transaction that stores
// it; release undoes the index entry when that transaction fails.
func (s *Store) newKey(ctx context.Context, ws, accountID, name string) (k storedKey, secret string, release func(), err error) {
	secret, hash := NewKeySecret()
	k = storedKey{APIKey: APIKey{
		ID: newID("key_"), WorkspaceID: ws, AccountID: accountID, Name: name,
		Prefix: secret[:len(keyPrefix)+6], CreatedAt: s.now().UTC(),
	}, Hash: hash}
	ref := ws + "/" + k.ID
	err = s.durably(ctx, keyAPIKeys, func(c redis.Cmdable) error { return c.HSet(ctx, keyAPIKeys, hash, ref).Err() })
	if err != nil {
		return k, "", func() {}, unavailable("index api key", err)
	}
	return k, secret, func() { _ = compareAndDelete(context.WithoutCancel(ctx), s.rdb, keyAPIKeys, hash, ref) }, nil
}

// CreateAccount adds account a to workspace ws with a first API key.
func (s *Store) CreateAccount(ctx context.Context, actor Principal, ws string, a Account) (Created, error) {
	if !ValidWorkspaceID(ws) {
		return Created{}, ErrNotFound
	}
	a.ID, a.WorkspaceID, a.CreatedAt = newID("acc_"), ws, s.now().UTC()
	if err := a.Validate(); err != nil {
		return Created{}, err
	}
	k, secret, release, err := s.newKey(ctx, ws, a.ID, "first")
	if err != nil {
		return Created{}, err
	}
	_, err = s.update(ctx, ws, func(t *tx) error {
		if _, err := t.workspace(); err != nil {
			return err
		}
		accounts, err := t.fields(prefixAccount)
		if err != nil {
			return err
		}
		for _, v := range accounts {
			var other Account
			if json.Unmarshal([]byte(v), &other) == nil && strings.EqualFold(other.Email, a.Email) {
				return conflict("an account with email %s exists", a.Email)
			}
		}
		if err := checkQuota("accounts", s.policy.Quotas.Accounts, len(accounts)); err != nil {
			return err
		}
		if err := t.checkKeyQuotas(""); err != nil {
			return err
		}
		if err := t.set(prefixAccount+a.ID, a); err != nil {
			return err
		}
		t.audit(actor, "accounts", a.ID, "create")
		return t.set(prefixAPIKey+k.ID, k)
	})
	if err != nil {
		release()
		return Created{}, err
	}
	return Created{Account: a, Key: k.APIKey, Secret: secret}, nil
}

// GetAccount returns account id of workspace ws.
func (s *Store) GetAccount(ctx context.Context, ws, id string) (Account, error) {
	var a Account
	err := s.getField(ctx, ws, prefixAccount+id, &a)
	return a, err
}

// getField decodes one field of a workspace hash; ErrNotFound when the
// workspace or the field is missing.
func (s *Store) getField(ctx context.Context, ws, field string, v any) error {
	if !ValidWorkspaceID(ws) {
		return ErrNotFound
	}
	b, err := s.rdb.HGet(ctx, keyCfg(ws), field).Bytes()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return unavailable("get "+field, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", field, err)
	}
	return nil
}

// ListAccounts returns the accounts of workspace ws sorted by id.
func (s *Store) ListAccounts(ctx context.Context, ws string) ([]Account, error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return nil, err
	}
	raw, err := s.scanFields(ctx, keyCfg(ws), prefixAccount)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(raw))
	for _, v := range raw {
		var a Account
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("decode account: %w", err)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// UpdateAccount changes an account's name, email and role. The last owner
// cannot be demoted. The account's keys act with the new role from their
// very next use.
func (s *Store) UpdateAccount(ctx context.Context, actor Principal, ws string, a Account) (Account, error) {
	if !ValidWorkspaceID(ws) {
		return Account{}, ErrNotFound
	}
	var out Account
	_, err := s.update(ctx, ws, func(t *tx) error {
		b, ok, err := t.get(prefixAccount + a.ID)
		if err != nil || !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		var cur Account
		if err := json.Unmarshal(b, &cur); err != nil {
			return err
		}
		next := cur
		next.Name, next.Email, next.Role = a.Name, a.Email, a.Role
		if err := next.Validate(); err != nil {
			return err
		}
		if cur.Role == RoleOwner && next.Role != RoleOwner {
			if err := t.notLastOwner(cur.ID); err != nil {
				return err
			}
		}
		out = next
		if next == cur {
			return nil
		}
		t.audit(actor, "accounts", a.ID, "update")
		return t.set(prefixAccount+a.ID, next)
	})
	return out, err
}

func (t *tx) notLastOwner(id string) error {
	accounts, err := t.fields(prefixAccount)
	if err != nil {
		return err
	}
	for _, v := range accounts {
		var o Account
		if json.Unmarshal([]byte(v), &o) == nil && o.Role == RoleOwner && o.ID != id {
			return nil
		}
	}
	return conflict("a workspace keeps at least one owner")
}

// DeleteAccount removes an account and all its keys.
func (s *Store) DeleteAccount(ctx context.Context, actor Principal, ws, id string) error {
	if !ValidWorkspaceID(ws) {
		return ErrNotFound
	}
	_, err := s.update(ctx, ws, func(t *tx) error {
		b, ok, err := t.get(prefixAccount + id)
		if err != nil || !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		var a Account
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		if a.Role == RoleOwner {
			if err := t.notLastOwner(id); err != nil {
				return err
			}
		}
		keys, err := t.fields(prefixAPIKey)
		if err != nil {
			return err
		}
		for keyID, v := range keys {
			var k storedKey
			if json.Unmarshal([]byte(v), &k) == nil && k.AccountID == id {
				t.del(prefixAPIKey + keyID)
				hash, ref := k.Hash, ws+"/"+k.ID
				t.after = append(t.after, func(ctx context.Context) { _ = compareAndDelete(ctx, s.rdb, keyAPIKeys, hash, ref) })
			}
		}
		t.del(prefixAccount + id)
		t.audit(actor, "accounts", id, "delete")
		return nil
	})
	return err
}

// CreateAPIKey adds a key to account accountID of workspace ws.
func (s *Store) CreateAPIKey(ctx context.Context, actor Principal, ws, accountID, name string) (Created, error) {
	if name != "" {
		if err := validName("name", name); err != nil {
			return Created{}, err
		}
	}
	if !ValidWorkspaceID(ws) {
		return Created{}, ErrNotFound
	}
	k, secret, release, err := s.newKey(ctx, ws, accountID, name)
	if err != nil {
		return Created{}, err
	}
	var a Account
	_, err = s.update(ctx, ws, func(t *tx) error {
		b, ok, err := t.get(prefixAccount + accountID)
		if err != nil || !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		if err := json.Unmarshal(b, &a); err != nil {
			return err
		}
		if err := t.checkKeyQuotas(accountID); err != nil {
			return err
		}
		t.audit(actor, "api-keys", k.ID, "create")
		return t.set(prefixAPIKey+k.ID, k)
	})
	if err != nil {
		release()
		return Created{}, err
	}
	return Created{Account: a, Key: k.APIKey, Secret: secret}, nil
}

// ListAPIKeys returns the keys of workspace ws (never their secrets),
// sorted by id.
func (s *Store) ListAPIKeys(ctx context.Context, ws string) ([]APIKey, error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return nil, err
	}
	raw, err := s.scanFields(ctx, keyCfg(ws), prefixAPIKey)
	if err != nil {
		return nil, err
	}
	out := make([]APIKey, 0, len(raw))
	for _, v := range raw {
		var k storedKey
		if err := json.Unmarshal([]byte(v), &k); err != nil {
			return nil, fmt.Errorf("decode api key: %w", err)
		}
		out = append(out, k.APIKey)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// GetAPIKey returns key id of workspace ws.
func (s *Store) GetAPIKey(ctx context.Context, ws, id string) (APIKey, error) {
	var k storedKey
	err := s.getField(ctx, ws, prefixAPIKey+id, &k)
	return k.APIKey, err
}

// RevokeAPIKey deletes key id of workspace ws; it stops working at once. If
// onlyAccount is not empty the key must belong to that account (a caller
// revoking its own key), else ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, actor Principal, ws, id, onlyAccount string) error {
	if !ValidWorkspaceID(ws) {
		return ErrNotFound
	}
	_, err := s.update(ctx, ws, func(t *tx) error {
		b, ok, err := t.get(prefixAPIKey + id)
		if err != nil || !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		var k storedKey
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
		if onlyAccount != "" && k.AccountID != onlyAccount {
			return ErrForbidden
		}
		t.del(prefixAPIKey + id)
		t.after = append(t.after, func(ctx context.Context) { _ = compareAndDelete(ctx, s.rdb, keyAPIKeys, k.Hash, ws+"/"+id) })
		t.audit(actor, "api-keys", id, "delete")
		return nil
	})
	return err
}

// Authenticate resolves an API key secret to its principal, with the role
// its account has now. Unknown, revoked or orphaned keys are
// ErrUnauthenticated.
func (s *Store) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	ref, err := s.rdb.HGet(ctx, keyAPIKeys, HashKey(secret)).Result()
	if errors.Is(err, redis.Nil) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, unavailable("authenticate", err)
	}
	ws, keyID, _ := strings.Cut(ref, "/")
	if !ValidWorkspaceID(ws) {
		return Principal{}, ErrUnauthenticated
	}
	vals, err := s.rdb.HMGet(ctx, keyCfg(ws), prefixAPIKey+keyID).Result()
	if err != nil {
		return Principal{}, unavailable("authenticate", err)
	}
	var k storedKey
	if vals[0] == nil || json.Unmarshal([]byte(vals[0].(string)), &k) != nil || k.Hash != HashKey(secret) {
		return Principal{}, ErrUnauthenticated
	}
	a, err := s.GetAccount(ctx, ws, k.AccountID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{WorkspaceID: ws, AccountID: a.ID, KeyID: k.ID, Role: a.Role}, nil
}

// checkKeyQuotas fails when the workspace, or account accountID (when not
// empty), already holds its quota of API keys.
func (t *tx) checkKeyQuotas(accountID string) error {
	q := t.s.policy.Quotas
	keys, err := t.fields(prefixAPIKey)
	if err != nil {
		return err
	}
	if err := checkQuota("api_keys_per_workspace", q.KeysPerWorkspace, len(keys)); err != nil {
		return err
	}
	if accountID == "" {
		return nil
	}
	mine := 0
	for _, v := range keys {
		var k storedKey
		if json.Unmarshal([]byte(v), &k) == nil && k.AccountID == accountID {
			mine++
		}
	}
	return checkQuota("api_keys_per_account", q.KeysPerAccount, mine)
}
