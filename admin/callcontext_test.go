package admin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// issueToken admits call id of ws and issues its token, as the edge does.
func (e *testEnv) issueToken(t *testing.T, ws, id string) string {
	t.Helper()
	e.admitCall(t, ws, id)
	tok, err := e.store.IssueCallToken(context.Background(), ws, id, "svc-main", time.Hour)
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return tok
}

// endCall writes the final record of call id of ws, ended at ended.
func (e *testEnv) endCall(t *testing.T, ws, id string, ended time.Time) {
	t.Helper()
	rec, err := e.store.GetCall(context.Background(), ws, id)
	if err != nil {
		t.Fatal(err)
	}
	rec.State, rec.EndedAt = tenancy.CallEnded, &ended
	if err := e.store.EndCall(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

// TestCallContext reads and writes with call tokens: exactly the call's
// context, credentials only where released, nothing of another workspace,
// nothing after the call's end plus 60 s.
func TestCallContext(t *testing.T) {
	env := newTestEnv(t)
	a := env.newWorkspace(t, tenancy.EnvDevelopment)
	b := env.newWorkspace(t, tenancy.EnvDevelopment)
	owner := a.keys["owner"]
	env.must(t, 201, "POST", a.path("/services"), owner, map[string]any{"id": "svc-main", "name": "Front desk", "target": "sip:agent@10.0.0.5",
		"context_graph": map[string]any{"start": "greet"}, "agent_config": map[string]any{"language": "en-US"}})
	env.must(t, 200, "PUT", a.path("/voice-settings"), owner, map[string]any{"tts_voice": "alloy", "speed": 1.1})
	env.must(t, 200, "PUT", a.path("/operator-config"), owner, map[string]any{"modes": []string{"listen"}})
	env.must(t, 201, "POST", a.path("/safety-policies"), owner, itemBody("safety-policies", "sp-main"))
	env.must(t, 201, "POST", a.path("/data-sources"), owner, map[string]any{"id": "ehr", "kind": "fhir", "base_url": "https://ehr.example.org", "agent_access": true, "credentials": map[string]string{"token": "released-secret"}})
	env.must(t, 201, "POST", a.path("/data-sources"), owner, map[string]any{"id": "billing", "kind": "rest", "base_url": "https://billing.example.org", "credentials": map[string]string{"token": "withheld-secret"}})
	tokA := env.issueToken(t, a.id, "call_a")
	env.callEvent(t, a.id, "call_a", tenancy.EventCallStarted, map[string]any{"from": "+15557770000", "to": "+15550000001", "service_id": "svc-main"})
	env.issueToken(t, b.id, "call_b")

	t.Run("context", func(t *testing.T) {
		res := env.must(t, 200, "GET", "/v1/call-context", tokA, nil)
		var cc tenancy.CallContext
		res.decode(t, &cc)
		if cc.CallID != "call_a" || cc.WorkspaceID != a.id || cc.Environment != tenancy.EnvDevelopment || cc.Service == nil ||
			!strings.Contains(string(cc.Service.ContextGraph), "greet") || !strings.Contains(string(cc.Service.AgentConfig), "en-US") ||
			cc.VoiceSettings.TTSVoice != "alloy" || len(cc.SafetyPolicies) != 1 || len(cc.RegulationTemplates) != 1 ||
			len(cc.OperatorConfig.Modes) != 1 || len(cc.DataSources) != 2 || !strings.Contains(string(cc.Caller), `"call_a"`) {
			t.Fatalf("context %s", res.body)
		}
		for _, d := range cc.DataSources {
			switch d.ID {
			case "ehr":
				if d.Credentials["token"] != "released-secret" {
					t.Fatalf("released credentials missing: %+v", d)
				}
			case "billing":
				if d.Credentials != nil {
					t.Fatalf("withheld credentials given to the agent: %+v", d)
				}
			}
		}
		if strings.Contains(string(res.body), "withheld-secret") {
			t.Fatalf("withheld secret in the context")
		}
	})
	t.Run("post an event", func(t *testing.T) {
		var e tenancy.Event
		env.must(t, 201, "POST", "/v1/call-context/events", tokA, map[string]any{"type": "appointment.booked", "data": map[string]any{"slot": "09:00"}}).decode(t, &e)
		if e.CallID != "call_a" || !strings.Contains(string(e.Actor), `"agent":true`) {
			t.Fatalf("event %+v", e)
		}
		env.must(t, 201, "POST", a.path("/events"), tokA, map[string]any{"type": "patient.message_taken"})
		evs, _, err := env.store.ListEvents(context.Background(), b.id, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.CallID == "call_a" {
				t.Fatalf("A's agent event in B")
			}
		}
	})
	refused := []struct {
		name, method, path, token string
		body                      any
		status                    int
	}{
		{"A's token on B's workspace", "GET", b.path(""), tokA, nil, 404},
		{"A's token posting to B's world model", "POST", b.path("/events"), tokA, map[string]any{"type": "appointment.booked"}, 404},
		{"A's token reading B's entities", "GET", b.path("/entities/callers"), tokA, nil, 404},
		{"A's token reading B's call", "GET", b.path("/calls/call_b"), tokA, nil, 404},
		{"A's token reading another call of A", "GET", a.path("/calls/call-other"), tokA, nil, 404},
		{"A's token reading A's data sources", "GET", a.path("/data-sources/billing"), tokA, nil, 404},
		{"A's token changing A", "PUT", a.path("/voice-settings"), tokA, map[string]any{"speed": 1}, 404},
		{"an API key on the call context", "GET", "/v1/call-context", owner, nil, 403},
		{"the platform token on the call context", "GET", "/v1/call-context", testPlatformToken, nil, 403},
		{"no token", "GET", "/v1/call-context", "", nil, 401},
		{"forged token", "GET", "/v1/call-context", tokA[:len(tokA)-4] + "abcd", nil, 401},
		{"token with B's prefix", "GET", "/v1/call-context", b.id + tokA[len(a.id):], nil, 401},
		{"bad event type", "POST", "/v1/call-context/events", tokA, map[string]any{"type": "call.ended"}, 422},
	}
	env.admitCall(t, a.id, "call-other")
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			beforeA, beforeB := env.stateOf(t, a.id), env.stateOf(t, b.id)
			res := env.must(t, tc.status, tc.method, tc.path, tc.token, tc.body)
			if res.apiErr(t).Code == "" {
				t.Fatalf("no error code: %s", res.body)
			}
			if env.stateOf(t, a.id) != beforeA || env.stateOf(t, b.id) != beforeB {
				t.Fatalf("a refused request wrote")
			}
		})
	}
	t.Run("ended call: grace, then 401", func(t *testing.T) {
		within := env.issueToken(t, a.id, "call_recent")
		env.endCall(t, a.id, "call_recent", time.Now().Add(-50*time.Second))
		env.must(t, 200, "GET", "/v1/call-context", within, nil)
		past := env.issueToken(t, a.id, "call_past")
		env.endCall(t, a.id, "call_past", time.Now().Add(-61*time.Second))
		before := env.stateOf(t, a.id)
		env.must(t, 401, "GET", "/v1/call-context", past, nil)
		env.must(t, 401, "POST", "/v1/call-context/events", past, map[string]any{"type": "appointment.booked"})
		if env.stateOf(t, a.id) != before {
			t.Fatalf("an ended call's token wrote")
		}
	})
}
