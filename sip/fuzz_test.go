package sip

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzBadRequestFor feeds raw datagrams to the stateless 400 builder: it
// must never panic, never answer a response or an ACK, and what it builds
// must parse as a 400 that echoes no more than the limits allow.
func FuzzBadRequestFor(f *testing.F) {
	f.Add([]byte("INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 99\r\n\r\nx"))
	f.Add([]byte("SIP/2.0 200 OK\r\n\r\n"))
	f.Add([]byte("ACK sip:x SIP/2.0\r\nv: SIP/2.0/UDP h\r\nf: a\r\nt: b\r\ni: c\r\nCSeq: 1 ACK\r\n\r\n"))
	seedTorture(f)
	p := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		out := badRequestFor(data)
		if out == nil {
			return
		}
		if bytes.HasPrefix(data, []byte("SIP/")) || bytes.HasPrefix(data, []byte("ACK ")) {
			t.Fatalf("answered a response or an ACK: %q", data)
		}
		if len(out) > maxEchoTotal+64 {
			t.Fatalf("answer of %d bytes", len(out))
		}
		msg, err := p.ParseSIP(out)
		if err != nil {
			return // echoed header values may still be invalid SIP; the peer decides
		}
		if res, ok := msg.(*sip.Response); !ok || res.StatusCode != 400 {
			t.Fatalf("built %q", out)
		}
	})
}

// FuzzRequestFields feeds whole requests through sipgo's parser to the
// package's own readers of header fields: the dialled number, the caller
// id and the request checks must not panic on anything sipgo accepts.
func FuzzRequestFields(f *testing.F) {
	f.Add([]byte("INVITE sip:+1%2055512@edge;user=phone SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: \"x\" <sip:+1555@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: <sip:a@h>\r\nMax-Forwards: 0\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("INVITE tel:+15551230001;phone-context=x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <tel:123>;tag=\r\nTo: <sip:b@c>\r\nCall-ID: c\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"))
	seedTorture(f)
	p := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := p.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		_ = validateInvite(req)
		if n, ok := dialedNumber(&req.Recipient); ok && (len(n) < 2 || n[0] != '+') {
			t.Fatalf("dialled number %q is not E.164", n)
		}
		if id := callerID(req); len(id) == 0 || len(id) > 64 {
			t.Fatalf("caller id %q", id)
		}
	})
}

// seedTorture adds the RFC 4475 torture messages, when present, as seeds.
func seedTorture(f *testing.F) {
	files, _ := filepath.Glob("/work/shared/testdata/sip-torture/rfc4475/*.dat")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
}
