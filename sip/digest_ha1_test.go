package sip

import (
	"testing"

	"github.com/icholy/digest"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// ha1Trunk is a credentialed trunk as the edge loads it: HA1s for realm
// "edge", no password.
func ha1Trunk(id, ws, user, pass string) *routing.Trunk {
	h := tenancy.NewDigestHA1("edge", user, pass)
	return &routing.Trunk{ID: id, WorkspaceID: ws, Username: user, Realm: h.Realm, HA1MD5: h.MD5, HA1SHA256: h.SHA256}
}

// TestDigestFromHA1 checks that a response computed by a UA from the
// password verifies against the stored HA1 alone, for MD5 and SHA-256, with
// and without qop, and that an HA1 of another realm verifies nothing.
func TestDigestFromHA1(t *testing.T) {
	tr := ha1Trunk("t", "ws_a", "carrier", "correct-horse-battery")
	for _, alg := range []string{"MD5", "SHA-256"} {
		for _, qop := range []string{"", "auth"} {
			t.Run(alg+"/"+qop, func(t *testing.T) {
				chal := &digest.Challenge{Realm: "edge", Nonce: "n0nce", Algorithm: alg}
				opts := digest.Options{Method: "INVITE", URI: "sip:+15551230001@edge", Username: "carrier", Password: "correct-horse-battery"}
				if qop != "" {
					chal.QOP = []string{qop}
					opts.Cnonce, opts.Count = "c1", 3
				}
				cred, err := digest.Digest(chal, opts)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := responseFromHA1(tr, "edge", alg, "INVITE", opts.URI, "n0nce", opts.Cnonce, opts.Count, qop)
				if !ok || got != cred.Response {
					t.Fatalf("response from HA1 = %q, %v; UA sent %q", got, ok, cred.Response)
				}
				if _, ok := responseFromHA1(tr, "other-realm", alg, "INVITE", opts.URI, "n0nce", opts.Cnonce, opts.Count, qop); ok {
					t.Fatal("an HA1 of realm edge verified a challenge of another realm")
				}
			})
		}
	}
	t.Run("trunk without HA1", func(t *testing.T) {
		bare := &routing.Trunk{ID: "t", WorkspaceID: "ws_a", Username: "carrier", Realm: "edge"}
		if _, ok := responseFromHA1(bare, "edge", "MD5", "INVITE", "sip:x@y", "n", "", 0, ""); ok {
			t.Fatal("a trunk without HA1 verified")
		}
	})
}
