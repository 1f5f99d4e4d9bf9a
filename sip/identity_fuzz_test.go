package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzCallerIdentity feeds untrusted values of the identity headers
// (P-Asserted-Identity, Remote-Party-ID, Privacy, Diversion, History-Info)
// through sipgo's parser to callerIdentity: never a panic, and what
// reaches the service is always one of the safe shapes of design section 10.
func FuzzCallerIdentity(f *testing.F) {
	f.Add("<tel:+13125550122;verstat=TN-Validation-Passed>", "id", "<sip:3125550188@c>;reason=unconditional")
	f.Add(`"A \" b" <sip:+1312@h;user=phone>, tel:+44`, "user;header", `<sip:+1@e>;index=1, <sip:+2@e>;index=1.1;mp=1`)
	f.Add("<sip:", "none", "\"")
	f.Add("sip:anonymous@anonymous.invalid;x", ";;,", "<tel:0113-496-0000>;privacy=full")
	p := sip.NewParser()
	f.Fuzz(func(t *testing.T, pai, privacy, diversion string) {
		raw := "INVITE sip:3125550100@edge SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:+13125550111@c>;tag=1\r\n" +
			"To: <sip:b@c>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: <sip:a@h>\r\n" +
			"P-Asserted-Identity: " + pai + "\r\nRemote-Party-ID: " + pai + ";party=calling\r\nPrivacy: " + privacy + "\r\n" +
			"Diversion: " + diversion + "\r\nHistory-Info: " + diversion + "\r\nContent-Length: 0\r\n\r\n"
		msg, err := p.ParseSIP([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		for _, cc := range []string{"", "1", "44"} {
			id, rej := callerIdentity(req, cc)
			if rej != nil {
				if rej.Reason != ReasonMalformed || (rej.Detail != "P-Asserted-Identity" && rej.Detail != "Diversion") {
					t.Fatalf("refusal %v", rej)
				}
				continue
			}
			if !safeValue(id.caller) || len(id.caller) == 0 || len(id.caller) > 64 {
				t.Fatalf("caller %q", id.caller)
			}
			if id.privacy && id.caller != anonymous {
				t.Fatalf("privacy with caller %q", id.caller)
			}
			if id.verified != "" && verstats[strings.ToLower(id.verified)] != id.verified {
				t.Fatalf("verified %q", id.verified)
			}
			if id.divertedFrom != "" && (id.divertedFrom[0] != '+' || !safeValue(id.divertedFrom) || len(id.divertedFrom) > 16) {
				t.Fatalf("diverted from %q", id.divertedFrom)
			}
		}
	})
}

// FuzzNameAddrs checks the name-addr list parser alone: never a panic, at
// most maxIdentityEntries values, each a URI of a known scheme.
func FuzzNameAddrs(f *testing.F) {
	for _, s := range []string{`"x" <sip:a@b>;p=1, tel:+1;q`, `<sips:a@b?x=<y>>`, `"\\"`, `a <tel:1>,,<sip:x@y>`, `<>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		nas, err := parseNameAddrs(v)
		if err != nil {
			return
		}
		if len(nas) == 0 || len(nas) > maxIdentityEntries {
			t.Fatalf("%d values", len(nas))
		}
		for _, na := range nas {
			if !validIdentityURI(na.uri) {
				t.Fatalf("uri %q", na.uri)
			}
			_ = uriUser(na.uri)
			_ = uriHost(na.uri)
			_ = verstatOf(na.uri)
		}
	})
}

// safeValue reports whether s holds only what callerID lets through.
func safeValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("+*#._-", c) >= 0) {
			return false
		}
	}
	return true
}
