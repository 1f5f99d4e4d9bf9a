package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestCallTokenWithAdmissionAndEnd: the token issued in the admission's
// script is IssueCallToken's (it authenticates, for its ttl), and only a
// call admitted gets one; the end's script ends it as EndCallToken does,
// and an end sent again, or without a token, touches none.
func TestCallTokenWithAdmissionAndEnd(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t)
	edge := newEdgeStore(t, r)
	rdb := r.Client(t)
	tokenKeys := func(ws string) int {
		keys, _ := rdb.Keys(ctx, "{ws:"+ws+"}:calltoken:*").Result()
		return len(keys)
	}
	started := tenancy.Event{Type: tenancy.EventCallStarted, Data: []byte(`{}`)}
	ended := tenancy.Event{Type: tenancy.EventCallEnded, Data: []byte(`{"reason":"trunk_hangup"}`)}
	end := func(rec tenancy.CallRecord) tenancy.CallRecord {
		now := time.Now().UTC()
		rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &now, "trunk_hangup"
		return rec
	}
	for _, tc := range []struct {
		name   string
		limits tenancy.Limits
		busy   bool // a call holds the workspace's one slot
		delete bool // the workspace is deleted before the admission
		want   error
	}{
		{name: "admitted", limits: tenancy.Limits{MaxConcurrentCalls: 1}},
		{name: "at the concurrent limit", limits: tenancy.Limits{MaxConcurrentCalls: 1}, busy: true, want: tenancy.ErrLimit},
		{name: "workspace deleted", delete: true, want: tenancy.ErrDeleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
			rec := tenancy.CallRecord{ID: "call_1", WorkspaceID: w.ID, ServiceID: "front-desk", State: tenancy.CallRinging, StartedAt: time.Now().UTC(), NodeID: "n1"}
			if tc.busy {
				other := rec
				other.ID = "call_0"
				if err := edge.AdmitCall(ctx, other, tc.limits, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if tc.delete {
				if err := admin.DeleteWorkspace(ctx, tenancy.PlatformPrincipal, w.ID); err != nil {
					t.Fatal(err)
				}
			}
			token, err := edge.AdmitCallEventToken(ctx, rec, tc.limits, time.Minute, "adm", started, time.Hour)
			if !errors.Is(err, tc.want) {
				t.Fatalf("admit: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if token != "" || tokenKeys(w.ID) != 0 {
					t.Fatalf("a call not admitted got a token (%q, %d keys)", token, tokenKeys(w.ID))
				}
				return
			}
			p, err := admin.AuthenticateCallToken(ctx, token)
			if err != nil || p.CallID != rec.ID || p.ServiceID != rec.ServiceID || p.WorkspaceID != w.ID {
				t.Fatalf("authenticate the admission's token: %+v %v", p, err)
			}
			key := "{ws:" + w.ID + "}:calltoken:" + tenancy.HashKey(token)
			if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
				t.Fatalf("token ttl %v, want the hour asked", ttl)
			}
			if id, err := edge.EndCallEventToken(ctx, end(rec), "end", ended, tenancy.CallTokenHash(token)); err != nil || id == "" {
				t.Fatalf("end: %q %v", id, err)
			}
			if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > tenancy.CallTokenGrace {
				t.Fatalf("token ttl %v after the end, want at most the grace", ttl)
			}
			rdb.PExpire(ctx, key, time.Hour) // to see that a replay leaves it
			if id, err := edge.EndCallEventToken(ctx, end(rec), "end", ended, tenancy.CallTokenHash(token)); err != nil || id != "" {
				t.Fatalf("the end again: %q %v, want nothing written", id, err)
			}
			if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute {
				t.Fatalf("the end sent again shortened the token (%v)", ttl)
			}
			second := rec
			second.ID = "call_2"
			if err := edge.AdmitCall(ctx, second, tenancy.Limits{}, time.Minute); err != nil {
				t.Fatal(err)
			}
			for i, hash := range []string{"", "not-a-hash", strings.Repeat("A", 64)} {
				if _, err := edge.EndCallEventToken(ctx, end(second), "end2_"+strconv.Itoa(i), ended, hash); err != nil {
					t.Fatalf("end without a token (%q): %v", hash, err)
				}
			}
			if got, err := admin.GetCall(ctx, w.ID, second.ID); err != nil || got.State != tenancy.CallEnded {
				t.Fatalf("record of the call ended without a token: %+v %v", got, err)
			}
		})
	}
}

// TestAdmissionKeepsTheNewestRecords: admission drops the records of a
// workspace beyond the newest 10,000, the oldest first, as many as there
// are beyond.
func TestAdmissionKeepsTheNewestRecords(t *testing.T) {
	const max = 10_000
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t)
	edge := newEdgeStore(t, r)
	rdb := r.Client(t)
	for _, tc := range []struct {
		name   string
		before int // records there before
		admits int
	}{
		{name: "under the bound", before: 10, admits: 3},
		{name: "at the bound", before: max, admits: 3},
		{name: "far over the bound", before: max + 1200, admits: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
			calls, idx := "{ws:"+w.ID+"}:calls", "{ws:"+w.ID+"}:callidx"
			_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := range tc.before {
					id := "old_" + strconv.Itoa(i)
					p.HSet(ctx, calls, id, `{"id":"`+id+`"}`)
					p.ZAdd(ctx, idx, redis.Z{Score: float64(1_000_000 + i), Member: id})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.admits {
				rec := tenancy.CallRecord{ID: fmt.Sprintf("new_%d", i), WorkspaceID: w.ID, State: tenancy.CallRinging,
					StartedAt: time.Now().UTC().Add(time.Duration(i) * time.Millisecond), NodeID: "n1"}
				if err := edge.AdmitCall(ctx, rec, tenancy.Limits{}, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			want := min(max, tc.before+tc.admits)
			if n, m := rdb.HLen(ctx, calls).Val(), rdb.ZCard(ctx, idx).Val(); n != int64(want) || m != int64(want) {
				t.Fatalf("%d records, %d indexed, want %d", n, m, want)
			}
			dropped := tc.before + tc.admits - want
			for i := range tc.before {
				id := "old_" + strconv.Itoa(i)
				if kept := rdb.HExists(ctx, calls, id).Val(); kept != (i >= dropped) {
					t.Fatalf("record %s kept %v, want the oldest %d dropped", id, kept, dropped)
				}
			}
			for i := range tc.admits {
				if !rdb.HExists(ctx, calls, fmt.Sprintf("new_%d", i)).Val() {
					t.Fatalf("the admitted call new_%d has no record", i)
				}
			}
		})
	}
}

// TestEventOnceKeysBounded: the once keys of a workspace keep the newest
// 10,000 and at most a few more (a trim one write in a few), each scored
// with the time of its event's id.
func TestEventOnceKeysBounded(t *testing.T) {
	const keep, writes = 10_000, 300
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t)
	edge := newEdgeStore(t, r)
	rdb := r.Client(t)
	w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	once := "{ws:" + w.ID + "}:evonce"
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range keep {
			p.ZAdd(ctx, once, redis.Z{Score: float64(1_000 + i), Member: "old_" + strconv.Itoa(i)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := tenancy.Event{Type: tenancy.EventCallEnded, CallID: "call_1", Data: []byte(`{}`)}
	for i := range writes {
		key := "new_" + strconv.Itoa(i)
		id, err := edge.AppendEventOnce(ctx, w.ID, key, e)
		if err != nil || id == "" {
			t.Fatalf("write %d: %q %v", i, id, err)
		}
		ms, _, _ := strings.Cut(id, "-")
		if score := rdb.ZScore(ctx, once, key).Val(); strconv.FormatFloat(score, 'f', -1, 64) != ms {
			t.Fatalf("key %s scored %v, want its event's time %s", key, score, ms)
		}
	}
	n := rdb.ZCard(ctx, once).Val()
	if n < keep || n >= keep+writes {
		t.Fatalf("%d keys kept after %d writes, want %d and a few more (trimmed)", n, writes, keep)
	}
	for i := range writes {
		if _, err := rdb.ZScore(ctx, once, "new_"+strconv.Itoa(i)).Result(); err != nil {
			t.Fatalf("newest key new_%d: %v, want it kept", i, err)
		}
	}
	if _, err := rdb.ZScore(ctx, once, "old_0").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("the oldest key: %v, want it trimmed", err)
	}
}
