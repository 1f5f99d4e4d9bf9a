package admin

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestFollowerProjects serves the API and appends call events as an edge
// does (straight to the stream): the follower projects them with no API
// request. The retention setting is patched and validated.
func TestFollowerProjects(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.ProjectionInterval = 50 * time.Millisecond })
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	env.callEvent(t, fx.id, "call_f1", tenancy.EventCallStarted, map[string]any{"from": "+13125550199", "to": "+13125550110", "service_id": "front-desk"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := env.store.Entity(context.Background(), fx.id, "callers", "+13125550199"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the follower did not project the edge's event")
		}
		time.Sleep(20 * time.Millisecond)
	}
	env.must(t, 200, "PATCH", fx.path(""), fx.keys["owner"], map[string]any{"settings": map[string]any{"event_retention_days": 30}})
	var w tenancy.Workspace
	env.must(t, 200, "GET", fx.path(""), fx.keys["viewer"], nil).decode(t, &w)
	if w.Settings.EventRetentionDays != 30 {
		t.Fatalf("retention %d", w.Settings.EventRetentionDays)
	}
	e := env.must(t, 422, "PATCH", fx.path(""), fx.keys["owner"], map[string]any{"settings": map[string]any{"event_retention_days": -1}}).apiErr(t)
	if e.Field != "settings.event_retention_days" {
		t.Fatalf("field %q", e.Field)
	}
}
