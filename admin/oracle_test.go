package admin

import (
	"strings"
	"testing"
)

// TestClaimOracles tries to learn through claims what another workspace
// holds: a number claim answers one body whether the number is another
// workspace's or the claimer's own, and a trunk CIDR overlapping another
// workspace's answers one body whichever trunk it overlaps; a CIDR wider
// than the platform allows is a 422 naming allowed_cidrs.
func TestClaimOracles(t *testing.T) {
	env := newTestEnv(t)
	a, b, c := env.newWorkspace(t, "development"), env.newWorkspace(t, "development"), env.newWorkspace(t, "development")
	for _, fx := range []*fixture{a, b} {
		env.must(t, 201, "POST", fx.path("/services"), fx.keys["admin"], itemBody("services", "svc-main"))
	}
	env.must(t, 201, "POST", a.path("/phone-numbers"), a.keys["admin"], itemBody("phone-numbers", "+15551230001"))
	env.must(t, 201, "POST", b.path("/phone-numbers"), b.keys["admin"], itemBody("phone-numbers", "+15551230002"))

	theirs := env.req(t, "POST", b.path("/phone-numbers"), b.keys["admin"], itemBody("phone-numbers", "+15551230001"))
	mine := env.req(t, "POST", b.path("/phone-numbers"), b.keys["admin"], itemBody("phone-numbers", "+15551230002"))
	// The bodies differ only by the number claimed.
	same := strings.ReplaceAll(string(theirs.body), "+15551230001", "N") == strings.ReplaceAll(string(mine.body), "+15551230002", "N")
	if theirs.status != 409 || mine.status != 409 || !same {
		t.Fatalf("a claim of another workspace's number answers %d %s, of one's own %d %s", theirs.status, theirs.body, mine.status, mine.body)
	}

	trunk := func(id string, cidrs ...string) map[string]any {
		return map[string]any{"id": id, "name": "T", "allowed_cidrs": cidrs}
	}
	env.must(t, 201, "POST", a.path("/trunks"), a.keys["admin"], trunk("ta", "203.0.113.0/24"))
	env.must(t, 201, "POST", c.path("/trunks"), c.keys["admin"], trunk("tc", "198.51.100.0/24"))
	overA := env.req(t, "POST", b.path("/trunks"), b.keys["admin"], trunk("tb", "203.0.113.64/26"))
	overC := env.req(t, "POST", b.path("/trunks"), b.keys["admin"], trunk("tb", "198.51.100.9"))
	if overA.status != 409 || overA.status != overC.status || string(overA.body) != string(overC.body) {
		t.Fatalf("overlaps answer %d %s and %d %s, want one 409", overA.status, overA.body, overC.status, overC.body)
	}
	env.must(t, 201, "POST", b.path("/trunks"), b.keys["admin"], trunk("tb", "192.0.2.0/24"))
	wide := env.req(t, "POST", b.path("/trunks"), b.keys["admin"], trunk("wide", "0.0.0.0/0"))
	if e := wide.apiErr(t); wide.status != 422 || e.Field != "allowed_cidrs" {
		t.Fatalf("0.0.0.0/0 trunk: %d %s, want 422 allowed_cidrs", wide.status, wide.body)
	}
}
