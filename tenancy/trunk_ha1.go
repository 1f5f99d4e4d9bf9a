package tenancy

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
)

// DigestHA1 is what digest verification needs of a trunk's password: HA1
// = H(username ":" realm ":" password) for the realm edges challenge with
// (RFC 7616 section 3.4.2), in MD5 and SHA-256 (RFC 8760). The password
// itself is never stored: the control plane hashes it on write.
type DigestHA1 struct {
	Realm  string `json:"realm"`
	MD5    string `json:"md5"`
	SHA256 string `json:"sha256"`
}

// NewDigestHA1 returns the HA1s of username and password in realm.
func NewDigestHA1(realm, username, password string) *DigestHA1 {
	a1 := username + ":" + realm + ":" + password
	m := md5.Sum([]byte(a1))
	s := sha256.Sum256([]byte(a1))
	return &DigestHA1{Realm: realm, MD5: hex.EncodeToString(m[:]), SHA256: hex.EncodeToString(s[:])}
}
