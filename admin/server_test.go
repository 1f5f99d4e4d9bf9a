package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/tenancy"
)

// TestOpenAPIComplete proves that every served route is described and
// every described operation is served.
func TestOpenAPIComplete(t *testing.T) {
	env := newTestEnv(t)
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	env.must(t, 200, "GET", "/v1/openapi.json", "", nil).decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	described := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			described++
			method = strings.ToUpper(method)
			t.Run("served "+method+" "+path, func(t *testing.T) {
				concrete := strings.NewReplacer("{ws}", "ws_abc", "{id}", "x1").Replace(path)
				req, _ := http.NewRequest(method, "http://admin"+concrete, nil)
				if _, pattern := env.srv.mux.Handler(req); pattern != method+" "+path {
					t.Fatalf("%s %s is served by %q", method, concrete, pattern)
				}
				if op["summary"] == "" || op["responses"] == nil {
					t.Fatalf("operation without summary or responses: %v", op)
				}
				checkRefs(t, op, doc.Components.Schemas)
			})
		}
	}
	for i := range env.srv.routes {
		rt := &env.srv.routes[i]
		if doc.Paths[rt.path][strings.ToLower(rt.method)] == nil {
			t.Errorf("route %s is not described", rt.pattern())
		}
	}
	if described != len(env.srv.routes) {
		t.Errorf("%d operations described, %d routes served", described, len(env.srv.routes))
	}
	trunk, _ := json.Marshal(doc.Components.Schemas["Trunk"])
	if !strings.Contains(string(trunk), `"password":{"type":"string","writeOnly":true}`) {
		t.Errorf("trunk password not write-only: %s", trunk)
	}
}

// checkRefs fails on a $ref to a schema the document lacks.
func checkRefs(t *testing.T, v any, schemas map[string]any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if ref, ok := e.(string); k == "$ref" && ok {
				if schemas[strings.TrimPrefix(ref, "#/components/schemas/")] == nil {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			checkRefs(t, e, schemas)
		}
	case []any:
		for _, e := range x {
			checkRefs(t, e, schemas)
		}
	}
}

// TestRedisDown stops Redis: writes answer 503 and /readyz 503; after a
// restart it works again.
func TestRedisDown(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	env.must(t, 200, "GET", "/readyz", "", nil)
	env.redis.Stop()

	newWS := map[string]any{"name": "Down", "environment": "staging", "owner": map[string]string{"name": "O", "email": "o@example.org"}}
	tests := []struct {
		name, method, path, token string
		body                      any
	}{
		{"create workspace", "POST", "/v1/workspaces", testPlatformToken, newWS},
		{"patch workspace", "PATCH", "/v1/workspaces/" + fx.id, testPlatformToken, map[string]any{"name": "X"}},
		{"put service with a key", "POST", fx.path("/services"), fx.keys["admin"], itemBody("services", "svc-a")},
		{"read with a key", "GET", fx.path("/services"), fx.keys["viewer"], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.must(t, 503, tt.method, tt.path, tt.token, tt.body)
			if r.apiErr(t).Code != CodeUnavailable || r.header.Get("Retry-After") == "" {
				t.Fatalf("%v %s", r.header, r.body)
			}
		})
	}
	env.must(t, 503, "GET", "/readyz", "", nil)
	env.must(t, 200, "GET", "/healthz", "", nil)

	env.redis.Restart() // empty
	deadline := time.Now().Add(5 * time.Second)
	for env.req(t, "GET", "/readyz", "", nil).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("not ready after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	env.must(t, 201, "POST", "/v1/workspaces", testPlatformToken, newWS)
}

// TestUnmatched checks JSON 404 and 405 for what no route serves.
func TestUnmatched(t *testing.T) {
	env := newTestEnv(t)
	r := env.must(t, 404, "GET", "/v1/nothing", "", nil)
	if r.apiErr(t).Code != CodeNotFound {
		t.Fatalf("%s", r.body)
	}
	r = env.must(t, 405, "PATCH", "/v1/workspaces", testPlatformToken, map[string]any{})
	if r.apiErr(t).Code != CodeMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Fatalf("%v %s", r.header, r.body)
	}
}

// TestMetrics checks the request counter and histogram by route pattern.
func TestMetrics(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	env.must(t, 200, "GET", "/v1/workspaces/"+fx.id, fx.keys["viewer"], nil)
	env.must(t, 404, "GET", "/v1/nothing", "", nil)
	body := string(env.must(t, 200, "GET", "/metrics", "", nil).body)
	for _, want := range []string{
		`edge_admin_requests_total{code="200",method="GET",route="/v1/workspaces/{ws}"} 1`,
		`edge_admin_requests_total{code="201",method="POST",route="/v1/workspaces"} 1`,
		`edge_admin_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`edge_admin_request_duration_seconds_count{route="/v1/workspaces/{ws}/accounts"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestServeShutdown serves on a real listener and shuts down when the
// context ends, closing a live event stream.
func TestServeShutdown(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.srv.Serve(ctx, ln) }()

	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+fx.path("/events"), nil)
	req.Header.Set("Authorization", "Bearer "+fx.keys["viewer"])
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("stream: %v %v", res, err)
	}
	defer res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return after the context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

// TestNew checks configuration validation and construction errors.
func TestNew(t *testing.T) {
	store := tenancy.NewStore(nil)
	tests := []struct {
		name  string
		cfg   Config
		store *tenancy.Store
		reg   *prometheus.Registry
		ok    bool
	}{
		{"ok", Config{BootstrapToken: testPlatformToken}, store, nil, true},
		{"no token", Config{}, store, nil, false},
		{"short token", Config{BootstrapToken: "short"}, store, nil, false},
		{"negative burst", Config{BootstrapToken: testPlatformToken, KeyBurst: -1}, store, nil, false},
		{"page sizes", Config{BootstrapToken: testPlatformToken, DefaultPageSize: 50, MaxPageSize: 10}, store, nil, false},
		{"nil store", Config{BootstrapToken: testPlatformToken}, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, tt.store, tt.reg, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok=%v", err, tt.ok)
			}
		})
	}
	t.Run("registry used twice", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if _, err := New(Config{BootstrapToken: testPlatformToken}, store, reg, nil); err != nil {
			t.Fatal(err)
		}
		var are prometheus.AlreadyRegisteredError
		if _, err := New(Config{BootstrapToken: testPlatformToken}, store, reg, nil); !errors.As(err, &are) {
			t.Fatalf("second New on one registry: %v", err)
		}
	})
	if d := (Config{}).withDefaults(); d.KeyRate != 20 || d.MaxStreams != 32 || d.StreamKeepalive != 15*time.Second {
		t.Fatalf("defaults %+v", d)
	}
}
