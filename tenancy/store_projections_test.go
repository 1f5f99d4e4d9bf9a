package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// callEvents appends the events an edge writes for one call of ws.
func callEvents(t *testing.T, s *tenancy.Store, ws, id, from, to, svc string, at time.Time, answered bool, talk time.Duration, extra ...string) {
	t.Helper()
	ctx := context.Background()
	add := func(typ string, at time.Time, data map[string]any) {
		b, _ := json.Marshal(data)
		if _, err := s.AppendEvent(ctx, ws, tenancy.Event{Type: typ, Time: at, CallID: id, Data: b}); err != nil {
			t.Fatalf("append %s: %v", typ, err)
		}
	}
	add(tenancy.EventCallStarted, at, map[string]any{"from": from, "to": to, "service_id": svc})
	talkMS := int64(0)
	if answered {
		add(tenancy.EventCallAnswered, at.Add(time.Second), map[string]any{"setup_ms": 1000})
		talkMS = talk.Milliseconds()
	}
	for _, typ := range extra {
		add(typ, at.Add(2*time.Second), map[string]any{})
	}
	add(tenancy.EventCallEnded, at.Add(time.Second+talk), map[string]any{"reason": "bye", "duration_ms": 1000 + talk.Milliseconds(), "talk_ms": talkMS})
}

func entity(t *testing.T, s *tenancy.Store, ws, kind, id string, v any) {
	t.Helper()
	b, err := s.Entity(context.Background(), ws, kind, id)
	if err != nil {
		t.Fatalf("entity %s/%s: %v", kind, id, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// TestProjections projects two workspaces' call events: each counts only
// its own, incrementally and after a rebuild alike, in the stored shape
// the console reads.
func TestProjections(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	a, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	const caller, line = "+13125550199", "+13125550110"
	t0 := time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	callEvents(t, s, a.ID, "call_a1", caller, line, "front-desk", t0, true, 90*time.Second)
	callEvents(t, s, a.ID, "call_a2", caller, line, "triage", t0.Add(time.Hour), true, 30*time.Second, tenancy.EventEscalationRequested, "call.transferred")
	callEvents(t, s, a.ID, "call_a3", "anonymous", line, "triage", t0.Add(2*time.Hour), false, 0)
	callEvents(t, s, b.ID, "call_b1", caller, line, "front-desk", t0, true, 10*time.Second)
	if _, err := s.AppendDomainEvent(ctx, a.ID, tenancy.Event{Type: "appointment.booked", Data: json.RawMessage(`{"caller":"+13125550199"}`)}); err != nil {
		t.Fatalf("domain event: %v", err)
	}
	for _, ws := range []string{a.ID, b.ID} {
		if _, err := s.Project(ctx, ws); err != nil {
			t.Fatalf("project: %v", err)
		}
	}
	check := func(t *testing.T) {
		var c tenancy.CallerEntity
		entity(t, s, a.ID, "callers", caller, &c)
		if c.Calls != 2 || c.TalkTimeSeconds != 120 || c.Escalations != 1 || c.Transfers != 1 || c.LastServiceID != "triage" ||
			c.LastCallAt == nil || !c.LastCallAt.Equal(t0.Add(time.Hour)) || len(c.RecentCalls) != 2 {
			t.Fatalf("caller of A: %+v", c)
		}
		if r := c.RecentCalls[0]; r.CallID != "call_a2" || r.DurationS != 31 || r.EndReason != "bye" || r.ServiceID != "triage" {
			t.Fatalf("newest recent call: %+v", r)
		}
		var raw map[string]any
		entity(t, s, a.ID, "callers", caller, &raw)
		for _, f := range []string{"id", "calls", "last_call_at", "talk_time_seconds", "escalations", "transfers", "last_service_id", "recent_calls"} {
			if _, ok := raw[f]; !ok {
				t.Fatalf("caller JSON without %s: %v", f, raw)
			}
		}
		var sv tenancy.ServiceEntity
		entity(t, s, a.ID, "services", "triage", &sv)
		if sv.Calls != 2 || sv.Answered != 1 || sv.AnswerRate != 0.5 || sv.Ended != 2 || sv.AverageDurationSeconds != 16 || sv.Escalations != 1 {
			t.Fatalf("service triage of A: %+v", sv)
		}
		var n tenancy.NumberEntity
		entity(t, s, a.ID, "numbers", line, &n)
		if n.Calls != 3 || n.ByHour[9] != 1 || n.ByHour[10] != 1 || n.ByHour[11] != 1 {
			t.Fatalf("number of A: %+v", n)
		}
		var cb tenancy.CallerEntity
		entity(t, s, b.ID, "callers", caller, &cb)
		if cb.Calls != 1 || cb.TalkTimeSeconds != 10 || len(cb.RecentCalls) != 1 || cb.RecentCalls[0].CallID != "call_b1" {
			t.Fatalf("B counts A's calls: %+v", cb)
		}
		if _, err := s.Entity(ctx, a.ID, "callers", "anonymous"); !errors.Is(err, tenancy.ErrNotFound) {
			t.Fatalf("anonymous caller projected: %v", err)
		}
	}
	t.Run("incremental", check)
	t.Run("applied once", func(t *testing.T) {
		if n, err := s.Project(ctx, a.ID); err != nil || n != 0 {
			t.Fatalf("second pass applied %d: %v", n, err)
		}
		check(t)
	})
	t.Run("rebuilt", func(t *testing.T) {
		if n, err := s.RebuildProjections(ctx, a.ID); err != nil || n < 10 {
			t.Fatalf("rebuild read %d: %v", n, err)
		}
		check(t)
	})
	t.Run("recent calls keep the last ten", func(t *testing.T) {
		for i := range 12 {
			callEvents(t, s, b.ID, fmt.Sprintf("call_r%02d", i), "+13125550177", line, "front-desk", t0.Add(time.Duration(i)*time.Minute), true, time.Second)
		}
		if _, err := s.Project(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		var c tenancy.CallerEntity
		entity(t, s, b.ID, "callers", "+13125550177", &c)
		if c.Calls != 12 || len(c.RecentCalls) != 10 || c.RecentCalls[0].CallID != "call_r11" || c.RecentCalls[9].CallID != "call_r02" {
			t.Fatalf("recent calls: %d %+v", c.Calls, c.RecentCalls)
		}
	})
	t.Run("list", func(t *testing.T) {
		items, next, err := s.ListEntities(ctx, a.ID, "services", "", 1)
		if err != nil || len(items) != 1 || next != "front-desk" {
			t.Fatalf("list: %s %q %v", items, next, err)
		}
	})
	t.Run("deleted with the workspace", func(t *testing.T) {
		if err := s.DeleteWorkspace(ctx, tenancy.PlatformPrincipal, a.ID); err != nil {
			t.Fatal(err)
		}
		keys, err := s.Client().Keys(ctx, "{ws:"+a.ID+"}*").Result()
		if err != nil || len(keys) != 1 || keys[0] != "{ws:"+a.ID+"}:deleted" {
			t.Fatalf("left behind: %v %v (only the tombstone may stay)", keys, err)
		}
		if _, err := s.Project(ctx, a.ID); !errors.Is(err, tenancy.ErrNotFound) {
			t.Fatalf("project a deleted workspace: %v", err)
		}
	})
}

// TestDomainEventsBadInput refuses bad types and data, naming the field,
// and writes nothing.
func TestDomainEventsBadInput(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	deep := strings.Repeat(`{"a":`, 9) + "1" + strings.Repeat("}", 9)
	tests := []struct {
		name, typ, data string
		field           string
		tooLarge        bool
	}{
		{"ok", "appointment.booked", `{"slot":"2026-03-02T09:00:00Z"}`, "", false},
		{"ok without data", "patient.message_taken", "", "", false},
		{"call.", "call.ended", `{}`, "type", false},
		{"operator.", "operator.joined", `{}`, "type", false},
		{"config.", "config.changed", `{}`, "type", false},
		{"call_context.", "call_context.read", `{}`, "type", false},
		{"not dotted", "booked", `{}`, "type", false},
		{"uppercase", "Appointment.Booked", `{}`, "type", false},
		{"empty word", "appointment..booked", `{}`, "type", false},
		{"too long", "a." + strings.Repeat("b", 70), `{}`, "type", false},
		{"array data", "appointment.booked", `[1,2]`, "data", false},
		{"deep data", "appointment.booked", deep, "data", false},
		{"large data", "appointment.booked", `{"x":"` + strings.Repeat("a", 17<<10) + `"}`, "data", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.Client().XLen(ctx, "{ws:"+w.ID+"}:events").Result()
			_, err := s.AppendDomainEvent(ctx, w.ID, tenancy.Event{Type: tc.typ, Data: json.RawMessage(tc.data)})
			after, _ := s.Client().XLen(ctx, "{ws:"+w.ID+"}:events").Result()
			if tc.field == "" {
				if err != nil || after != before+1 {
					t.Fatalf("valid event: %v (%d -> %d)", err, before, after)
				}
				return
			}
			var ve *tenancy.ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || errors.Is(err, tenancy.ErrTooLarge) != tc.tooLarge {
				t.Fatalf("error %v, want one naming %s (too large: %v)", err, tc.field, tc.tooLarge)
			}
			if after != before {
				t.Fatalf("a refused event was written")
			}
		})
	}
	if _, err := s.AppendDomainEvent(ctx, "ws_doesnotexist0000", tenancy.Event{Type: "a.b"}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("event of a missing workspace: %v", err)
	}
}

// TestTrimEvents drops events older than the workspace's retention.
func TestTrimEvents(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithClock(func() time.Time { return now }))
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	if n, err := s.TrimEvents(ctx, w.ID); err != nil || n != 0 {
		t.Fatalf("trim without retention: %d %v", n, err)
	}
	if _, err := s.UpdateWorkspace(ctx, tenancy.PlatformPrincipal, w.ID, func(ws *tenancy.Workspace) error {
		ws.Settings.EventRetentionDays = 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Client().XLen(ctx, "{ws:"+w.ID+"}:events").Result()
	now = now.Add(49 * time.Hour)
	if n, err := s.TrimEvents(ctx, w.ID); err != nil || n != before {
		t.Fatalf("trim: %d of %d, %v", n, before, err)
	}
}
