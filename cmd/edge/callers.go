package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/sip/operators"
	"github.com/voiceedge/edge/tenancy"
)

// redisCallers reads the world model's caller projections for the
// operator console (operators.Callers). The control plane writes them:
// hash {ws:<id>}:entities:callers, field the caller's E.164 number, value
// the entity's JSON (design section 12). The edge only reads them.
type redisCallers struct {
	rdb redis.UniversalClient
}

var _ operators.Callers = redisCallers{}

// callersKey is the hash of workspace ws's caller entities.
func callersKey(ws string) string { return "{ws:" + ws + "}:entities:callers" }

// Caller reads the entity of number in workspace ws; a number without one
// is ok=false (the caller's first call).
func (c redisCallers) Caller(ctx context.Context, ws, number string) (operators.CallerEntity, bool, error) {
	var e operators.CallerEntity
	b, err := c.rdb.HGet(ctx, callersKey(ws), number).Bytes()
	if errors.Is(err, redis.Nil) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("%w: read caller entity: %v", tenancy.ErrUnavailable, err)
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, false, fmt.Errorf("decode caller entity of workspace %s: %w", ws, err)
	}
	return e, true, nil
}
