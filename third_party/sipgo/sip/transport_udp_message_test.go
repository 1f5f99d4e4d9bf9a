package sip

import (
	"net"
	"testing"
	"time"
)

// preParsed is a MessagePacketConn that hands over a message it parsed
// itself for every other datagram, and marks it, so that the test sees
// which message the transport handled.
type preParsed struct {
	net.PacketConn
	parser *Parser
	n      int
}

func (c *preParsed) ReadMessage(b []byte) (int, net.Addr, Message, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		return n, addr, nil, err
	}
	c.n++
	if c.n%2 == 0 {
		return n, addr, nil, nil // not parsed: the transport parses
	}
	msg, err := c.parser.ParseSIP(b[:n])
	if err != nil {
		return n, addr, nil, nil
	}
	msg.AppendHeader(NewHeader("X-Pre-Parsed", "yes"))
	return n, addr, msg, nil
}

// TestUDPTransportTakesAPreParsedMessage: a MessagePacketConn's message is
// handled as it is (not parsed again); without one the datagram is parsed.
func TestUDPTransportTakesAPreParsedMessage(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &TransportUDP{}
	tr.init(NewParser())
	got := make(chan Message, 2)
	go func() { _ = tr.Serve(&preParsed{PacketConn: pc, parser: NewParser()}, func(m Message) { got <- m }) }()
	defer pc.Close()

	peer, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	options := "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-pre-%d\r\n" +
		"From: <sip:peer@127.0.0.1>;tag=1\r\nTo: <sip:edge@127.0.0.1>\r\n" +
		"Call-ID: pre-parsed\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	for i, want := range []bool{true, false} {
		if _, err := peer.Write([]byte(options)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if marked := len(m.GetHeaders("X-Pre-Parsed")) == 1; marked != want {
				t.Fatalf("datagram %d: the pre-parsed message handled %v, want %v", i, marked, want)
			}
			if m.Transport() != "UDP" || m.Source() == "" {
				t.Fatalf("datagram %d: transport %q, source %q", i, m.Transport(), m.Source())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("datagram %d: not handled", i)
		}
	}
}
