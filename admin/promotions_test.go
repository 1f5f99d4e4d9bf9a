package admin

import (
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// TestPromotion promotes a staging workspace into a production one: dry
// run, then applied; numbers, trunks and data sources stay where they are;
// the source key must be admin+ of from_workspace.
func TestPromotion(t *testing.T) {
	env := newTestEnv(t)
	stg := env.newWorkspace(t, tenancy.EnvStaging)
	prod := env.newWorkspace(t, tenancy.EnvProduction)
	otherStg := env.newWorkspace(t, tenancy.EnvStaging)
	dev := env.newWorkspace(t, tenancy.EnvDevelopment)
	sa := stg.keys["admin"]
	env.must(t, 201, "POST", stg.path("/services"), sa, itemBody("services", "svc-main"))
	env.must(t, 201, "POST", stg.path("/safety-policies"), sa, itemBody("safety-policies", "sp-main"))
	env.must(t, 200, "PUT", stg.path("/voice-settings"), sa, map[string]any{"tts_voice": "alloy", "speed": 1.1})
	env.must(t, 201, "POST", stg.path("/phone-numbers"), sa, itemBody("phone-numbers", "+15558000001"))
	env.must(t, 201, "POST", stg.path("/trunks"), sa, itemBody("trunks", "trunk-stg"))
	env.must(t, 201, "POST", stg.path("/data-sources"), sa, itemBody("data-sources", "ds-stg"))

	promote := func(t *testing.T, want int, target *fixture, targetRole tenancy.Role, from, source string, dry bool) promotionResult {
		t.Helper()
		var res promotionResult
		h := []string{}
		if source != "" {
			h = []string{SourceAuthorizationHeader, "Bearer " + source}
		}
		r := env.must(t, want, "POST", target.path("/promotions"), target.keys[targetRole], map[string]any{"from_workspace": from, "dry_run": dry}, h...)
		if want == 200 {
			r.decode(t, &res)
		}
		return res
	}

	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name       string
			targetRole tenancy.Role
			from       string
			source     string
			status     int
		}{
			{"no source key", "admin", stg.id, "", 401},
			{"unknown source key", "admin", stg.id, "edk_nosuchkeynosuchkeynosuchkey", 401},
			{"source key of another workspace", "admin", stg.id, otherStg.keys["owner"], 404},
			{"source key of the target", "admin", stg.id, prod.keys["owner"], 404},
			{"platform token as source", "admin", stg.id, testPlatformToken, 404},
			{"source viewer", "admin", stg.id, stg.keys["viewer"], 403},
			{"source member", "admin", stg.id, stg.keys["member"], 403},
			{"target member", "member", stg.id, sa, 403},
			{"non-staging source", "admin", dev.id, dev.keys["admin"], 422},
			{"into itself", "admin", prod.id, prod.keys["admin"], 422},
			{"nonexistent source", "admin", "ws_nosuchworkspace00", sa, 404},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := env.stateOf(t, prod.id)
				promote(t, tt.status, prod, tt.targetRole, tt.from, tt.source, false)
				if env.stateOf(t, prod.id) != before {
					t.Fatal("a refused promotion wrote something")
				}
			})
		}
		r := env.must(t, 422, "POST", prod.path("/promotions"), prod.keys["admin"], map[string]any{"from_workspace": dev.id}, SourceAuthorizationHeader, "Bearer "+dev.keys["admin"])
		if r.apiErr(t).Field != "from_workspace" {
			t.Fatalf("field: %s", r.body)
		}
		// into a workspace that is not production
		env.must(t, 409, "POST", otherStg.path("/promotions"), otherStg.keys["admin"], map[string]any{"from_workspace": stg.id}, SourceAuthorizationHeader, "Bearer "+sa)
	})

	t.Run("dry run", func(t *testing.T) {
		before := env.stateOf(t, prod.id)
		res := promote(t, 200, prod, "admin", stg.id, sa, true)
		if res.Applied || len(res.Diff) != 3 {
			t.Fatalf("dry run: %+v", res)
		}
		for _, d := range res.Diff {
			if d.Op != "create" || d.Kind != "services" && d.Kind != "safety-policies" && d.Kind != "voice-settings" {
				t.Fatalf("diff entry %+v", d)
			}
		}
		if env.stateOf(t, prod.id) != before {
			t.Fatal("a dry run wrote something")
		}
	})
	t.Run("applied", func(t *testing.T) {
		res := promote(t, 200, prod, "owner", stg.id, stg.keys["owner"], false)
		if !res.Applied || len(res.Diff) != 3 {
			t.Fatalf("applied: %+v", res)
		}
		env.must(t, 200, "GET", prod.path("/services/svc-main"), prod.keys["viewer"], nil)
		env.must(t, 200, "GET", prod.path("/safety-policies/sp-main"), prod.keys["viewer"], nil)
		var v tenancy.VoiceSettings
		env.must(t, 200, "GET", prod.path("/voice-settings"), prod.keys["viewer"], nil).decode(t, &v)
		if v.TTSVoice != "alloy" {
			t.Fatalf("voice settings not promoted: %+v", v)
		}
		for _, kind := range []string{"phone-numbers", "trunks", "data-sources"} {
			var p listPage[map[string]any]
			env.must(t, 200, "GET", prod.path("/"+kind), prod.keys["viewer"], nil).decode(t, &p)
			if len(p.Items) != 0 {
				t.Fatalf("%s copied by a promotion: %v", kind, p.Items)
			}
		}
		var evs listPage[tenancy.Event]
		env.must(t, 200, "GET", prod.path("/events?limit=1000"), prod.keys["viewer"], nil).decode(t, &evs)
		found := false
		for _, e := range evs.Items {
			found = found || e.Type == tenancy.EventPromotionApplied
		}
		if !found {
			t.Fatal("no promotion.applied event")
		}
		if again := promote(t, 200, prod, "admin", stg.id, sa, false); len(again.Diff) != 0 {
			t.Fatalf("a second promotion changes %+v", again.Diff)
		}
	})
}
