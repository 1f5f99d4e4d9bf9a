package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/voiceedge/edge/routing"
)

// responseFromHA1 computes the digest response a UA knowing the trunk's
// password sends, from the trunk's stored HA1 (RFC 7616 section 3.4.1:
// response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" H(A2)), or
// H(HA1 ":" nonce ":" H(A2)) without qop, A2 = method ":" digest-uri). The
// edge holds only HA1 = H(username ":" realm ":" password), so it verifies
// only for the realm the HA1 was computed for: ok is false for another
// realm or an algorithm the trunk has no HA1 of.
func responseFromHA1(t *routing.Trunk, realm, alg, method, uri, nonce, cnonce string, nc int, qop string) (string, bool) {
	if t.Realm != realm {
		return "", false
	}
	var ha1 string
	var h func() hash.Hash
	switch alg {
	case "", "MD5":
		ha1, h = t.HA1MD5, md5.New
	case "SHA-256":
		ha1, h = t.HA1SHA256, sha256.New
	default:
		return "", false
	}
	if ha1 == "" {
		return "", false
	}
	sum := func(s string) string {
		x := h()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha2 := sum(method + ":" + uri)
	if qop == "" {
		return sum(ha1 + ":" + nonce + ":" + ha2), true
	}
	return sum(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2)), true
}
