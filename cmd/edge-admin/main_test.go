package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/admin/client"
	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

const testToken = "platform-token-for-cmd-tests-0123456789"

func TestLoadServeConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "edge-admin.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:9001\nredis_addr: 127.0.0.1:7001\nlog_level: debug\nrate_limits:\n  key_rate: 5\nshutdown_timeout: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("adress: 127.0.0.1:9001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(serveConfig) bool
		wantErr string
	}{
		{"defaults", nil, map[string]string{envBootstrapToken: testToken},
			func(c serveConfig) bool {
				return c.Addr == "127.0.0.1:8081" && c.RedisAddr == "127.0.0.1:6379" && c.LogLevel == "info"
			}, ""},
		{"file over defaults", []string{"-config", file}, map[string]string{envBootstrapToken: testToken},
			func(c serveConfig) bool {
				return c.Addr == "127.0.0.1:9001" && c.RedisAddr == "127.0.0.1:7001" && c.LogLevel == "debug" &&
					c.RateLimits.KeyRate == 5 && c.ShutdownTimeout == 3*time.Second
			}, ""},
		{"environment over file", []string{"-config", file}, map[string]string{envBootstrapToken: testToken, envAddr: "127.0.0.1:9002", envRedisAddr: "redis://127.0.0.1:7002/1"},
			func(c serveConfig) bool {
				return c.Addr == "127.0.0.1:9002" && c.RedisAddr == "redis://127.0.0.1:7002/1" && c.LogLevel == "debug"
			}, ""},
		{"flags over environment", []string{"-config", file, "-addr", "127.0.0.1:9003", "-redis", "127.0.0.1:7003", "-log-level", "warn"}, map[string]string{envBootstrapToken: testToken, envAddr: "127.0.0.1:9002"},
			func(c serveConfig) bool {
				return c.Addr == "127.0.0.1:9003" && c.RedisAddr == "127.0.0.1:7003" && c.LogLevel == "warn"
			}, ""},
		{"platform policy from the environment", nil, map[string]string{envBootstrapToken: testToken,
			envSecretKey: "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMhISE=", envRealm: "clinic-edge", envAllowOverlap: "true", envAssignNumbers: "1"},
			func(c serveConfig) bool {
				p, err := c.policy()
				return err == nil && p.Secrets != nil && p.Realm == "clinic-edge" && p.AllowOverlappingCIDRs && p.PlatformAssignsNumbers && !p.AllowWideCIDRs
			}, ""},
		{"bad secret key", nil, map[string]string{envBootstrapToken: testToken, envSecretKey: "c2hvcnQ="}, nil, "EDGE_ADMIN_SECRET_KEY"},
		{"old key alone", nil, map[string]string{envBootstrapToken: testToken, envSecretKeyOld: "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMhISE="}, nil, "EDGE_ADMIN_SECRET_KEY_OLD"},
		{"no token", nil, nil, nil, "BootstrapToken"},
		{"short token", []string{"-bootstrap-token", "short"}, nil, nil, "BootstrapToken"},
		{"unknown key in the file", []string{"-config", bad}, map[string]string{envBootstrapToken: testToken}, nil, "adress"},
		{"missing file", []string{"-config", filepath.Join(dir, "nope.yaml")}, map[string]string{envBootstrapToken: testToken}, nil, "no such file"},
		{"bad redis address", nil, map[string]string{envBootstrapToken: testToken, envRedisAddr: "localhost"}, nil, "redis address"},
		{"bad log level", []string{"-log-level", "loud"}, map[string]string{envBootstrapToken: testToken}, nil, "log level"},
		{"unknown flag", []string{"-port", "1"}, map[string]string{envBootstrapToken: testToken}, nil, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			cfg, err := loadServeConfig(tc.args, lookup, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(cfg) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
}

func TestRedisOptions(t *testing.T) {
	cases := []struct {
		in      string
		addrs   []string
		db      int
		pass    string
		wantErr bool
	}{
		{"127.0.0.1:6390", []string{"127.0.0.1:6390"}, 0, "", false},
		{"redis.internal:6379, redis2.internal:6379", []string{"redis.internal:6379", "redis2.internal:6379"}, 0, "", false},
		{"redis://:secret@127.0.0.1:6390/2", []string{"127.0.0.1:6390"}, 2, "secret", false},
		{"rediss://user:pw@cache.example:6380", []string{"cache.example:6380"}, 0, "pw", false},
		{"localhost", nil, 0, "", true},
		{"127.0.0.1:0", nil, 0, "", true},
		{":6379", nil, 0, "", true},
		{"http://127.0.0.1:6379", nil, 0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			o, err := redisaddr.Parse(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("redisaddr.Parse(%q) = %+v, want an error", tc.in, o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.Addrs, ",") != strings.Join(tc.addrs, ",") || o.DB != tc.db || o.Password != tc.pass {
				t.Errorf("options %+v", o)
			}
		})
	}
	if got := redactRedis("redis://:secret@127.0.0.1:6390/2"); strings.Contains(got, "secret") {
		t.Errorf("redactRedis leaks the password: %s", got)
	}
}

// newTestServe runs the admin server as "serve" wires it, on a listener
// of the test's, over a real Redis; it returns the API's URL and a stop
// function that returns Serve's error.
func newTestServe(t *testing.T) (string, func() error) {
	t.Helper()
	r := tenancytest.StartRedis(t)
	cfg := defaultServeConfig()
	cfg.RedisAddr, cfg.BootstrapToken = r.Addr, testToken
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, ln, slog.New(slog.DiscardHandler)) }()
	var once bool
	stop := func() error {
		if once {
			return nil
		}
		once = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

func TestServe(t *testing.T) {
	url, stop := newTestServe(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s", code, body)
	}
	var out bytes.Buffer
	env := map[string]string{client.EnvURL: url, client.EnvBootstrapToken: testToken}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(context.Background(), []string{"workspace", "create", "--name", "Northside", "--env", string(tenancy.EnvDevelopment),
		"--owner-name", "Dana", "--owner-email", "dana@northside.example", "-o", "env"}, lookup, &out, io.Discard)
	if code != 0 || !strings.Contains(out.String(), "EDGE_ADMIN_KEY=edk_") {
		t.Fatalf("workspace create exited %d, printed %q", code, out.String())
	}
	key := strings.TrimSpace(out.String()[strings.Index(out.String(), "EDGE_ADMIN_KEY=")+len("EDGE_ADMIN_KEY="):])
	ws := strings.TrimPrefix(strings.Split(out.String(), "\n")[0], "EDGE_ADMIN_WORKSPACE=")
	env[client.EnvKey], env[client.EnvWorkspace] = key, ws
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"apply", "-f", "../../configs/northside-development.yaml"}, lookup, &out, &stderr); code != 0 {
		t.Fatalf("apply exited %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"get", "services", "nope"}, lookup, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "404 not_found") {
		t.Errorf("get of a missing service exited %d: %s", code, stderr.String())
	}
	code, metrics := get("/metrics")
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", "edge_admin_requests_total"} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v after its context ended", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still serving after stop")
	}
}

func TestRunExitStatus(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"no arguments", nil, 2},
		{"help", []string{"help"}, 0},
		{"unknown verb", []string{"frobnicate"}, 2},
		{"serve with a bad flag", []string{"serve", "-nope"}, 2},
		{"serve help", []string{"serve", "-h"}, 0},
		{"client verb missing its file", []string{"apply"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := run(context.Background(), tc.args, func(string) (string, bool) { return "", false }, io.Discard, &stderr); got != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", got, tc.want, stderr.String())
			}
		})
	}
}
