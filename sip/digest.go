package sip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/voiceedge/edge/routing"
)

// digestAuth challenges trunks that have credentials with digest
// authentication (RFC 3261 section 22, RFC 7616, and SHA-256 beside MD5 as
// RFC 8760 adds; 407 and Proxy-Authenticate, as the edge fronts the
// service like a proxy). Nonces are stateless: an expiry time and random
// bytes signed with a per-process key, so any retransmission or a second
// INVITE within NonceTTL can reuse one; an accepted (nonce, cnonce, nc) is
// remembered per trunk until the nonce expires so a captured INVITE cannot
// be replayed (digest_replay.go).
type digestAuth struct {
	realm  string
	ttl    time.Duration
	key    []byte
	now    func() time.Time
	replay *replayGuard
}

const (
	nonceRandLen = 8
	nonceMACLen  = 16
	// maxAuthHeader bounds the Proxy-Authorization value we parse.
	maxAuthHeader = 2048
)

// digestAlgorithms are the algorithms challenged, in the order sent (RFC
// 8760 section 2.4: one Proxy-Authenticate per algorithm). MD5 comes first
// because many carrier UAs (and SIPp) read only the first challenge and
// know only MD5; a UA that prefers SHA-256 answers the second one, and
// either is verified.
var digestAlgorithms = []string{"MD5", "SHA-256"}

func newDigestAuth(realm string, ttl time.Duration) *digestAuth {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand never fails on supported platforms
	return &digestAuth{realm: realm, ttl: ttl, key: key, now: time.Now,
		replay: newReplayGuard(defaultReplayPerTrunk, defaultReplayPerSource, time.Now)}
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

// challenge returns the Proxy-Authenticate values: one per algorithm, all
// with the same nonce.
func (d *digestAuth) challenge(stale bool) []string {
	n := d.nonce()
	out := make([]string, 0, len(digestAlgorithms))
	for _, alg := range digestAlgorithms {
		c := digest.Challenge{Realm: d.realm, Nonce: n, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		out = append(out, c.String())
	}
	return out
}

// digestRequest is what of a request the credentials are checked against.
type digestRequest struct {
	method string
	uri    sip.Uri // the Request-URI
	src    netip.Addr
}

// authOutcome is the result of verify.
type authOutcome int

const (
	authOK authOutcome = iota
	authMissing
	authWrong
	authStale
)

// verify checks the Proxy-Authorization values of a request against the
// trunk's credentials. Only credentials for our realm count, and only for
// the request's own Request-URI (RFC 7616 section 3.4.6: the digest-uri
// names the resource the response is computed for).
func (d *digestAuth) verify(r digestRequest, values []string, t *routing.Trunk) authOutcome {
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
		if cred.Username != t.Username || cred.Userhash || !sameResource(cred.URI, r.uri) {
			continue
		}
		alg := strings.ToUpper(cred.Algorithm)
		if alg != "" && !slices.Contains(digestAlgorithms, alg) {
			continue
		}
		qop := ""
		if cred.QOP != "" {
			if cred.QOP != "auth" || cred.Cnonce == "" || cred.Nc <= 0 {
				continue
			}
			qop = "auth"
		}
		want, ok := responseFromHA1(t, d.realm, alg, r.method, cred.URI, cred.Nonce, cred.Cnonce, cred.Nc, qop)
		if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(cred.Response))) != 1 {
			continue
		}
		if stale {
			return authStale
		}
		if !d.replay.firstUse(replayTrunkKey(t.WorkspaceID, t.ID), r.src, cred.Nonce, cred.Cnonce, cred.Nc, expiry) {
			continue
		}
		return authOK
	}
	return outcome
}

// sameResource reports whether a digest-uri names the Request-URI: the
// same scheme, host and port (parameters and header fields aside), and the
// same user, or none: some UAs (SIPp among them) compute the digest over
// the Request-URI's host alone, as for REGISTER. A response computed for
// another number or another host is refused either way.
func sameResource(digestURI string, ruri sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(digestURI, &u); err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, ruri.Scheme) && (u.User == ruri.User || u.User == "") &&
		strings.EqualFold(u.Host, ruri.Host) && u.Port == ruri.Port
}
