package operators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
)

// redisCallers reads caller entities from the hash of the storage
// contract, as cmd/edge's adapter does (cmd/edge/callers.go, tested there
// on its own), so that the tests of this package read what a test wrote
// into a real redis-server.
type redisCallers struct{ rdb redis.UniversalClient }

var _ Callers = redisCallers{}

func (c redisCallers) Caller(ctx context.Context, ws, number string) (CallerEntity, bool, error) {
	var e CallerEntity
	b, err := c.rdb.HGet(ctx, "{ws:"+ws+"}:entities:callers", number).Bytes()
	if errors.Is(err, redis.Nil) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("%w: %v", tenancy.ErrUnavailable, err)
	}
	return e, true, json.Unmarshal(b, &e)
}

// putCaller writes the entity of number into ws's caller projections, in
// the contract's shape: hash {ws:<id>}:entities:callers, field the E.164
// number, value the JSON object.
func putCaller(t *testing.T, s *tenancy.Store, ws, number string, entity map[string]any) {
	t.Helper()
	b, err := json.Marshal(entity)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client().HSet(context.Background(), "{ws:"+ws+"}:entities:callers", number, b).Err(); err != nil {
		t.Fatal(err)
	}
}
