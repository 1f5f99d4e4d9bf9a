package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

const testPlatformToken = "platform-token-for-tests-0123456789"

// testEnv is an admin Server on a real redis-server behind an httptest
// server.
type testEnv struct {
	srv   *Server
	ts    *httptest.Server
	redis *tenancytest.Redis
	store *tenancy.Store
	reg   *prometheus.Registry
	seq   atomic.Int64
}

// newTestEnv starts Redis and the API; change adjusts the test config
// (rate limits off, short stream timers by default).
func newTestEnv(t *testing.T, change ...func(*Config)) *testEnv {
	t.Helper()
	r := tenancytest.StartRedis(t)
	cfg := Config{
		BootstrapToken: testPlatformToken,
		KeyRate:        -1, IPRate: -1, AuthFailRate: -1,
		StreamKeepalive: 300 * time.Millisecond, StreamWait: 100 * time.Millisecond, StreamReauth: 200 * time.Millisecond,
	}
	for _, c := range change {
		c(&cfg)
	}
	env := &testEnv{redis: r, store: r.Store(t, tenancy.WithPolicy(tenancytest.Policy(t))), reg: prometheus.NewRegistry()}
	srv, err := New(cfg, env.store, env.reg, nil)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	env.srv = srv
	env.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(env.ts.Close)
	return env
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiErr returns the error object of an error response.
func (r response) apiErr(t *testing.T) apiError {
	t.Helper()
	var b errorBody
	r.decode(t, &b)
	return b.Error
}

// req sends method path with the bearer token (none when "") and body
// (JSON-encoded unless it is a []byte or string sent as is), plus header
// pairs.
func (e *testEnv) req(t *testing.T, method, path, token string, body any, header ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request and fails the test unless it answers want.
func (e *testEnv) must(t *testing.T, want int, method, path, token string, body any, header ...string) response {
	t.Helper()
	r := e.req(t, method, path, token, body, header...)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// fixture is a workspace with an account and key of every role.
type fixture struct {
	id       string
	keys     map[tenancy.Role]string
	accounts map[tenancy.Role]string
	keyIDs   map[tenancy.Role]string
}

// newWorkspace creates a workspace through the API with an owner, admin,
// member and viewer.
func (e *testEnv) newWorkspace(t *testing.T, env tenancy.Environment) *fixture {
	t.Helper()
	n := e.seq.Add(1)
	var cw createdWorkspace
	e.must(t, 201, "POST", "/v1/workspaces", testPlatformToken, map[string]any{
		"name": fmt.Sprintf("Clinic %d", n), "environment": env,
		"owner": map[string]string{"name": "Olive Owner", "email": fmt.Sprintf("owner%d@example.org", n)},
	}).decode(t, &cw)
	fx := &fixture{
		id:       cw.ID,
		keys:     map[tenancy.Role]string{tenancy.RoleOwner: cw.OwnerAPIKey},
		accounts: map[tenancy.Role]string{tenancy.RoleOwner: cw.Owner.ID},
		keyIDs:   map[tenancy.Role]string{tenancy.RoleOwner: cw.OwnerAPIKeyID},
	}
	for _, role := range []tenancy.Role{tenancy.RoleAdmin, tenancy.RoleMember, tenancy.RoleViewer} {
		var ca createdAccount
		e.must(t, 201, "POST", fx.path("/accounts"), cw.OwnerAPIKey, map[string]any{
			"name": "Someone " + string(role), "email": fmt.Sprintf("%s%d@example.org", role, n), "role": role,
		}).decode(t, &ca)
		fx.keys[role], fx.accounts[role], fx.keyIDs[role] = ca.APIKey, ca.ID, ca.APIKeyID
	}
	return fx
}

// path is a path under the workspace.
func (f *fixture) path(p string) string { return "/v1/workspaces/" + f.id + p }

// stateOf returns the workspace's configuration hash, calls and events
// count and the global indexes,
// to prove a request changed nothing.
func (e *testEnv) stateOf(t *testing.T, ws string) string {
	t.Helper()
	ctx := context.Background()
	c := e.store.Client()
	cfg, err := c.HGetAll(ctx, "{ws:"+ws+"}:cfg").Result()
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	numbers, _ := c.HGetAll(ctx, "edge:numbers").Result()
	keys, _ := c.HLen(ctx, "edge:apikeys").Result()
	events, _ := c.XLen(ctx, "{ws:"+ws+"}:events").Result()
	calls, _ := c.HGetAll(ctx, "{ws:"+ws+"}:calls").Result()
	b, _ := json.Marshal([]any{cfg, numbers, keys, events, calls})
	return string(b)
}

// admitCall records an active call of ws through the store, as an edge
// would.
func (e *testEnv) admitCall(t *testing.T, ws, id string) {
	t.Helper()
	rec := tenancy.CallRecord{ID: id, WorkspaceID: ws, ServiceID: "svc-main", From: "+15557770000", To: "+15550000001",
		State: tenancy.CallRinging, StartedAt: time.Now(), NodeID: "node-1"}
	if err := e.store.AdmitCall(context.Background(), rec, tenancy.Limits{}, time.Hour); err != nil {
		t.Fatalf("admit call: %v", err)
	}
}

// callEvent appends an event of call id to ws's stream, as an edge would.
func (e *testEnv) callEvent(t *testing.T, ws, id, typ string, data map[string]any) {
	t.Helper()
	b, _ := json.Marshal(data)
	if _, err := e.store.AppendEvent(context.Background(), ws, tenancy.Event{Type: typ, CallID: id, Data: b}); err != nil {
		t.Fatalf("append %s: %v", typ, err)
	}
}
