package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"

	"github.com/voiceedge/edge/routing"
)

// digestAuth challenges trunks that have credentials with RFC 2617 / RFC
// 3261 section 22 digest authentication (407 and Proxy-Authenticate, as
// the edge fronts the service like a proxy). Nonces are stateless: an
// expiry time and random bytes signed with a per-process key, so any
// retransmission or a second INVITE within NonceTTL can reuse one; an
// accepted (nonce, cnonce, nc) is remembered until the nonce expires so a
// captured INVITE cannot be replayed.
type digestAuth struct {
	realm string
	ttl   time.Duration
	key   []byte
	now   func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // response digest -> nonce expiry
}

const (
	nonceRandLen = 8
	nonceMACLen  = 16
	maxUsed      = 200_000
	// maxAuthHeader bounds the Proxy-Authorization value we parse.
	maxAuthHeader = 2048
)

func newDigestAuth(realm string, ttl time.Duration) *digestAuth {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	return &digestAuth{realm: realm, ttl: ttl, key: key, now: time.Now, used: make(map[string]time.Time)}
}

// nonce returns a fresh signed nonce.
func (d *digestAuth) nonce() string {
	var b [8 + nonceRandLen + nonceMACLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(d.now().Add(d.ttl).Unix()))
	_, _ = rand.Read(b[8 : 8+nonceRandLen])
	copy(b[8+nonceRandLen:], d.mac(b[:8+nonceRandLen]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (d *digestAuth) mac(b []byte) []byte {
	h := hmac.New(sha256.New, d.key)
	h.Write(b)
	return h.Sum(nil)[:nonceMACLen]
}

// checkNonce reports whether n is one of ours, and if so its expiry and
// whether it has expired (stale, RFC 2617 section 3.2.1).
func (d *digestAuth) checkNonce(n string) (expiry time.Time, ours, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 8+nonceRandLen+nonceMACLen {
		return time.Time{}, false, false
	}
	if !hmac.Equal(b[8+nonceRandLen:], d.mac(b[:8+nonceRandLen])) {
		return time.Time{}, false, false
	}
	expiry = time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return expiry, true, !d.now().Before(expiry)
}

// challenge returns a Proxy-Authenticate value.
func (d *digestAuth) challenge(stale bool) string {
	c := digest.Challenge{Realm: d.realm, Nonce: d.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return c.String()
}

// authOutcome is the result of verify.
type authOutcome int

const (
	authOK authOutcome = iota
	authMissing
	authWrong
	authStale
)

// verify checks the Proxy-Authorization values of a request of method
// against the trunk's credentials. Only credentials for our realm count.
func (d *digestAuth) verify(method string, values []string, t *routing.Trunk) authOutcome {
	outcome := authMissing
	for _, v := range values {
		if len(v) > maxAuthHeader || !digest.IsDigest(v) {
			continue
		}
		cred, err := digest.ParseCredentials(v)
		if err != nil || cred.Realm != d.realm {
			continue
		}
		outcome = authWrong
		expiry, ours, stale := d.checkNonce(cred.Nonce)
		if !ours {
			continue
		}
		if cred.Username != t.Username || cred.Userhash {
			continue
		}
		alg := strings.ToUpper(cred.Algorithm)
		if alg != "" && alg != "MD5" {
			continue
		}
		chal := &digest.Challenge{Realm: d.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
		if cred.QOP != "" {
			if cred.QOP != "auth" || cred.Cnonce == "" || cred.Nc <= 0 {
				continue
			}
			chal.QOP = []string{"auth"}
		}
		want, err := digest.Digest(chal, digest.Options{
			Method: method, URI: cred.URI, Username: t.Username, Password: t.Password,
			Cnonce: cred.Cnonce, Count: cred.Nc,
		})
		if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(strings.ToLower(cred.Response))) != 1 {
			continue
		}
		if stale {
			return authStale
		}
		if !d.firstUse(cred.Response+"/"+cred.Nonce, expiry) {
			continue
		}
		return authOK
	}
	return outcome
}

// firstUse records a credential response and reports whether it is new.
func (d *digestAuth) firstUse(key string, expiry time.Time) bool {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, seen := d.used[key]; seen {
		return false
	}
	if len(d.used) >= maxUsed {
		for k, exp := range d.used {
			if !now.Before(exp) {
				delete(d.used, k)
			}
		}
		if len(d.used) >= maxUsed {
			return false
		}
	}
	d.used[key] = expiry
	return true
}
