package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

// Caller returns the caller entity of number in workspace ws; ok is false
// when there is none (the caller's first call). The operator console reads
// it through the edge (sip/operators Callers).
func (s *Store) Caller(ctx context.Context, ws, number string) (e CallerEntity, ok bool, err error) {
	raw, err := s.Entity(ctx, ws, EntityCallers, number)
	if errors.Is(err, ErrNotFound) {
		return e, false, nil
	}
	if err != nil {
		return e, false, err
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, false, fmt.Errorf("decode caller entity of workspace %s: %w", ws, err)
	}
	return e, true, nil
}
