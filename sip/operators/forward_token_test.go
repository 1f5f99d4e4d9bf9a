package operators

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func TestForwardTokenChecks(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	signer := newForwardSigner([]byte("a-secret-of-the-deployment-0123456789"))
	signer.now = func() time.Time { return now }
	other := newForwardSigner([]byte("another-deployment-secret-0123456789"))
	other.now = signer.now
	p := tenancy.Principal{WorkspaceID: "ws_a", AccountID: "acc_1", KeyID: "key_1", Role: tenancy.RoleMember}
	req := func(method, target string) *http.Request { return httptest.NewRequest(method, target, nil) }
	join := req(http.MethodPost, "/v1/calls/call_1/operators?mode=listen")
	sign := func(s *forwardSigner, r *http.Request) string {
		tok, err := s.sign(p, r, "node-b")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(signer, join)
	tests := []struct {
		name  string
		token string
		on    *http.Request
		at    time.Duration
		ok    bool
	}{
		{"valid", good, join, 0, true},
		{"replayed", good, join, 0, false},
		{"another request's method", sign(signer, join), req(http.MethodDelete, "/v1/calls/call_1/operators?mode=listen"), 0, false},
		{"another mode in the query", sign(signer, join), req(http.MethodPost, "/v1/calls/call_1/operators?mode=barge"), 0, false},
		{"another call", sign(signer, join), req(http.MethodPost, "/v1/calls/call_2/operators?mode=listen"), 0, false},
		{"expired", sign(signer, join), join, ForwardTTL + time.Second, false},
		{"signed by another deployment", sign(other, join), join, 0, false},
		{"tampered payload", tamper(sign(signer, join)), join, 0, false},
		{"no signature", strings.Split(sign(signer, join), ".")[0], join, 0, false},
		{"garbage", "!!!.???", join, 0, false},
		{"too long", strings.Repeat("a", 4096), join, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signer.now = func() time.Time { return now.Add(tc.at) }
			defer func() { signer.now = func() time.Time { return now } }()
			c, err := signer.verify(tc.token, tc.on)
			if (err == nil) != tc.ok {
				t.Fatalf("verify: %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (c.Workspace != p.WorkspaceID || c.Key != p.KeyID) {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

// tamper changes the workspace a token names, keeping its signature.
func tamper(tok string) string {
	payload, sig, _ := strings.Cut(tok, ".")
	return strings.Replace(payload, payload[:8], "eyJ3cyI6", 1) + "x." + sig
}

// sniffer records the requests one node forwards to another.
type sniffer struct {
	mu   sync.Mutex
	seen []http.Header
}

func (s *sniffer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.seen = append(s.seen, r.Header.Clone())
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestForwardCarriesNoBearerKey: the key an operator sent to node B never
// travels to node A; what does travel can't be replayed, can't be turned
// into another workspace's access, and stops working with the key.
func TestForwardCarriesNoBearerKey(t *testing.T) {
	r := tenancytest.StartRedis(t)
	sn := &sniffer{}
	a := newTestNode(t, r, nodeOptions{id: "node-a"})
	b := newTestNode(t, r, nodeOptions{id: "node-b", transport: sn})
	wsA := newTestWorkspace(t, a.store, "Alpha")
	wsB := newTestWorkspace(t, a.store, "Beta")
	call := a.addCall(t, wsA.id, a.id)
	path := "/v1/calls/" + call + "/operators/0123456789abcdef"
	res := do(t, http.MethodDelete, b.baseURL+path, wsA.keys["member"], "", nil)
	if res.status != http.StatusNotFound {
		t.Fatalf("forwarded leave of an unknown operator: %d %s", res.status, res.body)
	}
	sn.mu.Lock()
	seen := sn.seen
	sn.mu.Unlock()
	if len(seen) != 1 {
		t.Fatalf("%d forwarded requests, want 1", len(seen))
	}
	fwd := seen[0]
	if got := fwd.Get("Authorization"); got != "" {
		t.Fatalf("the forwarded request carried Authorization %q", got)
	}
	token := fwd.Get(ForwardTokenHeader)
	if token == "" || strings.Contains(token, wsA.keys["member"]) {
		t.Fatalf("forward token %q", token)
	}
	send := func(method, p, tok string) int {
		req, _ := http.NewRequest(method, a.baseURL+p, nil)
		req.Header.Set(ForwardTokenHeader, tok)
		req.Header.Set(ForwardedHeader, "node-b")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := send(http.MethodDelete, path, token); got != http.StatusUnauthorized {
		t.Errorf("captured token replayed at A: %d, want 401", got)
	}
	callB := a.addCall(t, wsB.id, a.id)
	if got := send(http.MethodDelete, "/v1/calls/"+callB+"/operators/0123456789abcdef", token); got != http.StatusUnauthorized {
		t.Errorf("captured token on another workspace's call: %d, want 401", got)
	}
	// A fresh token of a key revoked since: A resolves the key itself.
	p := tenancy.Principal{WorkspaceID: wsA.id, KeyID: "key_gone", AccountID: "acc_gone", Role: tenancy.RoleOwner}
	tok, err := b.h.signer.sign(p, httptest.NewRequest(http.MethodDelete, path, nil), "node-b")
	if err != nil {
		t.Fatal(err)
	}
	if got := send(http.MethodDelete, path, tok); got != http.StatusUnauthorized {
		t.Errorf("token of an unknown key: %d, want 401", got)
	}
}
