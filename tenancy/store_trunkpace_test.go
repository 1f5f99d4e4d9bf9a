package tenancy_test

import (
	"context"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestTrunkPaceHoldsAcrossNodes: two edge nodes (two stores, one of them
// as the edge's ACL user) dialling through one outbound trunk at 5 CPS get
// moments 200 ms apart, one sequence for both, refused beyond the queue of
// 2 s; the same trunk id in another workspace has a pace of its own.
func TestTrunkPaceHoldsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	rdb := r.EdgeClient(t)
	nodes := []*tenancy.Store{r.Store(t), tenancy.NewStore(rdb)}

	const ws, other = "ws_pace00000000000a", "ws_pace00000000000b"
	var last time.Duration = -1
	for i := 0; i < 11; i++ {
		wait, ok, err := nodes[i%2].TakeTrunkSlot(ctx, ws, "carrier-out", 5, 2*time.Second)
		if err != nil || !ok {
			t.Fatalf("dial %d: %v %v %v", i, wait, ok, err)
		}
		// One sequence for both nodes: each moment 200 ms after the last
		// (less the few ms the calls take).
		if last >= 0 && (wait < last+150*time.Millisecond || wait > last+200*time.Millisecond) {
			t.Fatalf("dial %d waits %v after %v: not 200 ms apart", i, wait, last)
		}
		last = wait
	}
	if wait, ok, err := nodes[0].TakeTrunkSlot(ctx, ws, "carrier-out", 5, 2*time.Second); err != nil || ok {
		t.Fatalf("a dial beyond the 2 s queue: %v %v %v, want refused", wait, ok, err)
	}
	if wait, ok, err := nodes[1].TakeTrunkSlot(ctx, other, "carrier-out", 5, 2*time.Second); err != nil || !ok || wait != 0 {
		t.Fatalf("another workspace's trunk of the same id: %v %v %v, want its own pace", wait, ok, err)
	}
	if _, _, err := nodes[0].TakeTrunkSlot(ctx, "not a workspace", "carrier-out", 5, time.Second); err == nil {
		t.Fatal("an invalid workspace id was paced")
	}
}
