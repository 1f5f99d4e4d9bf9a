package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/voiceedge/edge/routing"
)

const digestTestURI = "sip:+15551230001@edge"

// digestAnswer is what a UA puts in Proxy-Authorization for chalHeader.
func digestAnswer(t *testing.T, chalHeader, uri, user, pass, cnonce string, nc int) string {
	t.Helper()
	chal, err := digest.ParseChallenge(chalHeader)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: uri, Username: user, Password: pass, Cnonce: cnonce, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func digestReq(t *testing.T, src string) digestRequest {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(digestTestURI, &u); err != nil {
		t.Fatal(err)
	}
	return digestRequest{method: "INVITE", uri: u, src: netip.MustParseAddr(src)}
}

func TestDigestVerify(t *testing.T) {
	trunk := ha1Trunk("t", "ws_a", "carrier", "correct-horse-battery")
	now := time.Unix(1_800_000_000, 0)
	d := newDigestAuth("edge", time.Minute)
	d.now = func() time.Time { return now }
	d.replay.now = d.now
	chals := d.challenge(false)
	if len(chals) != 2 || !strings.Contains(chals[0], "MD5") || !strings.Contains(chals[1], "SHA-256") {
		t.Fatalf("challenges %q, want MD5 then SHA-256 (RFC 8760)", chals)
	}
	md5, sha := chals[0], chals[1]
	ans := func(chal, uri, user, pass, cnonce string, nc int) string {
		return digestAnswer(t, chal, uri, user, pass, cnonce, nc)
	}
	good := ans(md5, digestTestURI, "carrier", "correct-horse-battery", "c1", 1)
	tests := []struct {
		name   string
		values []string
		at     time.Time
		want   authOutcome
	}{
		{name: "no credentials", want: authMissing},
		{name: "right credentials, MD5", values: []string{good}, want: authOK},
		{name: "replayed credentials", values: []string{good}, want: authWrong},
		{name: "replayed with the response in upper case", values: []string{upperResponse(good)}, want: authWrong},
		{name: "right credentials, SHA-256", values: []string{ans(sha, digestTestURI, "carrier", "correct-horse-battery", "c2", 1)}, want: authOK},
		{name: "same nonce, next nc", values: []string{ans(md5, digestTestURI, "carrier", "correct-horse-battery", "c1", 2)}, want: authOK},
		{name: "digest uri of another number", values: []string{ans(md5, "sip:+15551230002@edge", "carrier", "correct-horse-battery", "c3", 1)}, want: authWrong},
		{name: "digest uri of the host alone", values: []string{ans(md5, "sip:edge", "carrier", "correct-horse-battery", "c3b", 1)}, want: authOK},
		{name: "digest uri of another host", values: []string{ans(md5, "sip:+15551230001@elsewhere", "carrier", "correct-horse-battery", "c3c", 1)}, want: authWrong},
		{name: "wrong password", values: []string{ans(md5, digestTestURI, "carrier", "wrong-password-123", "c4", 1)}, want: authWrong},
		{name: "wrong user", values: []string{ans(md5, digestTestURI, "someone", "correct-horse-battery", "c5", 1)}, want: authWrong},
		{name: "forged nonce", values: []string{ans(`Digest realm="edge", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", qop="auth"`, digestTestURI, "carrier", "correct-horse-battery", "c6", 1)}, want: authWrong},
		{name: "other realm", values: []string{ans(`Digest realm="other", nonce="x"`, digestTestURI, "carrier", "correct-horse-battery", "c7", 1)}, want: authMissing},
		{name: "expired nonce", values: []string{ans(md5, digestTestURI, "carrier", "correct-horse-battery", "c8", 1)}, at: now.Add(2 * time.Minute), want: authStale},
		{name: "garbage", values: []string{"Digest ,,,=\"", "Basic Zm9v"}, want: authMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.at.IsZero() {
				d.now = func() time.Time { return tc.at }
				defer func() { d.now = func() time.Time { return now } }()
			}
			if got := d.verify(digestReq(t, "192.0.2.10"), tc.values, trunk); got != tc.want {
				t.Errorf("verify = %v, want %v", got, tc.want)
			}
		})
	}
}

// upperResponse spells the response= of a credential in upper case.
func upperResponse(cred string) string {
	i := strings.Index(cred, `response="`)
	if i < 0 {
		return cred
	}
	j := strings.Index(cred[i+10:], `"`)
	return cred[:i+10] + strings.ToUpper(cred[i+10:i+10+j]) + cred[i+10+j:]
}

// TestDigestReplayTableIsPerTrunk fills one tenant's trunk table with valid
// logins (as an admin of workspace A can, with new cnonces to unknown
// numbers) and shows another tenant's trunk still logging in.
func TestDigestReplayTableIsPerTrunk(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	d := newDigestAuth("edge", time.Minute)
	d.now = func() time.Time { return now }
	d.replay = newReplayGuard(50, 20, d.now)
	a := ha1Trunk("carrier", "ws_a", "a", "password-of-a")
	b := ha1Trunk("carrier", "ws_b", "b", "password-of-b")
	md5 := d.challenge(false)[0]
	passwords := map[*routing.Trunk]string{a: "password-of-a", b: "password-of-b"}
	login := func(tr *routing.Trunk, src, cnonce string) authOutcome {
		return d.verify(digestReq(t, src), []string{digestAnswer(t, md5, digestTestURI, tr.Username, passwords[tr], cnonce, 1)}, tr)
	}
	// One source of A at its per-source bound: that source only fails.
	for i := 0; i < 20; i++ {
		if got := login(a, "192.0.2.1", fmt.Sprint("s1-", i)); got != authOK {
			t.Fatalf("login %d of A from its first source: %v", i, got)
		}
	}
	if got := login(a, "192.0.2.1", "s1-over"); got == authOK {
		t.Errorf("A's first source past its bound: accepted, want refused")
	}
	if got := login(a, "192.0.2.2", "s2-0"); got != authOK {
		t.Errorf("A's second source while the first is at its bound: %v, want OK", got)
	}
	// A's whole trunk at its bound, from many sources.
	for i := 0; i < 40; i++ {
		login(a, fmt.Sprintf("192.0.2.%d", 3+i%10), fmt.Sprint("flood-", i))
	}
	if got := login(a, "192.0.2.99", "fresh"); got == authOK {
		t.Errorf("A past its trunk bound: accepted, want refused")
	}
	// B, same trunk id in another workspace, is untouched.
	for i := 0; i < 10; i++ {
		if got := login(b, "198.51.100.1", fmt.Sprint("b-", i)); got != authOK {
			t.Fatalf("B's login %d while A's table is full: %v, want OK", i, got)
		}
	}
	// Once A's nonces expire its table empties, and a fresh nonce works.
	now = now.Add(2 * time.Minute)
	md5 = d.challenge(false)[0]
	if got := login(a, "192.0.2.1", "after"); got != authOK {
		t.Errorf("A after its nonces expired: %v, want OK", got)
	}
	if trunks, uses := d.replay.size(); trunks > 2 || uses > 11 {
		t.Errorf("table holds %d trunks, %d uses after expiry, want the expired ones gone", trunks, uses)
	}
}

// FuzzDigestVerify feeds arbitrary Proxy-Authorization values (untrusted:
// any source inside a credentialed trunk's CIDRs sends them) to verify.
func FuzzDigestVerify(f *testing.F) {
	d := newDigestAuth("edge", time.Minute)
	md5 := d.challenge(false)[0]
	chal, _ := digest.ParseChallenge(md5)
	cred, _ := digest.Digest(chal, digest.Options{Method: "INVITE", URI: digestTestURI, Username: "carrier", Password: "pw-123456", Count: 1})
	f.Add(cred.String())
	f.Add(`Digest username="carrier", realm="edge", nonce="` + chal.Nonce + `", uri="sip:x@edge", response="00", qop=auth, nc=ffffffff, cnonce=""`)
	f.Add(`Digest algorithm=SHA-256, username="`)
	f.Add("Digest ,,,,=\"\\\"")
	trunk := ha1Trunk("t", "w", "carrier", "pw-123456")
	var u sip.Uri
	_ = sip.ParseUri(digestTestURI, &u)
	req := digestRequest{method: "INVITE", uri: u, src: netip.MustParseAddr("192.0.2.1")}
	f.Fuzz(func(t *testing.T, v string) {
		got := d.verify(req, []string{v}, trunk)
		if got == authOK && !strings.Contains(v, "response") {
			t.Fatalf("accepted credentials without a response: %q", v)
		}
	})
}
