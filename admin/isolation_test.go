package admin

import (
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// TestCrossWorkspace tries every route of workspace A (read, write, delete,
// list, stream, promote) with keys of every role of workspace B: each
// answers 404 exactly as for a workspace that does not exist, and A is
// unchanged.
func TestCrossWorkspace(t *testing.T) {
	env := newTestEnv(t)
	w := newMatrixWorld(t, env)
	a := w.main
	b := env.newWorkspace(t, tenancy.EnvProduction)
	w.populate(t, b, "+15550000002")
	ghost := &fixture{id: "ws_doesnotexist000000"}

	before := env.stateOf(t, a.id)
	for i := range env.srv.routes {
		rt := &env.srv.routes[i]
		if rt.access != inWorkspace {
			continue
		}
		for _, role := range tenancy.Roles {
			t.Run(rt.pattern()+"/"+string(role)+"-of-B", func(t *testing.T) {
				s := w.shotFor(t, rt, a, principalCase(role), false)
				key := b.keys[role]
				res := env.req(t, rt.method, s.path, key, s.body, s.header...)
				if res.status != 404 {
					t.Fatalf("%s %s with B's %s key: %d, want 404: %s", rt.method, s.path, role, res.status, res.body)
				}
				ghostPath := strings.Replace(s.path, a.id, ghost.id, 1)
				gres := env.req(t, rt.method, ghostPath, key, s.body, s.header...)
				if gres.status != 404 || string(gres.body) != string(res.body) {
					t.Fatalf("A answers %d %s, a nonexistent workspace %d %s", res.status, res.body, gres.status, gres.body)
				}
				if rt.stream {
					sres := env.req(t, rt.method, s.path, key, nil, "Accept", "text/event-stream")
					if sres.status != 404 {
						t.Fatalf("event stream of A with B's key: %d", sres.status)
					}
				}
			})
		}
	}
	if after := env.stateOf(t, a.id); after != before {
		t.Fatalf("workspace A changed:\nbefore %s\nafter  %s", before, after)
	}

	// A's ids through B's own paths: B's owner reaches nothing of A. (Item
	// ids such as svc-main are per workspace, so only globally unique ids
	// are tried: accounts, keys, calls and phone numbers.)
	if r := env.req(t, "PUT", a.path("/phone-numbers/%2B15559990001"), a.keys["owner"], map[string]any{"number": "+15559990001", "service_id": "svc-main"}); r.status != 201 {
		t.Fatalf("put number: %d %s", r.status, r.body)
	}
	env.admitCall(t, a.id, "call-only-a")
	before = env.stateOf(t, a.id)
	for i := range env.srv.routes {
		rt := &env.srv.routes[i]
		global := false
		for _, c := range []string{"/accounts/", "/api-keys/", "/calls/", "/phone-numbers/"} {
			global = global || strings.Contains(rt.path, c)
		}
		if rt.access != inWorkspace || !global || rt.method == "PUT" && !strings.Contains(rt.path, "/accounts/") {
			continue
		}
		t.Run("ids-of-A-via-B/"+rt.pattern(), func(t *testing.T) {
			s := w.shotFor(t, rt, a, "owner", false)
			path := strings.Replace(s.path, a.id, b.id, 1)
			path = strings.Replace(path, "%2B15550000001", "%2B15559990001", 1)
			path = strings.Replace(path, "call-main", "call-only-a", 1)
			res := env.req(t, rt.method, path, b.keys["owner"], s.body, s.header...)
			if res.status != 404 {
				t.Fatalf("%s %s: %d, want 404: %s", rt.method, path, res.status, res.body)
			}
		})
	}
	if after := env.stateOf(t, a.id); after != before {
		t.Fatalf("workspace A changed through B's paths")
	}

	t.Run("lists show only the own workspace", func(t *testing.T) {
		var page listPage[map[string]any]
		env.must(t, 200, "GET", b.path("/accounts"), b.keys["viewer"], nil).decode(t, &page)
		for _, it := range page.Items {
			if it["workspace_id"] != b.id {
				t.Fatalf("B lists an account of %v", it["workspace_id"])
			}
		}
		var numbers listPage[map[string]any]
		env.must(t, 200, "GET", b.path("/phone-numbers"), b.keys["viewer"], nil).decode(t, &numbers)
		for _, it := range numbers.Items {
			if it["id"] == "+15559990001" {
				t.Fatalf("B lists A's number")
			}
		}
	})
}
