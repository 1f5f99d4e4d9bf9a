package admin

import (
	"fmt"
	"testing"
)

// TestQuotaAndWriteRate fills workspace A to its trunk quota and past its
// write rate through the API: A gets 409 quota_exceeded naming the quota,
// then 429; workspace B writes on as if A did not exist.
func TestQuotaAndWriteRate(t *testing.T) {
	t.Run("quota", func(t *testing.T) {
		env := newTestEnv(t)
		a, b := env.newWorkspace(t, "development"), env.newWorkspace(t, "development")
		trunk := func(ws string, i int) map[string]any {
			third := map[bool]int{true: 1, false: 2}[ws == a.id]
			return map[string]any{"id": fmt.Sprint("t", i), "name": "T", "allowed_cidrs": []string{fmt.Sprintf("10.%d.%d.0/24", third, i)}}
		}
		for i := range 20 { // the default quota
			env.must(t, 201, "POST", a.path("/trunks"), a.keys["admin"], trunk(a.id, i))
		}
		r := env.req(t, "POST", a.path("/trunks"), a.keys["admin"], trunk(a.id, 20))
		if e := r.apiErr(t); r.status != 409 || e.Code != CodeQuotaExceeded || e.Quota != "trunks" {
			t.Fatalf("trunk over the quota: %d %s, want 409 quota_exceeded naming trunks", r.status, r.body)
		}
		env.must(t, 404, "GET", a.path("/trunks/t20"), a.keys["admin"], nil)
		env.must(t, 200, "PUT", a.path("/trunks/t3"), a.keys["admin"], trunk(a.id, 3)) // a replace is no new item
		env.must(t, 201, "POST", b.path("/trunks"), b.keys["admin"], trunk(b.id, 0))
	})
	t.Run("write rate", func(t *testing.T) {
		env := newTestEnv(t, func(c *Config) { c.WriteRate, c.WriteBurst = 0.01, 5 })
		a, b := env.newWorkspace(t, "development"), env.newWorkspace(t, "development")
		// newWorkspace spent 3 of each burst on its accounts.
		vs := map[string]any{"tts_voice": "alloy", "speed": 1}
		for range 2 {
			env.must(t, 200, "PUT", a.path("/voice-settings"), a.keys["admin"], vs)
		}
		r := env.req(t, "PUT", a.path("/voice-settings"), a.keys["admin"], vs)
		if r.status != 429 || r.header.Get("Retry-After") == "" || r.apiErr(t).Code != CodeRateLimited {
			t.Fatalf("write over A's rate: %d %s, want 429 with Retry-After", r.status, r.body)
		}
		env.must(t, 200, "GET", a.path("/voice-settings"), a.keys["viewer"], nil) // reads are not writes
		env.must(t, 200, "PATCH", "/v1/workspaces/"+a.id, testPlatformToken, map[string]any{"limits": map[string]any{"max_cps": 5}})
		env.must(t, 200, "PUT", b.path("/voice-settings"), b.keys["admin"], vs) // B's budget is its own
	})
}
