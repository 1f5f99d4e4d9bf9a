package client

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/admin"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

const testPlatformToken = "platform-token-for-client-tests-0123456789"

// testAPI is the real admin server over a real redis-server, behind an
// httptest server.
type testAPI struct {
	url      string
	store    *tenancy.Store
	platform *Client
}

// newTestAPI starts Redis and the admin API; change adjusts the server's
// config (rate limits are off by default).
func newTestAPI(t *testing.T, change ...func(*admin.Config)) *testAPI {
	t.Helper()
	r := tenancytest.StartRedis(t)
	store := r.Store(t)
	cfg := admin.Config{BootstrapToken: testPlatformToken, KeyRate: -1, IPRate: -1, AuthFailRate: -1}
	for _, c := range change {
		c(&cfg)
	}
	srv, err := admin.New(cfg, store, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	api := &testAPI{url: ts.URL, store: store}
	api.platform = newTestClient(t, ts.URL, testPlatformToken)
	return api
}

// newTestClient returns a client of url with key.
func newTestClient(t *testing.T, url, key string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: url, Key: key})
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	return c
}

// testWorkspace is a workspace with its owner's key and a client with it.
type testWorkspace struct {
	id, key string
	c       *Client
}

// newWorkspace creates a workspace of env through the API.
func (a *testAPI) newWorkspace(t *testing.T, env tenancy.Environment) testWorkspace {
	t.Helper()
	created, err := a.platform.CreateWorkspace(context.Background(), NewWorkspace{
		Name: "Northside Family Clinic (" + string(env) + ")", Environment: env,
		Owner: NewOwner{Name: "Dana Whitfield", Email: "dana.whitfield@northside.example"},
	})
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	return testWorkspace{id: created.ID, key: created.OwnerAPIKey, c: newTestClient(t, a.url, created.OwnerAPIKey)}
}

// changesSeq is the change stream's sequence: it moves with every
// configuration write of any workspace.
func (a *testAPI) changesSeq(t *testing.T) int64 {
	t.Helper()
	_, seq, err := a.store.ChangesHead(context.Background())
	if err != nil {
		t.Fatalf("changes head: %v", err)
	}
	return seq
}

// testEnv is the environment files are loaded with.
func testEnv(name string) (string, bool) {
	if name == "NORTHSIDE_PROD_TRUNK_PASSWORD" {
		return "prod-trunk-secret-0123", true
	}
	return "", false
}

// configPath is the path of a file of the repository's configs/.
func configPath(name string) string { return filepath.Join("..", "..", "configs", name) }

// loadConfig loads a workspace file of configs/.
func loadConfig(t *testing.T, name string) *File {
	t.Helper()
	f, err := LoadFile(configPath(name), testEnv)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return f
}

// parseYAML parses a workspace file given as text.
func parseYAML(t *testing.T, text string) *File {
	t.Helper()
	f, err := ParseFile("test.yaml", []byte(text), testEnv)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return f
}

// apply applies f to ws with c and returns the printed lines.
func apply(t *testing.T, c *Client, f *File, ws string, opts ApplyOptions) []string {
	t.Helper()
	var out bytes.Buffer
	if _, err := c.Apply(context.Background(), f, ws, opts, &out); err != nil {
		t.Fatalf("apply: %v\noutput:\n%s", err, out.String())
	}
	return lines(out.String())
}

// lines splits output into non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// changeLines keeps the +, ~ and - lines.
func changeLines(ls []string) []string {
	var out []string
	for _, l := range ls {
		if strings.HasPrefix(l, "+ ") || strings.HasPrefix(l, "~ ") || strings.HasPrefix(l, "- ") {
			out = append(out, l)
		}
	}
	return out
}

// writeTemp writes content to a file in a temporary directory.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI runs a client verb and returns its stdout, stderr and error.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cli := &CLI{Stdout: &stdout, Stderr: &stderr, LookupEnv: func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return testEnv(k)
	}}
	err := cli.Run(context.Background(), args)
	return stdout.String(), stderr.String(), err
}
