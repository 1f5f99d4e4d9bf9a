package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// selfSignedCert makes a certificate for 127.0.0.1 and the pool that
// trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "edge.test"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTLSListener serves SIP over TLS with a certificate made for the
// test: a trunk connecting over TLS (verifying the edge's certificate)
// gets its OPTIONS answered and its INVITEs refused as over UDP, with the
// stream filter's checks, on one connection that stays up throughout.
func TestTLSListener(t *testing.T) {
	e := newTestEdge(t)
	sink := newServiceSink(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: sink.target})
	cert, roots := selfSignedCert(t)
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.ServeTLS(ctx, ln) }()
	stop := func() {
		if cancel != nil {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("ServeTLS: %v", err)
			}
			cancel = nil
		}
	}
	t.Cleanup(stop)

	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: 3 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp4", ln.Addr().String(), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS handshake with the edge: %v", err)
	}
	local := conn.LocalAddr().String()
	msg := func(method, ruri, extra, body string) []byte {
		id := fmt.Sprintf("tls-%d", time.Now().UnixNano())
		contact := ""
		if method == "INVITE" {
			contact = "Contact: <sip:carrier@" + local + ";transport=tls>\r\n"
		}
		return []byte(method + " " + ruri + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TLS " + local + ";branch=z9hG4bK-" + id + "\r\n" +
			"From: <sip:+15550009999@carrier>;tag=" + id + "\r\nTo: <" + ruri + ">\r\nCall-ID: " + id + "@test\r\n" +
			"CSeq: 1 " + method + "\r\n" + contact + "Max-Forwards: 70\r\n" + extra +
			fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body)
	}
	sdp := "Content-Type: application/sdp\r\n"
	tests := []struct {
		name   string
		msg    []byte
		want   int
		header string
	}{
		{name: "OPTIONS keepalive", msg: msg("OPTIONS", "sip:edge@127.0.0.1", "", ""), want: 200, header: "Allow: "},
		{name: "INVITE to an unknown number", msg: msg("INVITE", "sip:+15559990000@127.0.0.1", sdp, pcmuOffer), want: 404},
		{name: "INVITE requiring an extension", msg: msg("INVITE", "sip:+15551230001@127.0.0.1", sdp+"Require: 100rel, precondition\r\n", pcmuOffer), want: 420, header: "Unsupported: precondition"},
		{name: "INVITE with a body not SDP", msg: msg("INVITE", "sip:+15551230001@127.0.0.1", "Content-Type: text/plain\r\n", "hello"), want: 415, header: "Accept: application/sdp"},
		{name: "INVITE with no Max-Forwards left", msg: []byte(strings.Replace(string(msg("INVITE", "sip:+15551230001@127.0.0.1", sdp, pcmuOffer)), "Max-Forwards: 70", "Max-Forwards: 0", 1)), want: 483},
		{name: "unparsable request", msg: []byte(strings.Replace(string(msg("OPTIONS", "sip:edge@127.0.0.1", "", "")), "CSeq: 1 OPTIONS", "CSeq: 99999999999999999999 OPTIONS", 1)), want: 400},
		{name: "REGISTER", msg: msg("REGISTER", "sip:127.0.0.1", "", ""), want: 405, header: "Allow: "},
		{name: "OPTIONS after the refusals", msg: msg("OPTIONS", "sip:edge@127.0.0.1", "", ""), want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			codes, raws, closed := exchangeStream(t, conn, tc.msg, 1)
			if closed {
				t.Fatal("the edge closed the TLS connection")
			}
			checkAnswers(t, "tls", codes, []int{tc.want}, raws, nonEmpty(tc.header))
		})
	}
	if msg := sink.received(50 * time.Millisecond); msg != nil {
		t.Errorf("the service received:\n%s", msg)
	}
	if calls, _, err := e.store.ListCalls(context.Background(), ws, false, "", 10); err != nil || len(calls) != 0 {
		t.Errorf("call records %v (err %v)", calls, err)
	}
	_ = conn.Close()
	stop()
	e.checkNoLeaks(t, ws)
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
