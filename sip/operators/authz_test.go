package operators

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// isolationEnv is one node with a live call in workspace A and a
// workspace B whose keys must learn nothing of it.
type isolationEnv struct {
	node *testNode
	a, b *testWorkspace
	call string // a call of A on the node
}

func newIsolationEnv(t *testing.T, cfg ...func(*Config)) *isolationEnv {
	t.Helper()
	r := tenancytest.StartRedis(t)
	// The matrix sends every route an unknown key: a budget of failures
	// that the matrix itself does not exhaust (limits_test.go tests it).
	o := nodeOptions{cfg: func(c *Config) { c.AuthFailBurst = 1000 }}
	if len(cfg) > 0 {
		o.cfg = func(c *Config) { c.AuthFailBurst = 1000; cfg[0](c) }
	}
	n := newTestNode(t, r, o)
	e := &isolationEnv{node: n, a: newTestWorkspace(t, n.store, "Alpha"), b: newTestWorkspace(t, n.store, "Beta")}
	e.call = n.addCall(t, e.a.id, n.id)
	n.addCall(t, e.b.id, n.id) // B has calls of its own
	return e
}

// join posts an offer to call as key and returns the response.
func (e *isolationEnv) join(t *testing.T, call, key, mode string, offer []byte) response {
	t.Helper()
	url := e.node.baseURL + "/v1/calls/" + call + "/operators"
	if mode != "" {
		url += "?mode=" + mode
	}
	return do(t, http.MethodPost, url, key, "application/sdp", offer)
}

// joinOK joins call as key's account with a pion operator and returns the
// operator session's path.
func (e *isolationEnv) joinOK(t *testing.T, key, mode string) (string, *pionOperator) {
	t.Helper()
	op := newPionOperator(t, true)
	res := e.join(t, e.call, key, mode, op.offer(t))
	if res.status != http.StatusCreated {
		t.Fatalf("join: %d %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	loc := res.header.Get("Location")
	if !strings.HasPrefix(loc, "/v1/calls/"+e.call+"/operators/") {
		t.Fatalf("Location %q", loc)
	}
	op.accept(t, res.body)
	return loc, op
}

// TestIsolationAndRoles is the cross-workspace and role matrix of every
// operator route: every role of another workspace gets exactly the 404 of
// a call that does not exist; a viewer 403; missing or unknown keys 401.
func TestIsolationAndRoles(t *testing.T) {
	e := newIsolationEnv(t)
	loc, _ := e.joinOK(t, e.a.keys["member"], "listen")
	opPath := e.node.baseURL + loc
	callPath := e.node.baseURL + "/v1/calls/" + e.call

	// The reference 404: a call id that exists nowhere, asked by A's owner.
	ref := do(t, http.MethodPost, e.node.baseURL+"/v1/calls/call_0000000000000000/operators?mode=listen", e.a.keys["owner"], "application/sdp", []byte("v=0"))
	if ref.status != http.StatusNotFound {
		t.Fatalf("reference 404: %d %s", ref.status, ref.body)
	}

	type reqSpec struct {
		name, method, url, ct string
		body                  []byte
	}
	offer := newPionOperator(t, true).offer(t)
	reqs := []reqSpec{
		{"join", http.MethodPost, callPath + "/operators?mode=listen", "application/sdp", offer},
		{"patch", http.MethodPatch, opPath, "application/json", []byte(`{"mode":"whisper"}`)},
		{"delete", http.MethodDelete, opPath, "", nil},
		{"get_call", http.MethodGet, callPath, "", nil},
		{"escalate", http.MethodPost, callPath + "/escalations", "application/json", []byte(`{"reason":"x"}`)},
	}

	t.Run("other workspace answers 404 like a call that does not exist", func(t *testing.T) {
		for _, role := range roles {
			for _, rq := range reqs {
				t.Run(role+"/"+rq.name, func(t *testing.T) {
					res := do(t, rq.method, rq.url, e.b.keys[role], rq.ct, rq.body)
					if res.status != http.StatusNotFound {
						t.Fatalf("%s by B's %s: %d %s", rq.name, role, res.status, res.body)
					}
					if !bytes.Equal(res.body, ref.body) {
						t.Fatalf("404 body differs from a nonexistent call's: %s vs %s", res.body, ref.body)
					}
				})
			}
		}
	})

	t.Run("other workspace's list does not show the call", func(t *testing.T) {
		res := do(t, http.MethodGet, e.node.baseURL+"/v1/calls", e.b.keys["owner"], "", nil)
		if res.status != http.StatusOK || bytes.Contains(res.body, []byte(e.call)) || bytes.Contains(res.body, []byte(e.a.accounts["member"])) {
			t.Fatalf("B's list: %d %s", res.status, res.body)
		}
	})

	t.Run("guessed call ids", func(t *testing.T) {
		for _, id := range []string{"call_" + randHex(8), e.call + "x", strings.Repeat("a", 200), "..%2F..%2Fv1", e.a.id} {
			res := do(t, http.MethodPost, e.node.baseURL+"/v1/calls/"+id+"/operators?mode=listen", e.a.keys["owner"], "application/sdp", offer)
			if res.status != http.StatusNotFound || !bytes.Equal(res.body, ref.body) {
				t.Fatalf("%q: %d %s", id, res.status, res.body)
			}
		}
	})

	t.Run("guessed operator ids", func(t *testing.T) {
		for _, id := range []string{randHex(8), "x", strings.Repeat("f", 16)} {
			res := do(t, http.MethodDelete, callPath+"/operators/"+id, e.a.keys["owner"], "", nil)
			if res.status != http.StatusNotFound {
				t.Fatalf("%q: %d %s", id, res.status, res.body)
			}
		}
		// The operator exists, but on another call of the same workspace.
		other := e.node.addCall(t, e.a.id, e.node.id)
		res := do(t, http.MethodDelete, e.node.baseURL+"/v1/calls/"+other+"/operators/"+lastSegment(loc), e.a.keys["owner"], "", nil)
		if res.status != http.StatusNotFound {
			t.Fatalf("operator under another call: %d %s", res.status, res.body)
		}
	})

	t.Run("viewer is refused with 403", func(t *testing.T) {
		for _, rq := range reqs {
			if rq.name == "get_call" {
				continue
			}
			res := do(t, rq.method, rq.url, e.a.keys["viewer"], rq.ct, rq.body)
			if res.status != http.StatusForbidden || res.apiError(t).Code != CodeForbidden {
				t.Fatalf("%s by viewer: %d %s", rq.name, res.status, res.body)
			}
		}
		if res := do(t, http.MethodGet, callPath, e.a.keys["viewer"], "", nil); res.status != http.StatusOK {
			t.Fatalf("viewer reads the call: %d %s", res.status, res.body)
		}
	})

	t.Run("unknown or missing key is 401", func(t *testing.T) {
		for name, key := range map[string]string{"missing": "", "unknown": "edk_" + randHex(32), "garbage": "not a key"} {
			for _, rq := range reqs {
				res := do(t, rq.method, rq.url, key, rq.ct, rq.body)
				if res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s key, %s: %d %s", name, rq.name, res.status, res.body)
				}
			}
		}
		req, _ := http.NewRequest(http.MethodGet, e.node.baseURL+"/v1/calls", nil)
		req.Header.Set("Authorization", "Basic "+e.a.keys["owner"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Basic scheme: %d", res.StatusCode)
		}
	})

	t.Run("another member of the workspace may not change the operator", func(t *testing.T) {
		res := do(t, http.MethodPatch, opPath, e.a.keys["outsider"], "application/json", []byte(`{"muted":true}`))
		if res.status != http.StatusForbidden {
			t.Fatalf("outsider PATCH: %d %s", res.status, res.body)
		}
	})

	t.Run("the operator survived every refused request", func(t *testing.T) {
		res := do(t, http.MethodGet, callPath, e.a.keys["member"], "", nil)
		if res.status != http.StatusOK || !bytes.Contains(res.body, []byte(lastSegment(loc))) {
			t.Fatalf("call view: %d %s", res.status, res.body)
		}
	})

	t.Run("nothing of A reached B's stream", func(t *testing.T) {
		for _, typ := range []string{tenancy.EventOperatorJoined, tenancy.EventOperatorLeft, tenancy.EventEscalationRequested} {
			if got := events(t, e.node.store, e.b.id, typ); len(got) != 0 {
				t.Fatalf("B has %s events: %v", typ, got)
			}
		}
	})
}

func lastSegment(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// TestJoinChecks covers what a join of a call of one's own workspace can
// get wrong, one cause per case.
func TestJoinChecks(t *testing.T) {
	e := newIsolationEnv(t, func(c *Config) { c.JoinBurst = 100 })
	offer := newPionOperator(t, true).offer(t)
	opus := newPionOperator(t, false).offer(t)
	ended := e.node.addCall(t, e.a.id, e.node.id)
	e.node.endCall(t, e.a.id, ended)

	cases := []struct {
		name   string
		call   string
		key    string
		mode   string
		ct     string
		body   []byte
		status int
		code   string
		field  string
		msg    string
	}{
		{name: "member not in the operator config", key: "outsider", mode: "listen", body: offer, status: 403, code: CodeForbidden, msg: "operator config"},
		{name: "mode not allowed by the operator config", key: "member", mode: "barge", body: offer, status: 403, code: CodeForbidden, msg: "barge"},
		{name: "unknown mode", key: "member", mode: "spy", body: offer, status: 422, code: CodeInvalid, field: "mode"},
		{name: "not SDP content type", key: "member", mode: "listen", ct: "application/json", body: []byte(`{}`), status: 415, code: CodeUnsupportedMedia},
		{name: "malformed SDP", key: "member", mode: "listen", body: []byte("hello, this is not SDP"), status: 400, code: CodeBadRequest, field: "sdp"},
		{name: "empty body", key: "member", mode: "listen", body: nil, status: 400, code: CodeBadRequest, field: "sdp"},
		{name: "oversize SDP", key: "member", mode: "listen", body: append(append([]byte{}, offer...), bytes.Repeat([]byte("a=x-padding:0123456789\r\n"), 3000)...), status: 400, code: CodeBadRequest, field: "sdp", msg: "larger"},
		{name: "offer without PCMU", key: "member", mode: "listen", body: opus, status: 422, code: CodeInvalid, field: "sdp", msg: "PCMU"},
		{name: "call ended", call: ended, key: "member", mode: "listen", body: offer, status: 409, code: CodeConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := tc.call
			if call == "" {
				call = e.call
			}
			ct := tc.ct
			if ct == "" {
				ct = "application/sdp"
			}
			res := do(t, http.MethodPost, e.node.baseURL+"/v1/calls/"+call+"/operators?mode="+tc.mode, e.a.keys[tc.key], ct, tc.body)
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			ae := res.apiError(t)
			if ae.Code != tc.code || ae.Field != tc.field || !strings.Contains(ae.Message, tc.msg) {
				t.Fatalf("error %+v, want code %s field %q message with %q", ae, tc.code, tc.field, tc.msg)
			}
		})
	}
	t.Run("nothing was joined", func(t *testing.T) {
		if n := len(e.node.h.ops.all()); n != 0 {
			t.Fatalf("%d operators after refused joins", n)
		}
		if got := events(t, e.node.store, e.a.id, tenancy.EventOperatorJoined); len(got) != 0 {
			t.Fatalf("operator.joined after refused joins: %v", got)
		}
	})
}

// TestOperatorSession joins, changes mode and mute, and leaves, with the
// events each writes.
func TestOperatorSession(t *testing.T) {
	e := newIsolationEnv(t)
	loc, op := e.joinOK(t, e.a.keys["member"], "")
	url := e.node.baseURL + loc
	key := e.a.keys["member"]
	opID := lastSegment(loc)

	waitEvent(t, e.node.store, e.a.id, tenancy.EventOperatorJoined, map[string]any{
		"operator_id": opID, "account_id": e.a.accounts["member"], "mode": "listen", "call_id": e.call}, 3*time.Second)
	waitFor(t, 5*time.Second, "audio to the operator", func() bool { return op.received.Load() > 10 })

	cases := []struct {
		name, ct, body string
		status         int
		field, mode    string
	}{
		{name: "switch to whisper", ct: "application/json", body: `{"mode":"whisper"}`, status: 200, mode: "whisper"},
		{name: "mute", ct: "application/json", body: `{"muted":true}`, status: 200, mode: "whisper"},
		{name: "mode not allowed", ct: "application/json", body: `{"mode":"barge"}`, status: 403},
		{name: "unknown mode", ct: "application/json", body: `{"mode":"spy"}`, status: 422, field: "mode"},
		{name: "wrong type", ct: "application/json", body: `{"muted":"yes"}`, status: 422, field: "muted"},
		{name: "empty object", ct: "application/json", body: `{}`, status: 422, field: "mode"},
		{name: "unknown field", ct: "application/json", body: `{"volume":3}`, status: 400},
		{name: "not JSON", ct: "application/json", body: `{"mode":`, status: 400},
		{name: "wrong content type", ct: "text/plain", body: `mode=barge`, status: 415},
		{name: "too large", ct: "application/json", body: `{"mode":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := do(t, http.MethodPatch, url, key, tc.ct, []byte(tc.body))
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if tc.status != 200 {
				if ae := res.apiError(t); ae.Field != tc.field {
					t.Fatalf("field %q, want %q (%s)", ae.Field, tc.field, res.body)
				}
				return
			}
			if !bytes.Contains(res.body, []byte(`"mode":"`+tc.mode+`"`)) {
				t.Fatalf("body %s, want mode %s", res.body, tc.mode)
			}
		})
	}
	t.Run("the call view shows the operator", func(t *testing.T) {
		res := do(t, http.MethodGet, e.node.baseURL+"/v1/calls", e.a.keys["viewer"], "", nil)
		want := `"account_id":"` + e.a.accounts["member"] + `","mode":"whisper","muted":true`
		if res.status != 200 || !bytes.Contains(res.body, []byte(want)) {
			t.Fatalf("list: %d %s, want %s", res.status, res.body, want)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		res := do(t, http.MethodPut, url, key, "application/json", []byte(`{}`))
		if res.status != http.StatusMethodNotAllowed || res.header.Get("Allow") == "" || res.apiError(t).Code != CodeMethodNotAllowed {
			t.Fatalf("PUT: %d %v %s", res.status, res.header, res.body)
		}
	})
	t.Run("leave", func(t *testing.T) {
		if res := do(t, http.MethodDelete, url, key, "", nil); res.status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", res.status, res.body)
		}
		waitEvent(t, e.node.store, e.a.id, tenancy.EventOperatorLeft, map[string]any{
			"operator_id": opID, "reason": "left", "mode": "whisper"}, 3*time.Second)
		if res := do(t, http.MethodDelete, url, key, "", nil); res.status != http.StatusNotFound {
			t.Fatalf("second DELETE: %d %s", res.status, res.body)
		}
		ops, err := e.node.store.ListOperators(context.Background(), e.a.id)
		if err != nil || len(ops) != 0 {
			t.Fatalf("presence after leaving: %v %v", ops, err)
		}
	})
	t.Run("an admin may remove another account's operator", func(t *testing.T) {
		loc, _ := e.joinOK(t, e.a.keys["member"], "listen")
		if res := do(t, http.MethodDelete, e.node.baseURL+loc, e.a.keys["admin"], "", nil); res.status != http.StatusNoContent {
			t.Fatalf("admin DELETE: %d %s", res.status, res.body)
		}
		waitEvent(t, e.node.store, e.a.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": lastSegment(loc), "reason": "removed"}, 3*time.Second)
	})
	t.Run("the end of the call takes the operator off", func(t *testing.T) {
		loc, _ := e.joinOK(t, e.a.keys["member"], "listen")
		e.node.endCall(t, e.a.id, e.call)
		waitEvent(t, e.node.store, e.a.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": lastSegment(loc), "reason": "call_ended"}, 5*time.Second)
	})
}

// TestJoinRateLimit: join attempts beyond the key's bucket are 429 with
// Retry-After, and another key is not affected.
func TestJoinRateLimit(t *testing.T) {
	e := newIsolationEnv(t)
	var limited response
	for i := 0; i < 10; i++ {
		res := e.join(t, e.call, e.a.keys["outsider"], "listen", []byte("v=0"))
		if res.status == http.StatusTooManyRequests {
			limited = res
			break
		}
		if res.status != http.StatusForbidden {
			t.Fatalf("attempt %d: %d %s", i, res.status, res.body)
		}
	}
	if limited.status != http.StatusTooManyRequests || limited.header.Get("Retry-After") == "" {
		t.Fatalf("no 429 after 10 attempts: %+v", limited)
	}
	if res := e.join(t, e.call, e.a.keys["viewer"], "listen", []byte("v=0")); res.status != http.StatusForbidden {
		t.Fatalf("another key: %d %s", res.status, res.body)
	}
}
