package admin

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// entitiesOf is the stored projections of ws, to prove a request left
// them alone.
func (e *testEnv) entitiesOf(t *testing.T, ws string) string {
	t.Helper()
	var b strings.Builder
	for _, kind := range tenancy.EntityKinds {
		m, err := e.store.Client().HGetAll(context.Background(), "{ws:"+ws+"}:entities:"+kind).Result()
		if err != nil {
			t.Fatalf("entities: %v", err)
		}
		for k, v := range m {
			b.WriteString(kind + "/" + k + "=" + v + "\n")
		}
	}
	return b.String()
}

// TestWorldModel posts domain events as every role and with bad input,
// and reads the projections of two workspaces: each counts only its own
// events.
func TestWorldModel(t *testing.T) {
	env := newTestEnv(t)
	a := env.newWorkspace(t, tenancy.EnvDevelopment)
	b := env.newWorkspace(t, tenancy.EnvDevelopment)
	const caller = "+13125550199"
	for _, c := range []struct{ ws, id string }{{a.id, "call_a1"}, {a.id, "call_a2"}, {b.id, "call_b1"}} {
		env.callEvent(t, c.ws, c.id, tenancy.EventCallStarted, map[string]any{"from": caller, "to": "+13125550110", "service_id": "front-desk"})
		env.callEvent(t, c.ws, c.id, tenancy.EventCallAnswered, map[string]any{})
		env.callEvent(t, c.ws, c.id, tenancy.EventCallEnded, map[string]any{"reason": "bye", "duration_ms": 61000, "talk_ms": 60000})
	}
	env.callEvent(t, a.id, "call_a2", tenancy.EventEscalationRequested, map[string]any{}) // after its end: not counted

	t.Run("post as member", func(t *testing.T) {
		var e tenancy.Event
		env.must(t, 201, "POST", a.path("/events"), a.keys["member"], map[string]any{"type": "appointment.booked", "data": map[string]any{"caller": caller}}).decode(t, &e)
		if e.ID == "" || e.Type != "appointment.booked" || !strings.Contains(string(e.Actor), a.accounts["member"]) {
			t.Fatalf("event %+v", e)
		}
	})
	deep := strings.Repeat(`{"a":`, 9) + "1" + strings.Repeat("}", 9)
	bad := []struct {
		name   string
		key    string
		body   any
		status int
		field  string
	}{
		{"viewer", a.keys["viewer"], map[string]any{"type": "appointment.booked"}, 403, ""},
		{"call.*", a.keys["member"], map[string]any{"type": "call.ended"}, 422, "type"},
		{"operator.*", a.keys["member"], map[string]any{"type": "operator.joined"}, 422, "type"},
		{"config.*", a.keys["member"], map[string]any{"type": "config.changed"}, 422, "type"},
		{"call_context.*", a.keys["member"], map[string]any{"type": "call_context.read"}, 422, "type"},
		{"not dotted lowercase", a.keys["member"], map[string]any{"type": "Booked"}, 422, "type"},
		{"no type", a.keys["member"], map[string]any{"data": map[string]any{}}, 422, "type"},
		{"data not an object", a.keys["member"], `{"type":"appointment.booked","data":[1]}`, 422, "data"},
		{"deep data", a.keys["member"], `{"type":"appointment.booked","data":` + deep + `}`, 422, "data"},
		{"data over 16 KiB", a.keys["member"], `{"type":"appointment.booked","data":{"x":"` + strings.Repeat("a", 17<<10) + `"}}`, 413, "data"},
		{"body over 1 MiB", a.keys["member"], `{"type":"appointment.booked","data":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`, 413, ""},
		{"unknown field", a.keys["member"], `{"type":"appointment.booked","when":"now"}`, 400, ""},
		{"B's key", b.keys["owner"], map[string]any{"type": "appointment.booked"}, 404, ""},
	}
	for _, tc := range bad {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			before, ents := env.stateOf(t, a.id), env.entitiesOf(t, a.id)
			res := env.must(t, tc.status, "POST", a.path("/events"), tc.key, tc.body)
			if e := res.apiErr(t); e.Field != tc.field {
				t.Fatalf("field %q, want %q: %s", e.Field, tc.field, res.body)
			}
			if env.stateOf(t, a.id) != before || env.entitiesOf(t, a.id) != ents {
				t.Fatalf("a refused event wrote")
			}
		})
	}
	t.Run("projections per workspace", func(t *testing.T) {
		var c tenancy.CallerEntity
		env.must(t, 200, "GET", a.path("/entities/callers/"+url.PathEscape(caller)), a.keys["viewer"], nil).decode(t, &c)
		if c.Calls != 2 || c.TalkTimeSeconds != 120 || c.Escalations != 0 || len(c.RecentCalls) != 2 {
			t.Fatalf("caller of A: %+v", c)
		}
		var cb tenancy.CallerEntity
		env.must(t, 200, "GET", b.path("/entities/callers/"+url.PathEscape(caller)), b.keys["viewer"], nil).decode(t, &cb)
		if cb.Calls != 1 || len(cb.RecentCalls) != 1 || cb.RecentCalls[0].CallID != "call_b1" {
			t.Fatalf("B counts A's events: %+v", cb)
		}
		var page listPage[tenancy.ServiceEntity]
		env.must(t, 200, "GET", a.path("/entities/services"), a.keys["viewer"], nil).decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].Calls != 2 || page.Items[0].AnswerRate != 1 || page.Items[0].AverageDurationSeconds != 61 {
			t.Fatalf("services of A: %+v", page)
		}
		stored, err := env.store.Entity(context.Background(), a.id, "callers", caller)
		if err != nil || !strings.Contains(string(stored), `"recent_calls"`) {
			t.Fatalf("stored entity: %s %v", stored, err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{"/entities/patients", "/entities/callers/%2B19999999999", "/entities/callers/not-a-number", "/entities/services/nope"} {
			env.must(t, 404, "GET", a.path(p), a.keys["viewer"], nil)
		}
		env.must(t, 404, "GET", a.path("/entities/callers/"+url.PathEscape(caller)), b.keys["owner"], nil)
	})
	t.Run("rebuild", func(t *testing.T) {
		env.must(t, 403, "POST", a.path("/projections/rebuild"), a.keys["member"], nil)
		before := env.entitiesOf(t, a.id)
		var r rebuildResult
		env.must(t, 200, "POST", a.path("/projections/rebuild"), a.keys["admin"], nil).decode(t, &r)
		if r.Events < 8 || env.entitiesOf(t, a.id) != before {
			t.Fatalf("rebuild read %d events; same result: %v", r.Events, env.entitiesOf(t, a.id) == before)
		}
	})
}
