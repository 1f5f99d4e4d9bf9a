package sip

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/routing"
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
		if out := rawRefusal(data); out != nil && !bytes.HasPrefix(out, []byte("SIP/2.0 4")) {
			t.Fatalf("raw refusal %q", out)
		}
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
		_ = normalizeParams(req)
		_ = screen(req, data)
		if u, ok := dialedUser(&req.Recipient); ok {
			if n, ok := routing.NormalizeFor(u, "1"); ok && (len(n) < 2 || n[0] != '+') {
				t.Fatalf("dialled number %q is not E.164", n)
			}
		}
		if id := callerID(req); len(id) == 0 || len(id) > 64 {
			t.Fatalf("caller id %q", id)
		}
	})
}

// seedTorture adds the RFC 4475 torture messages, when present, as seeds.
func seedTorture(f *testing.F) {
	dir := tortureDir()
	if dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.dat"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
}

// FuzzStreamFilter feeds a byte stream, in chunks, through the TCP/TLS
// filter: it must never panic, never hold more than a message's bound, and
// hand on only messages sipgo's parser accepts (and CRLF keepalives).
func FuzzStreamFilter(f *testing.F) {
	f.Add([]byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n\r\n\r\n"), uint8(7))
	f.Add([]byte("\r\n\r\nINVITE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\nSIP/2.0 200 OK\r\n\r\n"), uint8(1))
	seedTortureChunks(f)
	met, err := newMetrics(nil)
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{metrics: met, log: testLogger(), router: fakeRouter{}, dialogs: newDialogCache(), budget: newBudgets()}
	p := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		c := newStreamFilter(discardConn{}, s)
		step := int(chunk) + 1
		for len(data) > 0 {
			n := min(step, len(data))
			c.feed(data[:n])
			data = data[n:]
			if len(c.in) > sip.ParseMaxMessageLength+step+len(c.buf) {
				t.Fatalf("holds %d bytes", len(c.in))
			}
		}
		for _, out := range c.out {
			if len(bytes.Trim(out, "\r\n")) == 0 {
				continue
			}
			// A message may start with the CRLFs before it, which sipgo's
			// stream parser skips as it does.
			if _, err := p.ParseSIP(bytes.TrimLeft(out, "\r\n")); err != nil {
				t.Fatalf("handed on a message sipgo refuses (%v): %q", err, out)
			}
		}
	})
}

func seedTortureChunks(f *testing.F) {
	dir := tortureDir()
	if dir == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.dat"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data, uint8(len(data)%97))
		}
	}
}

// discardConn is a net.Conn whose writes vanish; the filter's reads are
// not used (the fuzz target feeds it directly).
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }
func (discardConn) RemoteAddr() net.Addr        { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }
