package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// NewWorkspace is what creating a workspace takes.
type NewWorkspace struct {
	Name        string
	Environment Environment
	Limits      Limits
	Settings    Settings
	Owner       Account
}

// Created is a new account (or workspace owner) with its first key's secret,
// shown once.
type Created struct {
	Account Account
	Key     APIKey
	Secret  string
}

// CreateWorkspace creates a workspace with its owner account and the owner's
// first API key.
func (s *Store) CreateWorkspace(ctx context.Context, actor Principal, nw NewWorkspace) (Workspace, Created, error) {
	now := s.now().UTC()
	w := Workspace{
		ID: newID("ws_"), Name: nw.Name, Environment: nw.Environment, Status: StatusActive,
		Limits: nw.Limits, Settings: nw.Settings, CreatedAt: now, UpdatedAt: now,
	}
	if err := w.Validate(); err != nil {
		return Workspace{}, Created{}, err
	}
	owner := nw.Owner
	owner.ID, owner.WorkspaceID, owner.Role, owner.CreatedAt = newID("acc_"), w.ID, RoleOwner, now
	if err := owner.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.Field = "owner." + ve.Field
		}
		return Workspace{}, Created{}, err
	}
	// Indexed before the write that announces it, so a follower's full load
	// never misses a workspace it was told about; undone on failure.
	err := s.durably(ctx, keyWorkspaces, func(c redis.Cmdable) error { return c.SAdd(ctx, keyWorkspaces, w.ID).Err() })
	if err != nil {
		return Workspace{}, Created{}, unavailable("index workspace", err)
	}
	k, secret, release, err := s.newKey(ctx, w.ID, owner.ID, "owner")
	if err != nil {
		s.rdb.SRem(context.WithoutCancel(ctx), keyWorkspaces, w.ID)
		return Workspace{}, Created{}, err
	}
	_, err = s.update(ctx, w.ID, func(t *tx) error {
		if _, ok, err := t.get(fieldWorkspace); err != nil || ok {
			if ok {
				return conflict("workspace id collision, try again")
			}
			return err
		}
		if err := t.set(fieldWorkspace, w); err != nil {
			return err
		}
		if err := t.set(prefixAccount+owner.ID, owner); err != nil {
			return err
		}
		t.audit(actor, "workspace", w.ID, "create")
		return t.set(prefixAPIKey+k.ID, k)
	})
	if err != nil {
		release()
		s.rdb.SRem(context.WithoutCancel(ctx), keyWorkspaces, w.ID)
		return Workspace{}, Created{}, err
	}
	return w, Created{Account: owner, Key: k.APIKey, Secret: secret}, nil
}

// GetWorkspace returns workspace id, or ErrNotFound.
func (s *Store) GetWorkspace(ctx context.Context, id string) (Workspace, error) {
	var w Workspace
	if !ValidWorkspaceID(id) {
		return w, ErrNotFound
	}
	b, err := s.rdb.HGet(ctx, keyCfg(id), fieldWorkspace).Bytes()
	if errors.Is(err, redis.Nil) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, unavailable("get workspace", err)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return w, fmt.Errorf("decode workspace %s: %w", id, err)
	}
	return w, nil
}

// ValidWorkspaceID reports whether id could be a workspace id; anything else
// is not found without asking Redis.
func ValidWorkspaceID(id string) bool { return len(id) > 3 && id[:3] == "ws_" && ValidID(id) }

// ListWorkspaceIDs returns every workspace id, sorted.
func (s *Store) ListWorkspaceIDs(ctx context.Context) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, keyWorkspaces).Result()
	if err != nil {
		return nil, unavailable("list workspaces", err)
	}
	sort.Strings(ids)
	return ids, nil
}

// UpdateWorkspace applies fn to workspace id and stores the result when it
// validates. fn sees the current value and may return an error to abort.
func (s *Store) UpdateWorkspace(ctx context.Context, actor Principal, id string, fn func(*Workspace) error) (Workspace, error) {
	if !ValidWorkspaceID(id) {
		return Workspace{}, ErrNotFound
	}
	var out Workspace
	_, err := s.update(ctx, id, func(t *tx) error {
		w, err := t.workspace()
		if err != nil {
			return err
		}
		before, _ := json.Marshal(w)
		if err := fn(w); err != nil {
			return err
		}
		w.ID = id
		if err := w.Validate(); err != nil {
			return err
		}
		if after, _ := json.Marshal(w); string(after) == string(before) {
			out = *w
			return nil
		}
		w.UpdatedAt = s.now().UTC()
		out = *w
		t.audit(actor, "workspace", id, "update")
		return t.set(fieldWorkspace, w)
	})
	return out, err
}

var compareAndDeleteScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`)

// compareAndDelete removes field of a global index hash if it still holds want.
func compareAndDelete(ctx context.Context, rdb redis.Scripter, key, field, want string) error {
	if err := compareAndDeleteScript.Run(ctx, rdb, []string{key}, field, want).Err(); err != nil {
		return unavailable("release "+key, err)
	}
	return nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}
