package admin

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

// sseClient is an open event stream.
type sseClient struct {
	res    *http.Response
	lines  chan string
	cancel context.CancelFunc
}

// openStream opens the events of fx as Server-Sent Events.
func openStream(t *testing.T, env *testEnv, fx *fixture, key, lastEventID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", env.ts.URL+fx.path("/events"), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := env.ts.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("stream answer %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	c := &sseClient{res: res, lines: make(chan string, 100), cancel: cancel}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() { c.cancel(); c.res.Body.Close() }

// sseEvent is one event read from a stream.
type sseEvent struct {
	id, name string
	event    tenancy.Event
}

// next reads the next event (skipping comments), failing after 5s; ok is
// false when the stream ended.
func (c *sseClient) next(t *testing.T) (ev sseEvent, ok bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case line, open := <-c.lines:
			if !open {
				return ev, false
			}
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.event); err != nil {
					t.Fatalf("event data: %v", err)
				}
			case line == "" && ev.id != "":
				return ev, true
			}
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

// TestEventStream receives live events over SSE, resumes after
// Last-Event-ID, gets keepalives, and ends when the key is revoked or the
// client goes.
func TestEventStream(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	admin := fx.keys["admin"]

	s := openStream(t, env, fx, fx.keys["viewer"], "")
	env.must(t, 201, "POST", fx.path("/services"), admin, itemBody("services", "svc-live"))
	ev, ok := s.next(t)
	if !ok || ev.name != tenancy.EventConfigChanged || ev.event.ID != ev.id || !strings.Contains(string(ev.event.Data), "svc-live") {
		t.Fatalf("live event %+v (data %s)", ev, ev.event.Data)
	}
	first := ev.id
	env.must(t, 201, "POST", fx.path("/services"), admin, itemBody("services", "svc-two"))
	second, _ := s.next(t)

	t.Run("Last-Event-ID resumes", func(t *testing.T) {
		r := openStream(t, env, fx, fx.keys["viewer"], first)
		ev, ok := r.next(t)
		if !ok || ev.id != second.id {
			t.Fatalf("resumed at %+v, want %s", ev, second.id)
		}
	})
	t.Run("keepalive comments", func(t *testing.T) {
		deadline := time.After(3 * time.Second)
		for {
			select {
			case line := <-s.lines:
				if line == ": keepalive" {
					return
				}
			case <-deadline:
				t.Fatal("no keepalive")
			}
		}
	})
	t.Run("a revoked key loses the stream", func(t *testing.T) {
		m := openStream(t, env, fx, fx.keys["member"], "")
		env.must(t, 204, "DELETE", fx.path("/api-keys/"+fx.keyIDs["member"]), fx.keys["owner"], nil)
		deadline := time.After(5 * time.Second)
		for {
			select {
			case _, open := <-m.lines:
				if !open {
					return
				}
			case <-deadline:
				t.Fatal("stream of a revoked key still open")
			}
		}
	})
	t.Run("the stream ends when the client goes", func(t *testing.T) {
		s.close()
		deadline := time.Now().Add(5 * time.Second)
		for env.srv.streams.Open() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d streams still open on the server", env.srv.streams.Open())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("bad Last-Event-ID", func(t *testing.T) {
		r := env.must(t, 422, "GET", fx.path("/events"), admin, nil, "Accept", "text/event-stream", "Last-Event-ID", "nope")
		if r.apiErr(t).Field != "Last-Event-ID" {
			t.Fatalf("field: %s", r.body)
		}
	})
}

// TestStreamCapacity checks that streams beyond MaxStreams get 503 with
// Retry-After instead of exhausting Redis connections.
func TestStreamCapacity(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.MaxStreams = 1 })
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	openStream(t, env, fx, fx.keys["viewer"], "")
	r := env.must(t, 503, "GET", fx.path("/events"), fx.keys["viewer"], nil, "Accept", "text/event-stream")
	if r.header.Get("Retry-After") == "" || r.apiErr(t).Code != CodeStreamCapacityFull {
		t.Fatalf("%v %s", r.header, r.body)
	}
}

// TestAuditTrail checks that configuration, account and key changes are
// readable through GET events with who made them, and that the list pages.
func TestAuditTrail(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	owner := fx.keys["owner"]
	env.must(t, 200, "PATCH", "/v1/workspaces/"+fx.id, owner, map[string]any{"name": "Audited"})
	env.must(t, 201, "POST", fx.path("/services"), fx.keys["admin"], itemBody("services", "svc-a"))
	var k createdKey
	env.must(t, 201, "POST", fx.path("/api-keys"), fx.keys["member"], nil).decode(t, &k)
	env.must(t, 204, "DELETE", fx.path("/api-keys/"+k.ID), owner, nil)
	env.admitCall(t, fx.id, "call-1")
	env.must(t, 202, "POST", fx.path("/calls/call-1/hangup"), fx.keys["member"], nil)

	var all []tenancy.Event
	cursor := ""
	for range 20 {
		var p listPage[tenancy.Event]
		env.must(t, 200, "GET", fx.path("/events?limit=3&cursor="+cursor), fx.keys["viewer"], nil).decode(t, &p)
		all = append(all, p.Items...)
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	type audit struct {
		Actor struct {
			AccountID string `json:"account_id"`
			Platform  bool   `json:"platform"`
		} `json:"actor"`
		Kind, ID, Op string
	}
	want := map[string]string{ // kind/op -> actor account
		"workspace/create": "platform",
		"accounts/create":  fx.accounts["owner"],
		"workspace/update": fx.accounts["owner"],
		"services/create":  fx.accounts["admin"],
		"api-keys/create":  fx.accounts["member"],
		"api-keys/delete":  fx.accounts["owner"],
		"hangup/call-1":    fx.accounts["member"],
	}
	got := map[string]string{}
	for _, e := range all {
		var a audit
		_ = json.Unmarshal(e.Data, &a)
		actor := a.Actor.AccountID
		if a.Actor.Platform {
			actor = "platform"
		}
		switch e.Type {
		case tenancy.EventConfigChanged:
			got[a.Kind+"/"+a.Op] = actor
		case EventHangupRequested:
			got["hangup/"+e.CallID] = actor
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("audit %s by %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}
