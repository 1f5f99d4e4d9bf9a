package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestReadChangesWithoutWait: a wait of zero does not block on an empty
// stream (XREAD BLOCK 0 would wait forever).
func TestReadChangesWithoutWait(t *testing.T) {
	s := tenancytest.StartRedis(t).Store(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, wait := range []time.Duration{0, -time.Second} {
		t.Run(wait.String(), func(t *testing.T) {
			changes, err := s.ReadChanges(ctx, "0-0", wait)
			if err != nil || len(changes) != 0 {
				t.Fatalf("ReadChanges on an empty stream = %v, %v", changes, err)
			}
		})
	}
}
