package sip

import (
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestTransactionLayerRunner: every received message, request or response,
// is handled through the runner, and its handler runs inside it.
func TestTransactionLayerRunner(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := NewTransportLayer(net.DefaultResolver, NewParser(), nil)
	defer tp.Close()

	var runs, inside atomic.Int32
	run := func(f func()) {
		runs.Add(1)
		go func() {
			inside.Add(1)
			defer inside.Add(-1)
			f()
		}()
	}
	handled := make(chan string, 2)
	txl := NewTransactionLayer(tp,
		WithTransactionLayerRunner(run),
		WithTransactionLayerUnhandledResponseHandler(func(r *Response) {
			if inside.Load() == 0 {
				t.Error("response handled outside the runner")
			}
			handled <- "response"
		}))
	defer txl.Close()
	txl.OnRequest(func(req *Request, tx *ServerTx) {
		if inside.Load() == 0 {
			t.Error("request handled outside the runner")
		}
		handled <- req.Method.String()
	})
	go func() { _ = tp.ServeUDP(pc) }()

	peer, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for _, msg := range []string{
		"OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + peer.LocalAddr().String() + ";branch=z9hG4bK-runner-1\r\n" +
			"From: <sip:peer@127.0.0.1>;tag=1\r\nTo: <sip:edge@127.0.0.1>\r\n" +
			"Call-ID: runner\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		"SIP/2.0 200 OK\r\n" +
			"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-nobody\r\n" +
			"From: <sip:edge@127.0.0.1>;tag=2\r\nTo: <sip:peer@127.0.0.1>;tag=3\r\n" +
			"Call-ID: runner-unmatched\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	} {
		if _, err := peer.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"OPTIONS": true, "response": true}
	for range want {
		select {
		case h := <-handled:
			if !want[h] {
				t.Fatalf("handled %q", h)
			}
			delete(want, h)
		case <-time.After(5 * time.Second):
			t.Fatalf("not handled: %v", want)
		}
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("runner ran %d messages, want 2", n)
	}
}
