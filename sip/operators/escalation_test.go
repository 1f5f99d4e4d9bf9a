package operators

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestEscalationAPI: a member asks for a human on a call of its workspace;
// the request lands in that workspace's stream only.
func TestEscalationAPI(t *testing.T) {
	e := newIsolationEnv(t)
	ended := e.node.addCall(t, e.a.id, e.node.id)
	e.node.endCall(t, e.a.id, ended)
	cases := []struct {
		name, call, key, ct, body string
		status                    int
		field                     string
	}{
		{name: "member", key: "member", ct: "application/json", body: `{"reason":"caller asks for a nurse"}`, status: 202},
		{name: "no reason", key: "owner", ct: "application/json", body: `{}`, status: 202},
		{name: "viewer", key: "viewer", ct: "application/json", body: `{"reason":"x"}`, status: 403},
		{name: "reason too long", key: "member", ct: "application/json", body: `{"reason":"` + strings.Repeat("x", 2000) + `"}`, status: 422, field: "reason"},
		{name: "reason not a string", key: "member", ct: "application/json", body: `{"reason":5}`, status: 422, field: "reason"},
		{name: "not JSON", key: "member", ct: "text/plain", body: `help`, status: 415},
		{name: "ended call", call: ended, key: "member", ct: "application/json", body: `{"reason":"x"}`, status: 409},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := tc.call
			if call == "" {
				call = e.call
			}
			res := do(t, http.MethodPost, e.node.baseURL+"/v1/calls/"+call+"/escalations", e.a.keys[tc.key], tc.ct, []byte(tc.body))
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if tc.field != "" && res.apiError(t).Field != tc.field {
				t.Fatalf("field: %s", res.body)
			}
		})
	}
	got := waitEvent(t, e.node.store, e.a.id, tenancy.EventEscalationRequested, map[string]any{
		"reason": "caller asks for a nurse", "source": "api", "account_id": e.a.accounts["member"], "call_id": e.call}, 3*time.Second)
	if got == nil {
		t.Fatal("no event")
	}
	if n := len(events(t, e.node.store, e.a.id, tenancy.EventEscalationRequested)); n != 2 {
		t.Fatalf("%d escalation events, want 2", n)
	}
	if n := len(events(t, e.node.store, e.b.id, tenancy.EventEscalationRequested)); n != 0 {
		t.Fatalf("B has %d escalation events", n)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	id, name string
	data     map[string]any
}

// openStream opens the event stream with key and returns its events as
// they come.
func openStream(t *testing.T, url, key string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ch := make(chan sseEvent, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.data)
			}
		}
	}()
	t.Cleanup(func() { cancel(); res.Body.Close(); <-done })
	return ch, res
}

// TestEventStream: the stream carries the key's workspace's call and
// operator events, nothing of another workspace and no configuration
// audit, and ends when the key is revoked.
func TestEventStream(t *testing.T) {
	e := newIsolationEnv(t)
	ctx := context.Background()
	ch, res := openStream(t, e.node.baseURL+"/v1/events/stream", e.a.keys["viewer"])
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	add := func(ws, typ, call string) {
		if _, err := e.node.store.AppendEvent(ctx, ws, tenancy.Event{Type: typ, CallID: call, Data: json.RawMessage(`{"reason":"` + typ + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	add(e.b.id, tenancy.EventEscalationRequested, "call_of_b")
	e.a.setOperatorConfig(t, e.node.store, nil, []string{"listen"}) // config.changed in A
	add(e.a.id, tenancy.EventCallStarted, e.call)
	add(e.a.id, tenancy.EventEscalationRequested, e.call)

	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended early after %v", got)
			}
			if ev.data["call_id"] == "call_of_b" || !strings.HasPrefix(ev.name, "call.") && !strings.HasPrefix(ev.name, "operator.") {
				t.Fatalf("unexpected event %+v", ev)
			}
			got = append(got, ev.name)
		case <-timeout:
			t.Fatalf("events so far: %v", got)
		}
	}
	if got[0] != tenancy.EventCallStarted || got[1] != tenancy.EventEscalationRequested {
		t.Fatalf("events %v", got)
	}

	t.Run("revoked key ends the stream", func(t *testing.T) {
		if err := e.node.store.RevokeAPIKey(ctx, tenancy.PlatformPrincipal, e.a.id, e.a.keyIDs["viewer"], ""); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(5 * time.Second)
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return
				}
				if ev.name == "stream.closed" {
					continue
				}
			case <-deadline:
				t.Fatal("stream still open after the key was revoked")
			}
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		if r := do(t, http.MethodGet, e.node.baseURL+"/v1/events/stream", "edk_"+randHex(32), "", nil); r.status != 401 {
			t.Fatalf("%d", r.status)
		}
	})
}
