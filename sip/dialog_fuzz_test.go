package sip

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The parsers of the dialog extensions read untrusted headers and bodies:
// they must never panic, and what they accept must be in range and print
// back to a value they accept again.

func FuzzSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uas", " 4 ; refresher = uac ; x=y", "0", "1800;refresher", "4294967295", "4294967296", "1;;", "x;refresher=uac"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		secs, refresher, err := parseSessionExpires(v)
		if err != nil {
			return
		}
		if secs == 0 || (refresher != "" && refresher != "uac" && refresher != "uas") {
			t.Fatalf("accepted %q as %d %q", v, secs, refresher)
		}
		again := strconv.FormatUint(uint64(secs), 10)
		if refresher != "" {
			again += ";refresher=" + refresher
		}
		if s2, r2, err := parseSessionExpires(again); err != nil || s2 != secs || r2 != refresher {
			t.Fatalf("%q does not round-trip: %q %v", v, again, err)
		}
	})
}

func FuzzMinSE(f *testing.F) {
	for _, s := range []string{"90", "90;x=1", "abc", "", "0", "90;<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if secs, err := parseMinSE(v); err == nil && secs == 0 {
			t.Fatalf("accepted Min-SE %q as 0", v)
		}
	})
}

func FuzzRAck(f *testing.F) {
	for _, s := range []string{"776656 1 INVITE", "1 2147483647 INVITE", "0 1 INVITE", "1 INVITE", "1 1 INV<ITE", "\t1\t1\tINVITE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rseq, cseq, method, err := parseRAck(v)
		if err != nil {
			return
		}
		if rseq == 0 || cseq >= 1<<31 || !isToken(method) {
			t.Fatalf("accepted RAck %q as %d %d %q", v, rseq, cseq, method)
		}
	})
}

// FuzzReadTimer runs whole requests with arbitrary session timer headers
// through readTimer: an accepted interval is never below Min-SE, a
// refusal is 400 naming the header or 422 with Min-SE.
func FuzzReadTimer(f *testing.F) {
	f.Add("1800;refresher=uac", "90")
	f.Add("30", "")
	f.Add("abc", "90")
	f.Add("", "x")
	p := sip.NewParser()
	f.Fuzz(func(t *testing.T, se, minSE string) {
		if strings.ContainsAny(se+minSE, "\r\n") {
			return
		}
		raw := "UPDATE sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: c\r\nCSeq: 2 UPDATE\r\n"
		if se != "" {
			raw += "Session-Expires: " + se + "\r\n"
		}
		if minSE != "" {
			raw += "Min-SE: " + minSE + "\r\n"
		}
		msg, err := p.ParseSIP([]byte(raw + "Content-Length: 0\r\n\r\n"))
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		tr, rej := readTimer(req, 90*time.Second)
		switch {
		case rej == nil:
			if tr.expires != 0 && tr.expires < 90*time.Second {
				t.Fatalf("accepted interval %v below Min-SE", tr.expires)
			}
		case rej.Reason == ReasonBadHeader:
			if code, phrase := rej.Status(); code != 400 || (phrase != "Bad Session-Expires" && phrase != "Bad Min-SE") {
				t.Fatalf("refusal %d %q", code, phrase)
			}
		case rej.Reason == ReasonIntervalTooBrief:
			if len(rej.headers) != 1 || rej.headers[0].Value() != "90" {
				t.Fatalf("422 without Min-SE: %v", rej.headers)
			}
		default:
			t.Fatalf("unexpected refusal %v", rej)
		}
	})
}

// FuzzOfferBody feeds arbitrary bodies to the reader of in-dialog offers
// (re-INVITE, UPDATE): a refusal, never a panic.
func FuzzOfferBody(f *testing.F) {
	f.Add([]byte(sdpOn(4000, 1, "sendonly")))
	f.Add([]byte(pcmuOffer))
	f.Add([]byte("v=0\r\nthis is not sdp\r\n"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := sip.NewRequest(sip.UPDATE, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		ct := sip.ContentTypeHeader("application/sdp")
		req.AppendHeader(&ct)
		req.SetBody(body)
		offer, ans, rej := readOffer(req)
		if rej != nil {
			if code, _ := rej.Status(); code < 400 || code > 499 {
				t.Fatalf("refusal %d for a bad offer", code)
			}
			return
		}
		if offer == nil || ans.Codec.Name == "" {
			t.Fatalf("accepted an offer without a codec: %+v", ans)
		}
	})
}
