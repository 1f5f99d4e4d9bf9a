package operators

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestConsoleAPICaller: the caller route reads the projection of the
// call's caller from the key's own workspace; another workspace's key gets
// the 404 of a call that does not exist, byte for byte.
func TestConsoleAPICaller(t *testing.T) {
	e := newIsolationEnv(t)
	s := e.node.store
	putCaller(t, s, e.a.id, "+15550001111", map[string]any{
		"id": "+15550001111", "calls": 3, "last_call_at": "2026-11-30T15:04:05Z", "talk_time_seconds": 412,
		"escalations": 1, "transfers": 0, "last_service_id": "agent",
		"recent_calls": []map[string]any{
			{"call_id": e.call, "started_at": "2026-12-01T10:00:00Z", "duration_s": 0, "service_id": "agent", "end_reason": ""},
			{"call_id": "call_prev1", "started_at": "2026-11-30T15:00:00Z", "duration_s": 245, "service_id": "agent", "end_reason": "trunk_hangup"},
		},
	})
	// B knows the same number: A must never see B's entity.
	putCaller(t, s, e.b.id, "+15550001111", map[string]any{"id": "+15550001111", "calls": 7, "escalations": 5, "recent_calls": []any{}})
	url := func(call string) string { return e.node.baseURL + "/v1/calls/" + call + "/caller" }

	t.Run("A's viewer reads A's entity", func(t *testing.T) {
		res := do(t, http.MethodGet, url(e.call), e.a.keys["viewer"], "", nil)
		var v callerView
		if res.status != 200 || json.Unmarshal(res.body, &v) != nil {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if !v.Identified || v.FirstCall || v.Entity.Calls != 3 || v.Entity.Escalations != 1 || v.Number != "+15550001111" ||
			len(v.PreviousCalls) != 1 || v.PreviousCalls[0].CallID != "call_prev1" || v.PreviousCalls[0].DurationS != 245 {
			t.Fatalf("%+v", v)
		}
	})
	t.Run("a caller without an entity is a first call", func(t *testing.T) {
		if err := s.Client().Del(context.Background(), "{ws:"+e.b.id+"}:entities:callers").Err(); err != nil {
			t.Fatal(err)
		}
		bCall := e.node.addCall(t, e.b.id, e.node.id)
		res := do(t, http.MethodGet, url(bCall), e.b.keys["member"], "", nil)
		var v callerView
		if res.status != 200 || json.Unmarshal(res.body, &v) != nil {
			t.Fatalf("%d %s", res.status, res.body)
		}
		if !v.Identified || !v.FirstCall || v.Entity.Calls != 0 || v.Entity.RecentCalls == nil || v.PreviousCalls == nil {
			t.Fatalf("%s", res.body)
		}
	})
	t.Run("a withheld number has no projection", func(t *testing.T) {
		rec := tenancy.CallRecord{ID: "call_" + randHex(8), WorkspaceID: e.a.id, ServiceID: "agent", From: "anonymous",
			To: "+15551230001", State: tenancy.CallAnswered, StartedAt: time.Now().UTC(), NodeID: e.node.id}
		if err := s.AdmitCall(context.Background(), rec, tenancy.Limits{}, time.Minute); err != nil {
			t.Fatal(err)
		}
		res := do(t, http.MethodGet, url(rec.ID), e.a.keys["member"], "", nil)
		if res.status != 200 || !strings.Contains(string(res.body), `"identified":false`) {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})
	t.Run("another workspace's keys: the 404 of no call", func(t *testing.T) {
		ref := do(t, http.MethodGet, url("call_0000000000000000"), e.a.keys["owner"], "", nil)
		if ref.status != http.StatusNotFound {
			t.Fatalf("reference: %d %s", ref.status, ref.body)
		}
		for _, role := range roles {
			res := do(t, http.MethodGet, url(e.call), e.b.keys[role], "", nil)
			if res.status != http.StatusNotFound || !bytes.Equal(res.body, ref.body) {
				t.Fatalf("%s of B: %d %s, want %s", role, res.status, res.body, ref.body)
			}
		}
	})
	t.Run("no key", func(t *testing.T) {
		if res := do(t, http.MethodGet, url(e.call), "", "", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("%d", res.status)
		}
	})
}

// TestConsoleAPIWorkspace: a key reads its own workspace's name and
// environment, and there is no path that names another one.
func TestConsoleAPIWorkspace(t *testing.T) {
	e := newIsolationEnv(t)
	for _, tc := range []struct {
		name string
		ws   *testWorkspace
		key  string
		want string
	}{
		{name: "A's viewer", ws: e.a, key: "viewer", want: "Alpha"},
		{name: "B's member", ws: e.b, key: "member", want: "Beta"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, http.MethodGet, e.node.baseURL+"/v1/workspace", tc.ws.keys[tc.key], "", nil)
			var v workspaceView
			if res.status != 200 || json.Unmarshal(res.body, &v) != nil {
				t.Fatalf("%d %s", res.status, res.body)
			}
			if v.ID != tc.ws.id || v.Name != tc.want || v.Environment != tenancy.EnvStaging || v.Account.ID != tc.ws.accounts[tc.key] || string(v.Account.Role) != tc.key {
				t.Fatalf("%+v", v)
			}
		})
	}
	t.Run("B's key naming A's workspace: the 404 of nothing", func(t *testing.T) {
		ref := do(t, http.MethodGet, e.node.baseURL+"/v1/workspaces/ws_doesnotexist", e.b.keys["owner"], "", nil)
		for _, path := range []string{"/v1/workspaces/" + e.a.id, "/v1/workspace/" + e.a.id} {
			res := do(t, http.MethodGet, e.node.baseURL+path, e.b.keys["owner"], "", nil)
			if res.status != http.StatusNotFound || !bytes.Equal(res.body, ref.body) {
				t.Fatalf("%s: %d %s", path, res.status, res.body)
			}
		}
	})
	t.Run("no key", func(t *testing.T) {
		if res := do(t, http.MethodGet, e.node.baseURL+"/v1/workspace", "", "", nil); res.status != http.StatusUnauthorized {
			t.Fatalf("%d", res.status)
		}
	})
}

// TestConsoleAPILevels: an operator on a call follows the levels of its
// parties as Server-Sent Events; other workspaces get 404, viewers 403,
// and the stream ends when the operator leaves.
func TestConsoleAPILevels(t *testing.T) {
	e := newIsolationEnv(t)
	loc, _ := e.joinOK(t, e.a.keys["member"], "listen")
	url := e.node.baseURL + loc + "/levels"
	for _, tc := range []struct {
		name   string
		key    string
		status int
	}{
		{name: "B's owner", key: e.b.keys["owner"], status: 404},
		{name: "A's viewer", key: e.a.keys["viewer"], status: 403},
		{name: "A's other member", key: e.a.keys["outsider"], status: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := do(t, http.MethodGet, url, tc.key, "", nil); res.status != tc.status {
				t.Fatalf("%d %s", res.status, res.body)
			}
		})
	}
	sc := openLevels(t, url, e.a.keys["member"])
	// The pion operator says a 700 Hz tone at about -27 dBFS; the call's
	// legs are silent.
	ev := nextLevels(t, sc, func(ev levelsEvent) bool { return len(ev.Operators) == 1 && ev.Operators[0].DBFS > -35 })
	if ev.OperatorID != lastSegment(loc) || ev.Caller > -80 || ev.Agent > -80 || ev.Operators[0].Mode != "listen" {
		t.Fatalf("%+v", ev)
	}
	if r := do(t, http.MethodDelete, e.node.baseURL+loc, e.a.keys["member"], "", nil); r.status != 204 {
		t.Fatalf("leave: %d", r.status)
	}
	closed := false
	for i := 0; i < 400 && sc.Scan(); i++ {
		if sc.Text() == "event: levels.closed" {
			closed = true
			break
		}
	}
	if !closed {
		t.Fatal("the stream did not end when the operator left")
	}
}

// openLevels opens a levels stream and returns its lines.
func openLevels(t *testing.T, url, key string) *bufio.Scanner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return bufio.NewScanner(res.Body)
}

// nextLevels reads levels events until one satisfies ok (at most 100).
func nextLevels(t *testing.T, sc *bufio.Scanner, ok func(levelsEvent) bool) levelsEvent {
	t.Helper()
	var ev levelsEvent
	for n := 0; n < 100 && sc.Scan(); {
		line, found := strings.CutPrefix(sc.Text(), "data: ")
		if !found {
			continue
		}
		n++
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if ok(ev) {
			return ev
		}
	}
	t.Fatalf("no such levels event; last %+v", ev)
	return ev
}

// TestConsoleAPILevelsForwarded: the levels stream of an operator on a
// call of another node is relayed as it streams.
func TestConsoleAPILevelsForwarded(t *testing.T) {
	r := tenancytest.StartRedis(t)
	a := newTestNode(t, r, nodeOptions{id: "node-a"})
	b := newTestNode(t, r, nodeOptions{id: "node-b"})
	ws := newTestWorkspace(t, a.store, "Alpha")
	call := a.addCall(t, ws.id, a.id)
	op := newPionOperator(t, true)
	res := do(t, http.MethodPost, b.baseURL+"/v1/calls/"+call+"/operators?mode=whisper", ws.keys["member"], "application/sdp", op.offer(t))
	if res.status != http.StatusCreated {
		t.Fatalf("join: %d %s", res.status, res.body)
	}
	op.accept(t, res.body)
	loc := res.header.Get("Location")
	sc := openLevels(t, b.baseURL+loc+"/levels", ws.keys["member"])
	first := nextLevels(t, sc, func(ev levelsEvent) bool { return len(ev.Operators) == 1 && ev.Operators[0].DBFS > -35 })
	second := nextLevels(t, sc, func(levelsEvent) bool { return true })
	if first.Operators[0].Mode != "whisper" || first.OperatorID != lastSegment(loc) || second.Time == first.Time {
		t.Fatalf("%+v then %+v", first, second)
	}
}

// TestConsoleAPIEscalationMode: an escalation may ask for a mode, which
// its event carries.
func TestConsoleAPIEscalationMode(t *testing.T) {
	e := newIsolationEnv(t)
	url := e.node.baseURL + "/v1/calls/" + e.call + "/escalations"
	res := do(t, http.MethodPost, url, e.a.keys["member"], "application/json", []byte(`{"reason":"x","mode":"shout"}`))
	if res.status != 422 || res.apiError(t).Field != "mode" {
		t.Fatalf("%d %s", res.status, res.body)
	}
	res = do(t, http.MethodPost, url, e.a.keys["member"], "application/json", []byte(`{"reason":"identity unclear","mode":"whisper"}`))
	if res.status != 202 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	waitEvent(t, e.node.store, e.a.id, tenancy.EventEscalationRequested, map[string]any{"reason": "identity unclear", "mode": "whisper"}, 3*time.Second)
}
