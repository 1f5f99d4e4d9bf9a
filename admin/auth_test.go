package admin

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// TestKeysActWithTheRoleOfNow checks that demotion, revocation and
// account deletion take effect on the very next request.
func TestKeysActWithTheRoleOfNow(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	owner, adminKey := fx.keys["owner"], fx.keys["admin"]
	svc := itemBody("services", "svc-a")

	t.Run("demotion", func(t *testing.T) {
		env.must(t, 201, "POST", fx.path("/services"), adminKey, svc)
		env.must(t, 200, "PUT", fx.path("/accounts/"+fx.accounts["admin"]), owner, map[string]any{"name": "Demoted", "email": "admin1@example.org", "role": "viewer"})
		env.must(t, 403, "DELETE", fx.path("/services/svc-a"), adminKey, nil)
		env.must(t, 200, "GET", fx.path("/services/svc-a"), adminKey, nil)
		env.must(t, 200, "PUT", fx.path("/accounts/"+fx.accounts["admin"]), owner, map[string]any{"name": "Promoted", "email": "admin1@example.org", "role": "admin"})
		env.must(t, 204, "DELETE", fx.path("/services/svc-a"), adminKey, nil)
	})
	t.Run("revocation by the owner", func(t *testing.T) {
		env.must(t, 200, "GET", "/v1/workspaces/"+fx.id, fx.keys["viewer"], nil)
		env.must(t, 204, "DELETE", fx.path("/api-keys/"+fx.keyIDs["viewer"]), owner, nil)
		env.must(t, 401, "GET", "/v1/workspaces/"+fx.id, fx.keys["viewer"], nil)
	})
	t.Run("own keys", func(t *testing.T) {
		member := fx.keys["member"]
		var k createdKey
		env.must(t, 201, "POST", fx.path("/api-keys"), member, map[string]any{"name": "second"}).decode(t, &k)
		if k.Secret == "" || k.AccountID != fx.accounts["member"] {
			t.Fatalf("created key: %+v", k)
		}
		env.must(t, 200, "GET", "/v1/workspaces/"+fx.id, k.Secret, nil)
		env.must(t, 403, "DELETE", fx.path("/api-keys/"+fx.keyIDs["owner"]), member, nil)
		env.must(t, 204, "DELETE", fx.path("/api-keys/"+k.ID), member, nil)
		env.must(t, 401, "GET", "/v1/workspaces/"+fx.id, k.Secret, nil)
		env.must(t, 404, "DELETE", fx.path("/api-keys/"+k.ID), member, nil)
		env.must(t, 201, "POST", fx.path("/api-keys"), member, nil) // the body is optional
	})
	t.Run("account deletion", func(t *testing.T) {
		env.must(t, 200, "GET", "/v1/workspaces/"+fx.id, fx.keys["member"], nil)
		env.must(t, 204, "DELETE", fx.path("/accounts/"+fx.accounts["member"]), owner, nil)
		env.must(t, 401, "GET", "/v1/workspaces/"+fx.id, fx.keys["member"], nil)
	})
	t.Run("the last owner stays", func(t *testing.T) {
		r := env.must(t, 409, "PUT", fx.path("/accounts/"+fx.accounts["owner"]), owner, map[string]any{"name": "O", "email": "owner1@example.org", "role": "admin"})
		if r.apiErr(t).Code != CodeConflict {
			t.Fatalf("code %s", r.body)
		}
	})
	t.Run("secrets are never listed", func(t *testing.T) {
		r := env.must(t, 200, "GET", fx.path("/api-keys"), owner, nil)
		for _, bad := range []string{owner, `"hash"`, `"api_key"`} {
			if contains(r.body, bad) {
				t.Fatalf("key list shows %s: %s", bad, r.body)
			}
		}
	})
	t.Run("malformed authorization", func(t *testing.T) {
		for name, h := range map[string]string{"basic": "Basic " + owner, "empty bearer": "Bearer ", "no scheme": owner} {
			t.Run(name, func(t *testing.T) {
				r := env.req(t, "GET", "/v1/workspaces/"+fx.id, "", nil, "Authorization", h)
				if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%d %v", r.status, r.header)
				}
			})
		}
	})
}

// TestLimitsOnlyByPlatform checks that a workspace's limits are the
// platform's: no role of the workspace sets them.
func TestLimitsOnlyByPlatform(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	limits := map[string]any{"limits": map[string]int{"max_concurrent_calls": 5, "max_cps": 2}}
	for _, role := range tenancy.Roles {
		t.Run(string(role), func(t *testing.T) {
			env.must(t, 403, "PATCH", "/v1/workspaces/"+fx.id, fx.keys[role], limits)
		})
	}
	var ws tenancy.Workspace
	env.must(t, 200, "GET", "/v1/workspaces/"+fx.id, testPlatformToken, nil).decode(t, &ws)
	if ws.Limits != (tenancy.Limits{}) {
		t.Fatalf("limits changed by a workspace key: %+v", ws.Limits)
	}
	env.must(t, 200, "PATCH", "/v1/workspaces/"+fx.id, testPlatformToken, limits).decode(t, &ws)
	if ws.Limits.MaxConcurrentCalls != 5 || ws.Limits.MaxCPS != 2 {
		t.Fatalf("limits: %+v", ws.Limits)
	}
	env.must(t, 200, "PATCH", "/v1/workspaces/"+fx.id, testPlatformToken, map[string]any{"limits": map[string]int{"max_cps": 3}}).decode(t, &ws)
	if ws.Limits.MaxConcurrentCalls != 5 || ws.Limits.MaxCPS != 3 {
		t.Fatalf("partial limits patch: %+v", ws.Limits)
	}
	r := env.must(t, 422, "PATCH", "/v1/workspaces/"+fx.id, testPlatformToken, map[string]any{"limits": map[string]int{"max_cps": -1}})
	if r.apiErr(t).Field != "limits.max_cps" {
		t.Fatalf("field: %s", r.body)
	}
	env.must(t, 200, "PATCH", "/v1/workspaces/"+fx.id, fx.keys["owner"], map[string]any{"name": "Renamed", "settings": map[string]any{"timezone": "America/Chicago"}}).decode(t, &ws)
	if ws.Name != "Renamed" || ws.Settings.Timezone != "America/Chicago" || ws.Limits.MaxCPS != 3 {
		t.Fatalf("owner patch: %+v", ws)
	}
	r = env.must(t, 422, "PATCH", "/v1/workspaces/"+fx.id, fx.keys["owner"], map[string]any{"environment": "production"})
	if r.apiErr(t).Field != "environment" {
		t.Fatalf("field: %s", r.body)
	}
	env.must(t, 403, "POST", "/v1/workspaces", fx.keys["owner"], map[string]any{"name": "X", "environment": "staging", "owner": map[string]string{"name": "O", "email": "o@example.org"}})
}

// TestRateLimits checks the per-key, per-address and failed-auth buckets:
// 429 with Retry-After.
func TestRateLimits(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(*Config)
		token  func(fx *fixture) string
		ok     int // requests that pass before the 429
		status int // what the passing ones get
	}{
		{"per key", func(c *Config) { c.KeyRate, c.KeyBurst = 0.01, 3 }, func(fx *fixture) string { return fx.keys["viewer"] }, 3, 200},
		{"per address, unauthenticated", func(c *Config) { c.IPRate, c.IPBurst = 0.01, 4 }, func(fx *fixture) string { return "" }, 4, 401},
		{"failed authentication", func(c *Config) { c.AuthFailRate, c.AuthFailBurst = 0.01, 3 }, func(*fixture) string { return "edk_wrongwrongwrongwrongwrong" }, 3, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, tt.cfg)
			fx := env.newWorkspace(t, tenancy.EnvDevelopment) // 4 requests from this address
			for i := 0; i < tt.ok; i++ {
				env.must(t, tt.status, "GET", "/v1/workspaces/"+fx.id, tt.token(fx), nil)
			}
			r := env.must(t, 429, "GET", "/v1/workspaces/"+fx.id, tt.token(fx), nil)
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
			if r.apiErr(t).Code != CodeRateLimited {
				t.Fatalf("body %s", r.body)
			}
			// Valid keys are limited per key only: another client's failures
			// or volume from the same address never refuse them.
			if tt.name != "per key" {
				env.must(t, 200, "GET", "/v1/workspaces/"+fx.id, fx.keys["owner"], nil)
			}
			env.must(t, 200, "GET", "/healthz", "", nil) // probes are not limited
		})
	}
}

// TestBuckets checks that a bucket refills and that idle buckets are swept.
func TestBuckets(t *testing.T) {
	b := newBuckets(50, 1)
	if ok, _ := b.take("k"); !ok {
		t.Fatal("first take refused")
	}
	ok, wait := b.take("k")
	if ok || wait <= 0 || wait > 50*time.Millisecond {
		t.Fatalf("second take: %v %v", ok, wait)
	}
	time.Sleep(wait + 5*time.Millisecond)
	if ok, _ := b.take("k"); !ok {
		t.Fatal("no refill")
	}
	b.lastSweep = time.Now().Add(-2 * sweepEvery)
	b.m["k"].seen = time.Now().Add(-time.Hour)
	b.take("other")
	if _, ok := b.m["k"]; ok {
		t.Fatal("idle bucket not swept")
	}
	if off := newBuckets(-1, 0); func() bool { ok, _ := off.take("x"); return !ok }() {
		t.Fatal("disabled buckets refuse")
	}
}

func contains(b []byte, s string) bool { return s != "" && strings.Contains(string(b), s) }

// TestSuspensionOnlyByPlatform: no role of a workspace, its owner included,
// suspends or lifts a suspension; the platform token does both.
func TestSuspensionOnlyByPlatform(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	status := func(s tenancy.Status) map[string]any { return map[string]any{"status": s} }
	for _, role := range tenancy.Roles {
		t.Run("suspend as "+string(role), func(t *testing.T) {
			env.must(t, 403, "PATCH", fx.path(""), fx.keys[role], status(tenancy.StatusSuspended))
		})
	}
	var ws tenancy.Workspace
	env.must(t, 200, "PATCH", fx.path(""), testPlatformToken, status(tenancy.StatusSuspended)).decode(t, &ws)
	if ws.Status != tenancy.StatusSuspended {
		t.Fatalf("platform suspension: %s", ws.Status)
	}
	for _, role := range tenancy.Roles {
		t.Run("lift as "+string(role), func(t *testing.T) {
			env.must(t, 403, "PATCH", fx.path(""), fx.keys[role], status(tenancy.StatusActive))
		})
	}
	// An unchanged status in a whole-object PATCH (as apply sends) is fine.
	env.must(t, 200, "PATCH", fx.path(""), fx.keys["owner"], map[string]any{"name": "Renamed", "status": tenancy.StatusSuspended})
	env.must(t, 200, "GET", fx.path(""), fx.keys["viewer"], nil).decode(t, &ws)
	if ws.Status != tenancy.StatusSuspended || ws.Name != "Renamed" {
		t.Fatalf("after the owner's attempts: %+v", ws)
	}
	env.must(t, 200, "PATCH", fx.path(""), testPlatformToken, status(tenancy.StatusActive))
}

// TestDefaultLimitsForNewWorkspaces: a workspace created without limits
// gets the platform's default ones, not unlimited; limits named at creation
// win, and only the platform token names them.
func TestDefaultLimitsForNewWorkspaces(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.DefaultLimits = tenancy.Limits{MaxConcurrentCalls: 7, MaxCPS: 3} })
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	var ws tenancy.Workspace
	env.must(t, 200, "GET", fx.path(""), fx.keys["viewer"], nil).decode(t, &ws)
	if ws.Limits != (tenancy.Limits{MaxConcurrentCalls: 7, MaxCPS: 3}) {
		t.Fatalf("new workspace's limits %+v, want the platform's defaults", ws.Limits)
	}
	var cw createdWorkspace
	env.must(t, 201, "POST", "/v1/workspaces", testPlatformToken, map[string]any{
		"name": "Big clinic", "environment": "development", "limits": map[string]int{"max_concurrent_calls": 500, "max_cps": 50},
		"owner": map[string]string{"name": "O", "email": "big@example.org"},
	}).decode(t, &cw)
	if cw.Limits != (tenancy.Limits{MaxConcurrentCalls: 500, MaxCPS: 50}) {
		t.Fatalf("limits named at creation: %+v", cw.Limits)
	}
}
