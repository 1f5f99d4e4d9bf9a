package admin

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// principalCase is who calls in the matrix: a role of the workspace, the
// platform token, no token or an unknown key.
type principalCase string

const (
	asNone     principalCase = "no-key"
	asUnknown  principalCase = "unknown-key"
	asPlatform principalCase = "platform"
)

var matrixPrincipals = []principalCase{"owner", "admin", "member", "viewer", asPlatform, asNone, asUnknown}

// wantAccess is design section 4's matrix for every route, written out
// independently of the route table: the least role allowed, "public",
// "platform" (platform token only), and "+platform" when the platform
// token may also call it.
func wantAccess() map[string]string {
	w := map[string]string{
		"GET /healthz":                                 "public",
		"GET /readyz":                                  "public",
		"GET /metrics":                                 "public",
		"GET /v1/openapi.json":                         "public",
		"GET /v1/regulation-templates":                 "public",
		"POST /v1/workspaces":                          "platform",
		"GET /v1/workspaces/{ws}":                      "viewer+platform",
		"PATCH /v1/workspaces/{ws}":                    "owner+platform",
		"DELETE /v1/workspaces/{ws}":                   "owner+platform",
		"GET /v1/workspaces/{ws}/calls":                "viewer",
		"GET /v1/workspaces/{ws}/calls/{id}":           "viewer",
		"POST /v1/workspaces/{ws}/calls/{id}/hangup":   "member",
		"POST /v1/workspaces/{ws}/calls":               "member",
		"GET /v1/workspaces/{ws}/events":               "viewer",
		"POST /v1/workspaces/{ws}/promotions":          "admin",
		"POST /v1/workspaces/{ws}/events":              "member",
		"GET /v1/workspaces/{ws}/entities/{kind}":      "viewer",
		"GET /v1/workspaces/{ws}/entities/{kind}/{id}": "viewer",
		"POST /v1/workspaces/{ws}/projections/rebuild": "admin",
		"GET /v1/call-context":                         "calltoken",
		"POST /v1/call-context/events":                 "calltoken",
		"GET /v1/workspaces/{ws}/accounts":             "viewer",
		"POST /v1/workspaces/{ws}/accounts":            "owner",
		"GET /v1/workspaces/{ws}/accounts/{id}":        "viewer",
		"PUT /v1/workspaces/{ws}/accounts/{id}":        "owner",
		"DELETE /v1/workspaces/{ws}/accounts/{id}":     "owner",
		"GET /v1/workspaces/{ws}/api-keys":             "viewer",
		"POST /v1/workspaces/{ws}/api-keys":            "member",
		"GET /v1/workspaces/{ws}/api-keys/{id}":        "viewer",
		"DELETE /v1/workspaces/{ws}/api-keys/{id}":     "member",
		"GET /v1/workspaces/{ws}/voice-settings":       "viewer",
		"PUT /v1/workspaces/{ws}/voice-settings":       "admin",
		"GET /v1/workspaces/{ws}/operator-config":      "viewer",
		"PUT /v1/workspaces/{ws}/operator-config":      "admin",
		"GET /v1/workspaces/{ws}/billing":              "viewer",
		"PUT /v1/workspaces/{ws}/billing":              "owner",
	}
	for _, c := range []string{"services", "phone-numbers", "trunks", "safety-policies", "data-sources", "outbound-trunks"} {
		base := "/v1/workspaces/{ws}/" + c
		w["GET "+base], w["POST "+base] = "viewer", "admin"
		w["GET "+base+"/{id}"], w["PUT "+base+"/{id}"], w["DELETE "+base+"/{id}"] = "viewer", "admin", "admin"
	}
	return w
}

var roleRank = map[string]int{"owner": 0, "admin": 1, "member": 2, "viewer": 3}

// expect is the status class a principal gets on a route: 2 (any 2xx),
// 401, 403.
func expect(access string, who principalCase) int {
	min, platformToo := strings.CutSuffix(access, "+platform")
	switch {
	case min == "public":
		return 2
	case who == asNone || who == asUnknown:
		return 401
	case min == "calltoken":
		return 403 // API keys and the platform token are not call tokens
	case who == asPlatform:
		if min == "platform" || platformToo {
			return 2
		}
		return 403
	case min == "platform":
		return 403
	case roleRank[string(who)] <= roleRank[min]:
		return 2
	}
	return 403
}

// matrixWorld holds the workspaces the matrix and the isolation tests run
// against: main is a production workspace that allows direct changes (so
// that promotions into it and direct writes both work), with one item of
// every kind and an active call.
type matrixWorld struct {
	env     *testEnv
	main    *fixture
	staging *fixture
	extra   string // an account to PUT
}

var mainIDs = map[string]string{
	"services": "svc-main", "phone-numbers": "+15550000001", "trunks": "trunk-main",
	"safety-policies": "sp-main", "data-sources": "ds-main", "outbound-trunks": "otrunk-main",
}

func newMatrixWorld(t *testing.T, env *testEnv) *matrixWorld {
	t.Helper()
	w := &matrixWorld{env: env, main: env.newWorkspace(t, tenancy.EnvProduction), staging: env.newWorkspace(t, tenancy.EnvStaging)}
	w.populate(t, w.main, mainIDs["phone-numbers"])
	env.must(t, 201, "POST", w.staging.path("/services"), w.staging.keys["admin"], itemBody("services", "svc-main"))
	var a tenancy.Account
	env.must(t, 201, "POST", w.main.path("/accounts"), w.main.keys["owner"], map[string]any{"name": "Extra", "email": "extra@example.org", "role": "viewer"}).decode(t, &a)
	w.extra = a.ID
	return w
}

// populate gives fx one item of every kind (its phone number is number)
// and an active call.
func (w *matrixWorld) populate(t *testing.T, fx *fixture, number string) {
	t.Helper()
	owner := fx.keys["owner"]
	w.env.must(t, 200, "PATCH", "/v1/workspaces/"+fx.id, owner, map[string]any{"settings": map[string]any{"allow_direct_changes": true}})
	for _, kind := range []string{"services", "phone-numbers", "trunks", "safety-policies", "data-sources", "outbound-trunks"} {
		id := mainIDs[kind]
		if kind == "phone-numbers" {
			id = number
		}
		body := itemBody(kind, id)
		if kind == "trunks" { // trunk CIDRs of two workspaces may not overlap
			n, _ := strconv.Atoi(number[len(number)-2:])
			body["allowed_cidrs"] = []string{"198.18." + strconv.Itoa(n) + ".0/24"}
		}
		w.env.must(t, 201, "POST", fx.path("/"+kind), owner, body)
	}
	w.env.admitCall(t, fx.id, "call-main")
	w.env.callEvent(t, fx.id, "call-main", tenancy.EventCallStarted, map[string]any{"from": matrixCaller, "to": number, "service_id": "svc-main"})
}

// matrixCaller is the caller of the matrix workspaces' active call.
const matrixCaller = "+15557770000"

// itemBody is a valid body of an item of kind with id.
func itemBody(kind, id string) map[string]any {
	switch kind {
	case "services":
		return map[string]any{"id": id, "name": "Front desk", "target": "sip:agent@10.0.0.5:5070;transport=udp"}
	case "phone-numbers":
		return map[string]any{"number": id, "service_id": "svc-main", "label": "Main line"}
	case "trunks":
		return map[string]any{"id": id, "name": "Carrier", "allowed_cidrs": []string{"203.0.113.0/24"}, "username": "carrier", "password": "secret-password-1"}
	case "safety-policies":
		return map[string]any{"id": id, "name": "No diagnoses", "regulation_templates": []string{"emergency-988-routing"},
			"monitor_concepts": []map[string]string{{"concept": "diagnosis_request", "severity": "medium"}},
			"escalation_rules": []map[string]string{{"concept": "medical_emergency", "action": "escalate", "mode": "barge"}}}
	case "outbound-trunks":
		return map[string]any{"id": id, "name": "Termination", "gateways": []map[string]any{{"host": "198.51.100.10", "priority": 1, "weight": 1}},
			"username": "clinic", "password": "carrier-secret-1", "caller_id": map[string]any{"mode": "own_numbers"}, "allowed_prefixes": []string{"+1"}}
	case "data-sources":
		return map[string]any{"id": id, "kind": "fhir", "base_url": "https://ehr.example.org/fhir", "credentials": map[string]string{"token": "s3cret"}}
	}
	return nil
}

// uniqueID is a fresh id of kind.
func (w *matrixWorld) uniqueID(kind string) string {
	n := w.env.seq.Add(1)
	if kind == "phone-numbers" {
		return fmt.Sprintf("+1555%07d", 1000+n)
	}
	return fmt.Sprintf("x-%d", n)
}

// shot is one request of a route.
type shot struct {
	ws     *fixture // whose keys call
	path   string
	body   any
	header []string
}

// shotFor makes a request of rt against workspace fx. With setup, what a
// destructive request needs is created first (a fresh workspace to
// delete, an item, account or key of the caller's own); without, it aims
// at fx's existing things.
func (w *matrixWorld) shotFor(t *testing.T, rt *route, fx *fixture, who principalCase, setup bool) shot {
	t.Helper()
	env := w.env
	s := shot{ws: fx}
	id := ""
	parts := strings.Split(strings.TrimPrefix(rt.path, "/v1/workspaces/{ws}/"), "/")
	kind := parts[0]
	switch rt.pattern() {
	case "POST /v1/workspaces":
		s.body = map[string]any{"name": "New clinic", "environment": "development", "owner": map[string]string{"name": "O", "email": "o@example.org"}}
	case "PATCH /v1/workspaces/{ws}":
		s.body = map[string]any{"name": "Matrix clinic"}
	case "DELETE /v1/workspaces/{ws}":
		if setup {
			s.ws = env.newWorkspace(t, tenancy.EnvDevelopment)
		}
	case "GET /v1/workspaces/{ws}/calls/{id}", "POST /v1/workspaces/{ws}/calls/{id}/hangup":
		id = "call-main"
		if rt.method == "POST" {
			s.body = map[string]any{"reason": "test"}
		}
	case "POST /v1/workspaces/{ws}/calls":
		s.body = map[string]any{"from": mainIDs["phone-numbers"], "to": "+15551230000", "service_id": "svc-main"}
	case "POST /v1/workspaces/{ws}/promotions":
		s.body = map[string]any{"from_workspace": w.staging.id, "dry_run": true}
		s.header = []string{SourceAuthorizationHeader, "Bearer " + w.staging.keys["admin"]}
	case "POST /v1/workspaces/{ws}/accounts":
		s.body = map[string]any{"name": "New", "email": fmt.Sprintf("new%d@example.org", env.seq.Add(1)), "role": "member"}
	case "GET /v1/workspaces/{ws}/accounts/{id}":
		id = fx.accounts["owner"]
	case "PUT /v1/workspaces/{ws}/accounts/{id}":
		id = w.extra
		s.body = map[string]any{"name": "Extra", "email": "extra@example.org", "role": "viewer"}
	case "DELETE /v1/workspaces/{ws}/accounts/{id}":
		id = fx.accounts["viewer"]
		if setup {
			var a tenancy.Account
			env.must(t, 201, "POST", fx.path("/accounts"), fx.keys["owner"], map[string]any{"name": "Gone", "email": fmt.Sprintf("gone%d@example.org", env.seq.Add(1)), "role": "viewer"}).decode(t, &a)
			id = a.ID
		}
	case "POST /v1/workspaces/{ws}/api-keys":
		s.body = map[string]any{"name": "laptop"}
	case "GET /v1/workspaces/{ws}/api-keys/{id}":
		id = fx.keyIDs["owner"]
	case "DELETE /v1/workspaces/{ws}/api-keys/{id}":
		id = fx.keyIDs["owner"]
		if setup {
			account := fx.accounts["owner"]
			if a, ok := fx.accounts[tenancy.Role(who)]; ok {
				account = a
			}
			c, err := env.store.CreateAPIKey(context.Background(), tenancy.PlatformPrincipal, fx.id, account, "doomed")
			if err != nil {
				t.Fatalf("create key: %v", err)
			}
			id = c.Key.ID
		}
	case "POST /v1/workspaces/{ws}/events", "POST /v1/call-context/events":
		s.body = map[string]any{"type": "appointment.booked", "data": map[string]any{"slot": "09:00"}}
	case "GET /v1/workspaces/{ws}/entities/{kind}/{id}":
		id = matrixCaller
	case "PUT /v1/workspaces/{ws}/voice-settings":
		s.body = map[string]any{"tts_voice": "alloy", "speed": 1.1, "keyterms": []string{"Dr. Patel"}, "sensitive_topics": []string{}}
	case "PUT /v1/workspaces/{ws}/operator-config":
		s.body = map[string]any{"operators": []string{}, "modes": []string{"listen", "whisper"}}
	case "PUT /v1/workspaces/{ws}/billing":
		s.body = map[string]any{"plan": "standard", "contact_email": "billing@example.org"}
	default:
		if _, ok := mainIDs[kind]; ok {
			switch {
			case rt.method == "POST":
				s.body = itemBody(kind, w.uniqueID(kind))
			case rt.method == "PUT":
				id = w.uniqueID(kind)
				s.body = itemBody(kind, id)
			case rt.method == "DELETE" && setup:
				id = w.uniqueID(kind)
				env.must(t, 201, "POST", fx.path("/"+kind), fx.keys["owner"], itemBody(kind, id))
			default:
				id = mainIDs[kind]
			}
		}
	}
	s.path = strings.ReplaceAll(rt.path, "{ws}", s.ws.id)
	s.path = strings.ReplaceAll(s.path, "{kind}", "callers")
	s.path = strings.ReplaceAll(s.path, "{id}", url.PathEscape(id))
	return s
}

// token is the Authorization a principal case sends with a shot.
func (s shot) token(who principalCase) string {
	switch who {
	case asNone:
		return ""
	case asUnknown:
		return "edk_thisisnotakeythisisnotakeythisisnotakey"
	case asPlatform:
		return testPlatformToken
	}
	return s.ws.keys[tenancy.Role(who)]
}

// TestRoleMatrix runs every route of the route table as every role, the
// platform token, no key and an unknown key, and checks 2xx/401/403
// against design section 4.
func TestRoleMatrix(t *testing.T) {
	env := newTestEnv(t)
	w := newMatrixWorld(t, env)
	want := wantAccess()
	if len(want) != len(env.srv.routes) {
		t.Errorf("the matrix lists %d routes, the route table has %d", len(want), len(env.srv.routes))
	}
	for i := range env.srv.routes {
		rt := &env.srv.routes[i]
		access, ok := want[rt.pattern()]
		if !ok {
			t.Errorf("route %s is not in the matrix", rt.pattern())
			continue
		}
		for _, who := range matrixPrincipals {
			t.Run(rt.pattern()+"/"+string(who), func(t *testing.T) {
				s := w.shotFor(t, rt, w.main, who, true)
				res := env.req(t, rt.method, s.path, s.token(who), s.body, s.header...)
				got, exp := res.status, expect(access, who)
				if exp == 2 && (got < 200 || got > 299) || exp != 2 && got != exp {
					t.Fatalf("%s %s as %s: status %d, want %d: %s", rt.method, s.path, who, got, exp, res.body)
				}
				if got == 401 && res.header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
				if exp != 2 {
					e := res.apiErr(t)
					if e.Code == "" || e.Message == "" {
						t.Errorf("error body without code or message: %s", res.body)
					}
				}
			})
		}
	}
}
