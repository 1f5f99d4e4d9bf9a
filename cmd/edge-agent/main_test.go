package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// TestAgentAnswersAndEchoes calls the agent with sipgo, sends RTP and
// expects it back, then hangs up.
func TestAgentAnswersAndEchoes(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, addr, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() { cancel(); <-done }()
	time.Sleep(200 * time.Millisecond)

	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	offer, err := media.BuildSDP(media.SDPParams{Addr: netip.MustParseAddr("127.0.0.1"), Port: rtp.LocalAddr().(*net.UDPAddr).Port,
		SessionID: 1, SessionVersion: 1, Codecs: []media.Codec{media.CodecPCMU}, TelephoneEventPT: media.NoPayloadType})
	if err != nil {
		t.Fatal(err)
	}
	dua := sipgo.DialogUA{Client: client, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "test", Host: "127.0.0.1"}}}
	ap := netip.MustParseAddrPort(addr)
	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
	defer tcancel()
	ct := sip.ContentTypeHeader("application/sdp")
	dlg, err := dua.Invite(tctx, sip.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.1", Port: int(ap.Port())}, offer, &ct)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlg.WaitAnswer(tctx, sipgo.AnswerOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := dlg.Ack(tctx); err != nil {
		t.Fatal(err)
	}
	answer, err := media.ParseSDP(dlg.InviteResponse.Body())
	if err != nil {
		t.Fatal(err)
	}
	pkt := []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 1, 0xff, 0xff}
	if _, err := rtp.WriteToUDPAddrPort(pkt, answer.RTPAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = rtp.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, _, err := rtp.ReadFromUDP(buf)
	if err != nil || n != len(pkt) {
		t.Fatalf("no echo: %d %v", n, err)
	}
	if err := dlg.Bye(tctx); err != nil {
		t.Fatal(err)
	}
}
