package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestAdmissionAcrossALiveReshard moves a workspace's slot to another
// master while calls are admitted, with the production client
// (internal/redisaddr). While the slot's keys are split between the two
// masters the admission script gets TRYAGAIN: each admission then either
// succeeds or fails as unavailable (what the edge falls back on, sip's
// local share), never with another error and never half written; once
// the slot has moved, admissions succeed on the new master and every
// admitted call is there, records and slots alike.
func TestAdmissionAcrossALiveReshard(t *testing.T) {
	cl := tenancytest.StartCluster(t)
	a, err := redisaddr.Parse(cl.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redisaddr.NewClient(a, "reshard-test")
	t.Cleanup(func() { rdb.Close() })
	s := tenancy.NewStore(rdb)
	ctx := context.Background()
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	limits := tenancy.Limits{MaxConcurrentCalls: 1000}
	admitted := 0
	admit := func(i int) error {
		rec := tenancy.CallRecord{ID: fmt.Sprintf("call_%04d", i), WorkspaceID: w.ID, State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: "n1"}
		err := s.AdmitCall(ctx, rec, limits, time.Minute)
		if err == nil {
			admitted++
		}
		return err
	}
	if err := admit(0); err != nil {
		t.Fatal(err)
	}

	slot := cl.Slot("{ws:" + w.ID + "}:active")
	src := cl.MasterOf(slot)
	var dst *tenancytest.Node
	for _, n := range cl.Nodes {
		if n != src && isMaster(t, n) {
			dst = n
			break
		}
	}
	if dst == nil {
		t.Fatal("no other master")
	}
	srcC, dstC := nodeClient(t, src), nodeClient(t, dst)
	srcID, dstID := srcC.ClusterMyID(ctx).Val(), dstC.ClusterMyID(ctx).Val()
	must(t, dstC.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	must(t, srcC.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	host, port, _ := net.SplitHostPort(dst.Addr)
	// The slot set moves first: the workspace's keys are now split.
	must(t, srcC.Do(ctx, "MIGRATE", host, port, "{ws:"+w.ID+"}:active", 0, 5000).Err())

	calls := func(c *redis.Client) int64 { return c.HLen(ctx, "{ws:"+w.ID+"}:calls").Val() }
	before := calls(srcC)
	refused := 0
	for i := 1; i <= 5; i++ {
		switch err := admit(i); {
		case err == nil:
		case errors.Is(err, tenancy.ErrUnavailable):
			refused++
		default:
			t.Fatalf("admission %d while the slot is split: %v, want success or unavailable", i, err)
		}
	}
	if refused == 0 {
		t.Fatal("no admission met the split slot (TRYAGAIN): the test moved nothing?")
	}
	if got := calls(srcC); got != before+int64(5-refused) {
		t.Fatalf("records %d after %d refused of 5, from %d: a refused admission wrote", got, refused, before)
	}

	// The rest of the slot moves, and the slot is the new master's.
	for {
		keys := srcC.ClusterGetKeysInSlot(ctx, slot, 100).Val()
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		must(t, srcC.Do(ctx, args...).Err())
	}
	for _, c := range []*redis.Client{dstC, srcC} {
		must(t, c.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 100; ; i++ {
		err := admit(i)
		if err == nil {
			break
		}
		if !errors.Is(err, tenancy.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("admission after the move: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, err := s.ActiveCalls(ctx, w.ID); err != nil || n != int64(admitted) {
		t.Fatalf("active %d (%v), want the %d admitted", n, err, admitted)
	}
	if got := calls(dstC); got != int64(admitted) {
		t.Fatalf("records on the new master %d, want %d", got, admitted)
	}
	t.Logf("slot %d moved from %s to %s: %d of 5 admissions refused while split, all %d admitted calls kept", slot, src.Addr, dst.Addr, refused, admitted)
}

func nodeClient(t *testing.T, n *tenancytest.Node) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: n.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func isMaster(t *testing.T, n *tenancytest.Node) bool {
	info := nodeClient(t, n).Info(context.Background(), "replication").Val()
	return strings.Contains(info, "role:master\r\n")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
