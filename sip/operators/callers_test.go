package operators

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

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
