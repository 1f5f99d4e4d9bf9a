package admin

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// TestSharedAddressNeverLocksOutValidKeys is issue 10's lockout: behind one
// ingress or hospital NAT every tenant shares an address, and one client's
// bad keys must not refuse another workspace's valid key.
func TestSharedAddressNeverLocksOutValidKeys(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.AuthFailRate, c.AuthFailBurst = 0.01, 3
		c.IPRate, c.IPBurst = 0.01, 5
	})
	a := env.newWorkspace(t, tenancy.EnvDevelopment)
	b := env.newWorkspace(t, tenancy.EnvDevelopment)
	for i := 0; i < 3; i++ {
		env.must(t, 401, "GET", a.path(""), "edk_guessguessguessguessguess", nil)
	}
	env.must(t, 429, "GET", a.path(""), "edk_guessguessguessguessguess", nil)
	env.must(t, 429, "GET", a.path(""), "", nil)
	// Every role of the other workspace, from the same address, many times.
	for i := 0; i < 10; i++ {
		for _, role := range []tenancy.Role{"owner", "admin", "member", "viewer"} {
			env.must(t, 200, "GET", b.path("/services"), b.keys[role], nil)
		}
	}
	// And the locked-out client's own workspace, with its valid key.
	env.must(t, 200, "GET", a.path(""), a.keys["owner"], nil)
}

// TestClientIPTrustsOnlyConfiguredProxies checks which address the
// per-address limits count.
func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::1/128")}}}
	tests := []struct {
		name, peer string
		header     []string
		want       string
	}{
		{"direct client", "192.0.2.7:5000", nil, "192.0.2.7"},
		{"forged XFF from an untrusted peer", "192.0.2.7:5000", []string{"X-Forwarded-For", "203.0.113.9"}, "192.0.2.7"},
		{"XFF through a trusted proxy", "10.1.2.3:443", []string{"X-Forwarded-For", "198.51.100.4"}, "198.51.100.4"},
		{"client forged the left of XFF", "10.1.2.3:443", []string{"X-Forwarded-For", "1.2.3.4, 198.51.100.4"}, "198.51.100.4"},
		{"two trusted proxies", "10.1.2.3:443", []string{"X-Forwarded-For", "198.51.100.4, 10.1.9.9"}, "198.51.100.4"},
		{"Forwarded wins over XFF", "10.1.2.3:443", []string{"Forwarded", `for="[2001:db8::7]:4711";proto=https`, "X-Forwarded-For", "198.51.100.4"}, "2001:db8::7"},
		{"Forwarded with a port", "[::1]:443", []string{"Forwarded", "for=192.0.2.60:80, for=10.1.0.1"}, "192.0.2.60"},
		{"garbled hop", "10.1.2.3:443", []string{"X-Forwarded-For", "unknown"}, "10.1.2.3"},
		{"trusted proxy, no header", "10.1.2.3:443", nil, "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/workspaces", nil)
			r.RemoteAddr = tc.peer
			for i := 0; i+1 < len(tc.header); i += 2 {
				r.Header.Set(tc.header[i], tc.header[i+1])
			}
			if got := s.clientIP(r); got != tc.want {
				t.Errorf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
}
