package tenancy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// BenchmarkCallWrites runs the call-state writes of one call (admitted,
// its token issued, answered, ended, its token shortened; each record
// with its event) against a real redis-server, as the edge wrote them
// before issue 13 (main: its scripts, kept in the test) and as the store
// writes them now (combined). One op is one call. It reports the round trips per
// call (the client's commands), the commands Redis ran per call (INFO
// commandstats: a script and every command in it) and Redis's CPU per
// call (INFO cpu, user and system), beside the time per call of one
// client writing calls one after another.
func BenchmarkCallWrites(b *testing.B) {
	r := tenancytest.StartRedis(b)
	for _, bc := range []struct {
		name string
		call func(ctx context.Context, s *tenancy.Store, rec tenancy.CallRecord) error
	}{
		{"main", mainCallWrites},
		{"combined", combinedCallWrites},
	} {
		var seq atomic.Int64 // across the runs of b.N
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			var trips atomic.Int64
			rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
			b.Cleanup(func() { rdb.Close() })
			rdb.AddHook(countHook{&trips})
			s := tenancy.NewStore(rdb)
			ws := "ws_bench" + bc.name
			call := func() {
				// A new call id each call: the events' once keys are the call's.
				rec := tenancy.CallRecord{ID: "call_" + strconv.FormatInt(seq.Add(1), 10), WorkspaceID: ws, State: tenancy.CallRinging,
					StartedAt: time.Now().UTC(), NodeID: "bench", ServiceID: "agent", From: "+15550001", To: "+15550002"}
				if err := bc.call(ctx, s, rec); err != nil {
					b.Fatal(err)
				}
			}
			call() // the scripts loaded, the connection made
			trips.Store(0)
			cmds0, cpu0 := redisCounters(b, r.Addr)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				call()
			}
			b.StopTimer()
			cmds1, cpu1 := redisCounters(b, r.Addr)
			n := float64(b.N)
			b.ReportMetric(float64(trips.Load())/n, "roundtrips/call")
			b.ReportMetric(float64(cmds1-cmds0)/n, "rediscmds/call")
			b.ReportMetric((cpu1-cpu0)*1e6/n, "redis-cpu-µs/call")
		})
	}
}

// mainCallWrites is a call's writes as the edge wrote them before issue
// 13: its scripts (store_call_events_bench_main_test.go) with their
// arguments, in five round trips: admission with call.started, the token,
// answer with call.answered, end with call.ended, the token's end.
func mainCallWrites(ctx context.Context, s *tenancy.Store, rec tenancy.CallRecord) error {
	rdb := s.Client()
	ws := rec.WorkspaceID
	tag := "{ws:" + ws + "}"
	const eventsMaxLen, eventOnceKeep = 100_000, 10_000
	eventArgs := func(once, typ string) []any {
		e := benchEvent(typ, rec.ID)
		return []any{once, eventOnceKeep, eventsMaxLen, "type", e.Type, "time", e.Time.UTC().Format(time.RFC3339Nano),
			"call_id", e.CallID, "data", string(e.Data)}
	}
	now := time.Now()
	b, _ := json.Marshal(rec)
	args := append([]any{now.UnixMilli(), now.Add(time.Minute).UnixMilli(), 0, 0, rec.ID, b, rec.StartedAt.UnixMilli(), 10_000,
		now.UTC().Format(time.RFC3339Nano), eventsMaxLen, 200}, eventArgs("s"+rec.ID, tenancy.EventCallStarted)...)
	keys := []string{tag + ":active", tag + ":cps:" + strconv.FormatInt(now.Unix(), 10), tag + ":calls", tag + ":callidx",
		tag + ":deleted", tag + ":events", tag + ":evonce"}
	if err := mainAdmitScript.Run(ctx, rdb, keys, args...).Err(); err != nil {
		return err
	}
	token := ws + "." + strings.Repeat("t", 43) + rec.ID
	tokenKey := tag + ":calltoken:" + tenancy.HashKey(token)
	ct, _ := json.Marshal(map[string]string{"call_id": rec.ID, "service_id": rec.ServiceID})
	if err := mainIssueTokenScript.Run(ctx, rdb, []string{tag + ":deleted", tokenKey}, ct, time.Hour.Milliseconds()).Err(); err != nil {
		return err
	}
	record := func(free string, once, typ string) error {
		b, _ := json.Marshal(rec)
		args := append([]any{rec.ID, b, free}, eventArgs(once, typ)...)
		keys := []string{tag + ":deleted", tag + ":calls", tag + ":events", tag + ":evonce", tag + ":active"}
		return mainRecordEventScript.Run(ctx, rdb, keys, args...).Err()
	}
	answered := time.Now().UTC()
	rec.State, rec.AnsweredAt = tenancy.CallAnswered, &answered
	if err := record("0", "a"+rec.ID, tenancy.EventCallAnswered); err != nil {
		return err
	}
	rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &answered, "trunk_hangup"
	if err := record("1", "e"+rec.ID, tenancy.EventCallEnded); err != nil {
		return err
	}
	return rdb.ExpireLT(ctx, tokenKey, tenancy.CallTokenGrace).Err()
}

// combinedCallWrites is a call's writes as the edge writes them now:
// three round trips, the token issued with the admission and ended with
// the end.
func combinedCallWrites(ctx context.Context, s *tenancy.Store, rec tenancy.CallRecord) error {
	token, err := s.AdmitCallEventToken(ctx, rec, tenancy.Limits{}, time.Minute, "s"+rec.ID, benchEvent(tenancy.EventCallStarted, rec.ID), time.Hour)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	rec.State, rec.AnsweredAt = tenancy.CallAnswered, &now
	if _, err := s.UpdateCallEvent(ctx, rec, "a"+rec.ID, benchEvent(tenancy.EventCallAnswered, rec.ID)); err != nil {
		return err
	}
	rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &now, "trunk_hangup"
	_, err = s.EndCallEventToken(ctx, rec, "e"+rec.ID, benchEvent(tenancy.EventCallEnded, rec.ID), tenancy.CallTokenHash(token))
	return err
}

func benchEvent(typ, id string) tenancy.Event {
	return tenancy.Event{Type: typ, Time: time.Now().UTC(), CallID: id,
		Data: []byte(`{"reason":"trunk_hangup","duration_ms":61000,"talk_ms":60000,"packets":{"a_received":3000,"b_received":3000}}`)}
}

// countHook counts the commands a client sends: its round trips.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisCounters reads the commands Redis has run (but INFO) and the CPU
// seconds it has used.
func redisCounters(b *testing.B, addr string) (cmds int64, cpu float64) {
	b.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats", "cpu").Result()
	if err != nil {
		b.Fatalf("INFO: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, val, ok := strings.Cut(line, ":")
		switch {
		case !ok:
		case strings.HasPrefix(name, "cmdstat_") && name != "cmdstat_info" && name != "cmdstat_hello" && !strings.HasPrefix(name, "cmdstat_client"):
			calls, _, _ := strings.Cut(strings.TrimPrefix(val, "calls="), ",")
			n, _ := strconv.ParseInt(calls, 10, 64)
			cmds += n
		case name == "used_cpu_user" || name == "used_cpu_sys":
			f, _ := strconv.ParseFloat(val, 64)
			cpu += f
		}
	}
	return cmds, cpu
}
