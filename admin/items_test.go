package admin

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// TestBadInput sends malformed, oversized, mistyped and invalid bodies:
// each gets its status, a message naming the field, and writes nothing.
func TestBadInput(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	other := env.newWorkspace(t, tenancy.EnvDevelopment)
	admin := fx.keys["admin"]
	env.must(t, 201, "POST", fx.path("/services"), admin, itemBody("services", "svc-main"))
	env.must(t, 201, "POST", other.path("/services"), other.keys["admin"], itemBody("services", "svc-main"))
	env.must(t, 201, "POST", other.path("/phone-numbers"), other.keys["admin"], itemBody("phone-numbers", "+15550001111"))
	huge := `{"id":"svc-big","name":"` + strings.Repeat("a", 2<<20) + `","target":"sip:a@10.0.0.1"}`

	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		status      int
		code        string
		field       string
		mention     string
	}{
		{"malformed JSON", "POST", "/services", `{"id": "svc-x",`, "", 400, CodeBadRequest, "", "ends early"},
		{"syntax error", "POST", "/services", `{"id" "svc-x"}`, "", 400, CodeBadRequest, "", "syntax"},
		{"unknown field", "POST", "/services", `{"id":"svc-x","name":"X","target":"sip:a@10.0.0.1","colour":"red"}`, "", 400, CodeBadRequest, "", "colour"},
		{"trailing data", "POST", "/services", `{"id":"svc-x","name":"X","target":"sip:a@10.0.0.1"} {}`, "", 400, CodeBadRequest, "", "after"},
		{"empty body", "POST", "/services", "", "", 400, CodeBadRequest, "", "required"},
		{"body of 2 MiB", "POST", "/services", huge, "", 413, CodePayloadTooLarge, "", ""},
		{"text/plain", "POST", "/services", `{"id":"svc-x","name":"X","target":"sip:a@10.0.0.1"}`, "text/plain", 415, CodeUnsupportedMedia, "", ""},
		{"no content type", "PUT", "/voice-settings", `{"speed":1}`, "-", 415, CodeUnsupportedMedia, "", ""},
		{"speed out of range", "PUT", "/voice-settings", map[string]any{"tts_voice": "alloy", "speed": 5}, "", 422, CodeInvalid, "speed", "speed"},
		{"speed of the wrong type", "PUT", "/voice-settings", `{"speed":"fast"}`, "", 422, CodeInvalid, "speed", "speed"},
		{"bad CIDR", "POST", "/trunks", map[string]any{"id": "t1", "name": "T", "allowed_cidrs": []string{"300.1.2.0/24"}}, "", 422, CodeInvalid, "allowed_cidrs", "allowed_cidrs"},
		{"bad country code", "POST", "/trunks", map[string]any{"id": "t1", "name": "T", "allowed_cidrs": []string{"192.0.2.0/24"}, "default_country_code": "+1"}, "", 422, CodeInvalid, "default_country_code", "default_country_code"},
		{"negative request budget", "POST", "/trunks", map[string]any{"id": "t1", "name": "T", "allowed_cidrs": []string{"192.0.2.0/24"}, "max_requests_per_second": -1}, "", 422, CodeInvalid, "max_requests_per_second", "max_requests_per_second"},
		{"accepts_refer of the wrong type", "POST", "/trunks", map[string]any{"id": "t1", "name": "T", "allowed_cidrs": []string{"192.0.2.0/24"}, "accepts_refer": "yes"}, "", 422, CodeInvalid, "accepts_refer", "accepts_refer"},
		{"bad service target", "POST", "/services", map[string]any{"id": "svc-x", "name": "X", "target": "http://agent"}, "", 422, CodeInvalid, "target", "target"},
		{"number owned by another workspace", "POST", "/phone-numbers", itemBody("phone-numbers", "+1 (555) 000-1111"), "", 409, CodeConflict, "", "is not available"},
		{"number of an unknown service", "POST", "/phone-numbers", map[string]any{"number": "+15550002222", "service_id": "nope"}, "", 422, CodeInvalid, "service_id", "service_id"},
		{"not E.164", "POST", "/phone-numbers", map[string]any{"number": "12ab", "service_id": "svc-main"}, "", 422, CodeInvalid, "number", "number"},
		{"PUT id differs from the path", "PUT", "/services/svc-other", itemBody("services", "svc-x"), "", 422, CodeInvalid, "id", "id"},
		{"PUT number differs from the path", "PUT", "/phone-numbers/%2B15550003333", itemBody("phone-numbers", "+15550004444"), "", 422, CodeInvalid, "id", ""},
		{"PUT number with a different id", "PUT", "/phone-numbers/%2B15550003333", map[string]any{"id": "+15550005555", "number": "+15550003333", "service_id": "svc-main"}, "", 422, CodeInvalid, "id", ""},
		{"bad limit", "GET", "/services?limit=abc", nil, "", 422, CodeInvalid, "limit", "limit"},
		{"limit too big", "GET", "/services?limit=100000", nil, "", 422, CodeInvalid, "limit", "limit"},
		{"bad event cursor", "GET", "/events?cursor=zzz", nil, "", 422, CodeInvalid, "cursor", "cursor"},
		{"bad active flag", "GET", "/calls?active=maybe", nil, "", 422, CodeInvalid, "active", "active"},
		{"bad role", "POST", "/accounts", map[string]any{"name": "X", "email": "x@example.org", "role": "god"}, "", 422, CodeInvalid, "role", "role"},
		{"bad email", "POST", "/accounts", map[string]any{"name": "X", "email": "not-an-email", "role": "viewer"}, "", 422, CodeInvalid, "email", "email"},
		{"billing plan", "PUT", "/billing", map[string]any{"plan": "free-forever", "contact_email": "b@example.org"}, "", 422, CodeInvalid, "plan", "plan"},
		{"operator mode", "PUT", "/operator-config", map[string]any{"modes": []string{"spy"}}, "", 422, CodeInvalid, "modes[]", "modes"},
		{"service exists", "POST", "/services", itemBody("services", "svc-main"), "", 409, CodeConflict, "", "exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := admin
			if strings.HasPrefix(tt.path, "/accounts") || strings.HasPrefix(tt.path, "/billing") {
				key = fx.keys["owner"]
			}
			before := env.stateOf(t, fx.id)
			var r response
			if tt.contentType == "" {
				r = env.req(t, tt.method, fx.path(tt.path), key, tt.body)
			} else {
				r = rawRequest(t, env, tt.method, fx.path(tt.path), key, tt.body.(string), tt.contentType)
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			e := r.apiErr(t)
			if e.Code != tt.code || e.Field != tt.field || !strings.Contains(e.Message, tt.mention) {
				t.Fatalf("error %+v, want code %s field %q mentioning %q", e, tt.code, tt.field, tt.mention)
			}
			if after := env.stateOf(t, fx.id); after != before {
				t.Fatalf("a refused request wrote something")
			}
		})
	}
}

// rawRequest sends body with a given Content-Type ("-" for none).
func rawRequest(t *testing.T, env *testEnv, method, path, token, body, contentType string) response {
	t.Helper()
	req, err := http.NewRequest(method, env.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "-" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := env.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// TestItemsLifecycle walks a collection: create, list with paging, get,
// replace, delete; write-only fields never come back.
func TestItemsLifecycle(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	admin := fx.keys["admin"]
	for _, id := range []string{"svc-a", "svc-b", "svc-c"} {
		r := env.must(t, 201, "POST", fx.path("/services"), admin, itemBody("services", id))
		if r.header.Get("Location") != fx.path("/services/"+id) {
			t.Fatalf("Location %q", r.header.Get("Location"))
		}
	}
	t.Run("paging", func(t *testing.T) {
		var ids []string
		cursor := ""
		for range 5 {
			var p listPage[tenancy.Service]
			env.must(t, 200, "GET", fx.path("/services?limit=2&cursor="+cursor), admin, nil).decode(t, &p)
			for _, s := range p.Items {
				ids = append(ids, s.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if strings.Join(ids, ",") != "svc-a,svc-b,svc-c" {
			t.Fatalf("paged ids %v", ids)
		}
	})
	t.Run("put creates then replaces", func(t *testing.T) {
		body := itemBody("services", "svc-d")
		delete(body, "id") // the path names it
		env.must(t, 201, "PUT", fx.path("/services/svc-d"), admin, body)
		body["name"] = "Renamed"
		var s tenancy.Service
		env.must(t, 200, "PUT", fx.path("/services/svc-d"), admin, body).decode(t, &s)
		if s.Name != "Renamed" || s.ID != "svc-d" {
			t.Fatalf("replaced: %+v", s)
		}
		env.must(t, 204, "DELETE", fx.path("/services/svc-d"), admin, nil)
		env.must(t, 404, "GET", fx.path("/services/svc-d"), admin, nil)
		env.must(t, 404, "DELETE", fx.path("/services/svc-d"), admin, nil)
	})
	t.Run("phone numbers by E.164 id", func(t *testing.T) {
		var n map[string]any
		env.must(t, 201, "POST", fx.path("/phone-numbers"), admin, map[string]any{"number": "+1 555 123 0001", "service_id": "svc-a"}).decode(t, &n)
		if n["id"] != "+15551230001" || n["number"] != "+15551230001" {
			t.Fatalf("number: %v", n)
		}
		env.must(t, 200, "GET", fx.path("/phone-numbers/%2B15551230001"), fx.keys["viewer"], nil)
		env.must(t, 200, "GET", fx.path("/phone-numbers/+15551230001"), fx.keys["viewer"], nil)
		env.must(t, 200, "PUT", fx.path("/phone-numbers/%2B15551230001"), admin, map[string]any{"id": "+15551230001", "number": "+15551230001", "service_id": "svc-b", "label": "Main"})
		env.must(t, 409, "DELETE", fx.path("/services/svc-b"), admin, nil) // still routed to
		env.must(t, 204, "DELETE", fx.path("/phone-numbers/%2B15551230001"), admin, nil)
		if owner, _ := env.store.Client().HGet(context.Background(), "edge:numbers", "+15551230001").Result(); owner != "" {
			t.Fatalf("number still indexed to %q", owner)
		}
	})
	t.Run("trunk password is write-only", func(t *testing.T) {
		r := env.must(t, 201, "POST", fx.path("/trunks"), admin, itemBody("trunks", "trunk-a"))
		if contains(r.body, "secret-password-1") || contains(r.body, `"password"`) {
			t.Fatalf("create answer shows the password: %s", r.body)
		}
		for _, path := range []string{"/trunks", "/trunks/trunk-a"} {
			if r := env.must(t, 200, "GET", fx.path(path), admin, nil); contains(r.body, "secret-password-1") {
				t.Fatalf("GET %s shows the password", path)
			}
		}
		var tr tenancy.Trunk
		env.must(t, 200, "GET", fx.path("/trunks/trunk-a"), admin, nil).decode(t, &tr)
		tr.Name = "Renamed"
		env.must(t, 200, "PUT", fx.path("/trunks/trunk-a"), admin, tr) // sent back without the password
		stored, err := env.store.Get(context.Background(), fx.id, tenancy.KindTrunk, "trunk-a")
		want := tenancy.NewDigestHA1(tenancy.DefaultRealm, "carrier", "secret-password-1")
		if err != nil || stored.(*tenancy.Trunk).Password != "" || *stored.(*tenancy.Trunk).HA1 != *want {
			t.Fatalf("password's HA1 lost on a read-modify-write (or the password kept): %+v %v", stored, err)
		}
	})
	t.Run("data source credentials are write-only", func(t *testing.T) {
		r := env.must(t, 201, "POST", fx.path("/data-sources"), admin, itemBody("data-sources", "ds-a"))
		if contains(r.body, "s3cret") {
			t.Fatalf("create answer shows credentials: %s", r.body)
		}
		var ds tenancy.DataSource
		env.must(t, 200, "GET", fx.path("/data-sources/ds-a"), admin, nil).decode(t, &ds)
		if ds.Credentials["token"] == "s3cret" || ds.Credentials["token"] == "" {
			t.Fatalf("credentials shown as %v", ds.Credentials)
		}
		ds.Name = "Renamed EHR"
		env.must(t, 200, "PUT", fx.path("/data-sources/ds-a"), admin, ds) // the mask sent back
		stored, err := env.store.Get(context.Background(), fx.id, tenancy.KindDataSource, "ds-a")
		if err != nil || stored.(*tenancy.DataSource).Credentials["token"] != "s3cret" {
			t.Fatalf("credentials lost on a read-modify-write: %+v %v", stored, err)
		}
		// Another base_url with the mask sent back: the stored credentials
		// are not sent to a new URL (issue 10, item 14).
		ds.BaseURL = "https://attacker.example.net/fhir"
		r = env.req(t, "PUT", fx.path("/data-sources/ds-a"), admin, ds)
		if e := r.apiErr(t); r.status != 422 || e.Field != "credentials" {
			t.Fatalf("base_url changed with masked credentials: %d %s, want 422 naming credentials", r.status, r.body)
		}
		left := ds
		left.Credentials = nil
		if r := env.req(t, "PUT", fx.path("/data-sources/ds-a"), admin, left); r.status != 422 || r.apiErr(t).Field != "credentials" {
			t.Fatalf("base_url changed without credentials: %d %s, want 422 naming credentials", r.status, r.body)
		}
		if got, _ := env.store.Get(context.Background(), fx.id, tenancy.KindDataSource, "ds-a"); got.(*tenancy.DataSource).BaseURL != "https://ehr.example.org/fhir" {
			t.Fatalf("a refused PUT moved the data source: %+v", got)
		}
		ds.Credentials = map[string]string{"token": "new-token-for-ehr2"}
		env.must(t, 200, "PUT", fx.path("/data-sources/ds-a"), admin, ds)
		if got, _ := env.store.Get(context.Background(), fx.id, tenancy.KindDataSource, "ds-a"); got.(*tenancy.DataSource).Credentials["token"] != "new-token-for-ehr2" {
			t.Fatalf("new credentials not stored: %+v", got)
		}
	})
	t.Run("singletons read as zero before they are set", func(t *testing.T) {
		var v tenancy.VoiceSettings
		env.must(t, 200, "GET", fx.path("/voice-settings"), fx.keys["viewer"], nil).decode(t, &v)
		env.must(t, 200, "PUT", fx.path("/voice-settings"), admin, map[string]any{"tts_voice": "alloy", "speed": 1.2})
		env.must(t, 200, "GET", fx.path("/voice-settings"), fx.keys["viewer"], nil).decode(t, &v)
		if v.TTSVoice != "alloy" || v.Speed != 1.2 {
			t.Fatalf("voice settings %+v", v)
		}
	})
}

// TestProductionGuard checks that agent-behaviour configuration of a
// production workspace changes by promotion only, until the owner allows
// direct changes.
func TestProductionGuard(t *testing.T) {
	env := newTestEnv(t)
	prod := env.newWorkspace(t, tenancy.EnvProduction)
	admin, owner := prod.keys["admin"], prod.keys["owner"]
	guarded := []struct {
		method, path string
		body         any
	}{
		{"POST", "/services", itemBody("services", "svc-a")},
		{"PUT", "/services/svc-b", itemBody("services", "svc-b")},
		{"PUT", "/voice-settings", map[string]any{"speed": 1.0}},
		{"PUT", "/operator-config", map[string]any{"modes": []string{"listen"}}},
		{"POST", "/safety-policies", itemBody("safety-policies", "sp-a")},
	}
	for _, g := range guarded {
		t.Run("refused "+g.method+" "+g.path, func(t *testing.T) {
			r := env.must(t, 409, g.method, prod.path(g.path), admin, g.body)
			e := r.apiErr(t)
			if e.Code != CodePromotionRequired || !strings.Contains(e.Message, "/v1/workspaces/"+prod.id+"/promotions") {
				t.Fatalf("error %+v", e)
			}
		})
	}
	t.Run("not guarded: trunks and data sources", func(t *testing.T) {
		env.must(t, 201, "POST", prod.path("/trunks"), admin, itemBody("trunks", "trunk-a"))
		env.must(t, 201, "POST", prod.path("/data-sources"), admin, itemBody("data-sources", "ds-a"))
	})
	env.must(t, 403, "PATCH", "/v1/workspaces/"+prod.id, admin, map[string]any{"settings": map[string]any{"allow_direct_changes": true}})
	env.must(t, 200, "PATCH", "/v1/workspaces/"+prod.id, owner, map[string]any{"settings": map[string]any{"allow_direct_changes": true}})
	for _, g := range guarded {
		t.Run("allowed "+g.method+" "+g.path, func(t *testing.T) {
			if r := env.req(t, g.method, prod.path(g.path), admin, g.body); r.status/100 != 2 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		})
	}
}

// TestNumberRace has 20 concurrent admins claim one number, in two
// workspaces and in one: exactly one 201, the rest 409, and the global
// index agrees with the workspaces.
func TestNumberRace(t *testing.T) {
	env := newTestEnv(t)
	a := env.newWorkspace(t, tenancy.EnvDevelopment)
	b := env.newWorkspace(t, tenancy.EnvDevelopment)
	for _, fx := range []*fixture{a, b} {
		env.must(t, 201, "POST", fx.path("/services"), fx.keys["admin"], itemBody("services", "svc-main"))
	}
	tests := []struct {
		name   string
		number string
		ws     []*fixture
	}{
		{"two workspaces", "+15557000001", []*fixture{a, b}},
		{"one workspace", "+15557000002", []*fixture{a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20
			statuses := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				fx := tt.ws[i%len(tt.ws)]
				wg.Go(func() {
					<-start
					statuses[i] = env.req(t, "POST", fx.path("/phone-numbers"), fx.keys["admin"], itemBody("phone-numbers", tt.number)).status
				})
			}
			close(start)
			wg.Wait()
			created, conflicts, winner := 0, 0, ""
			for i, s := range statuses {
				switch s {
				case 201:
					created++
					winner = tt.ws[i%len(tt.ws)].id
				case 409:
					conflicts++
				}
			}
			if created != 1 || conflicts != n-1 {
				t.Fatalf("statuses %v: %d created, %d conflicts", statuses, created, conflicts)
			}
			owner, err := env.store.Client().HGet(context.Background(), "edge:numbers", tt.number).Result()
			if err != nil || owner != winner {
				t.Fatalf("index says %q (%v), winner %s", owner, err, winner)
			}
			for _, fx := range tt.ws {
				want := 404
				if fx.id == winner {
					want = 200
				}
				env.must(t, want, "GET", fx.path("/phone-numbers/"+tt.number), fx.keys["viewer"], nil)
			}
		})
	}
}

// TestTrunkCarrierSettings round-trips the trunk fields of design section
// 10 through the API; the password stays write-only.
func TestTrunkCarrierSettings(t *testing.T) {
	env := newTestEnv(t)
	fx := env.newWorkspace(t, tenancy.EnvDevelopment)
	admin := fx.keys["admin"]
	env.must(t, 201, "POST", fx.path("/trunks"), admin, map[string]any{
		"id": "carrier", "name": "Carrier", "allowed_cidrs": []string{"192.0.2.0/24"}, "username": "clinic", "password": "correct-horse-battery",
		"default_country_code": "1", "max_requests_per_second": 800, "accepts_refer": true,
	})
	r := env.req(t, "GET", fx.path("/trunks/carrier"), admin, nil)
	if r.status != 200 {
		t.Fatalf("get trunk: %d %s", r.status, r.body)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got["default_country_code"] != "1" || got["max_requests_per_second"] != float64(800) || got["accepts_refer"] != true {
		t.Fatalf("trunk %s", r.body)
	}
	if strings.Contains(string(r.body), "correct-horse-battery") {
		t.Fatalf("password returned: %s", r.body)
	}
}
