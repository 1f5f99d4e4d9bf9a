package tenancy

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Entity returns the JSON of entity id of kind (callers, services,
// numbers) of workspace ws, as the projections store it in the hash
// {ws:<id>}:entities:<kind>; ErrNotFound when there is none (or kind or
// ws is not one).
func (s *Store) Entity(ctx context.Context, ws, kind, id string) (json.RawMessage, error) {
	if !ValidWorkspaceID(ws) || !ValidEntityKind(kind) || id == "" || len(id) > 64 {
		return nil, ErrNotFound
	}
	b, err := s.rdb.HGet(ctx, keyEntities(ws, kind), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, unavailable("get entity", err)
	}
	return json.RawMessage(b), nil
}
