package media

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// BenchmarkRelayHandle measures the per-packet work of the relay (parse,
// source check, statistics, payload type mapping, transcoding) without the
// sockets.
func BenchmarkRelayHandle(b *testing.B) {
	tests := []struct {
		name           string
		codecA, codecB uint8
		opusB          uint8 // with codecA an Opus type: Opus on both legs, this type on B
		tap            Tap
	}{
		{name: "passthrough", codecA: PayloadPCMU, codecB: PayloadPCMU},
		{name: "transcode", codecA: PayloadPCMU, codecB: PayloadPCMA},
		{name: "tap", codecA: PayloadPCMU, codecB: PayloadPCMA, tap: silenceTap{}},
		{name: "opus", codecA: 111, opusB: 109},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			var fw *forwarder
			if tt.opusB != 0 {
				a, o := CodecOpus, CodecOpus
				a.PT, o.PT = tt.codecA, tt.opusB
				fw = newTestForwarderCodecs(b, a, o)
			} else {
				fw = newTestForwarder(b, tt.codecA, tt.codecB)
			}
			fw.s.SetTap(tt.tap)
			pkt := rtpPacket(b, tt.codecA, 0, 0, 1, ramp(0))
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			var seq uint16
			for b.Loop() {
				seq++
				pkt[1] = tt.codecA
				binary.BigEndian.PutUint16(pkt[2:], seq)
				binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
				if _, reason := fw.handle(pkt, fuzzTrunk, time.Duration(seq)*20*time.Millisecond); reason != dropNone {
					b.Fatalf("dropped: %s", dropReasonNames[reason])
				}
			}
		})
	}
}

// BenchmarkRelayUDP measures one packet through a running session on
// loopback: trunk socket -> leg A -> relay -> leg B -> service socket. The
// allocation count covers the relay goroutine too.
func BenchmarkRelayUDP(b *testing.B) {
	m, _ := newTestManager(b, Config{})
	s, err := m.NewSession("bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	trunk, service := newPeer(b, "127.0.0.1"), newPeer(b, "127.0.0.1")
	if err := s.SetRemote(LegA, trunk.addr(), PayloadPCMU, 101); err != nil {
		b.Fatal(err)
	}
	if err := s.SetRemote(LegB, service.addr(), PayloadPCMA, 96); err != nil {
		b.Fatal(err)
	}
	to := s.LocalAddr(LegA)
	pkt := rtpPacket(b, PayloadPCMU, 0, 0, 1, ramp(0))
	buf := make([]byte, 2048)
	if err := service.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	var seq uint16
	roundTrip := func() {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		if _, err := trunk.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := service.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip() // latch before measuring
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		roundTrip()
	}
}

func BenchmarkParseSDP(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(trunkOffer)))
	for b.Loop() {
		if _, err := ParseSDP(trunkOffer); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildSDP(b *testing.B) {
	p := SDPParams{Addr: fuzzService.Addr(), Port: 10000, SessionID: 1, SessionVersion: 1, Codecs: DefaultCodecs(), TelephoneEventPT: 101}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildSDP(p); err != nil {
			b.Fatal(err)
		}
	}
}
