package tenancy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestStoreCaller reads caller entities written in the storage contract's
// shape into a real redis-server: one caller, a caller without an entity
// (the first call), another workspace's caller never, a corrupt entity an
// error, and Redis gone ErrUnavailable.
func TestStoreCaller(t *testing.T) {
	r := tenancytest.StartRedis(t)
	rdb := r.Client(t)
	ctx := context.Background()
	const entity = `{"id":"+15550001111","calls":3,"last_call_at":"2026-11-30T15:04:05Z","talk_time_seconds":412,
		"escalations":1,"transfers":0,"last_service_id":"agent",
		"recent_calls":[{"call_id":"call_a1","started_at":"2026-11-30T15:00:00Z","duration_s":245,"service_id":"agent","end_reason":"trunk_hangup"}]}`
	if err := rdb.HSet(ctx, "{ws:ws_alpha}:entities:callers", "+15550001111", entity, "+15550002222", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	c := r.Store(t)

	t.Run("known caller", func(t *testing.T) {
		e, ok, err := c.Caller(ctx, "ws_alpha", "+15550001111")
		if err != nil || !ok {
			t.Fatalf("ok %v err %v", ok, err)
		}
		want := time.Date(2026, 11, 30, 15, 4, 5, 0, time.UTC)
		if e.ID != "+15550001111" || e.Calls != 3 || e.TalkTimeSeconds != 412 || e.Escalations != 1 || e.LastServiceID != "agent" ||
			e.LastCallAt == nil || !e.LastCallAt.Equal(want) || len(e.RecentCalls) != 1 || e.RecentCalls[0].CallID != "call_a1" ||
			e.RecentCalls[0].DurationS != 245 || e.RecentCalls[0].EndReason != "trunk_hangup" {
			t.Fatalf("entity %+v", e)
		}
	})
	t.Run("first call", func(t *testing.T) {
		if _, ok, err := c.Caller(ctx, "ws_alpha", "+15559999999"); ok || err != nil {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
	t.Run("another workspace's caller", func(t *testing.T) {
		if _, ok, err := c.Caller(ctx, "ws_beta", "+15550001111"); ok || err != nil {
			t.Fatalf("ok %v err %v", ok, err)
		}
	})
	t.Run("corrupt entity", func(t *testing.T) {
		if _, _, err := c.Caller(ctx, "ws_alpha", "+15550002222"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("redis gone", func(t *testing.T) {
		r.Stop()
		if _, _, err := c.Caller(ctx, "ws_alpha", "+15550001111"); !errors.Is(err, tenancy.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
	})
}
