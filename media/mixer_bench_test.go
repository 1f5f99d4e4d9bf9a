package media

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMixerFrame measures one 20 ms frame of a call with barging
// operators: popping every party's jitter buffer, mixing, encoding, and
// sending both legs their frame over loopback UDP. The operators' WebRTC
// writes (SRTP) are not included.
func BenchmarkMixerFrame(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("operators=%d", n), func(b *testing.B) {
			mgr, _ := newTestManager(b, Config{})
			s, err := mgr.NewSession("bench")
			if err != nil {
				b.Fatal(err)
			}
			m, ops := newTestMixer(b, n, ModeBarge)
			m.s = s
			trunk, service := newPeer(b, "127.0.0.1"), newPeer(b, "127.0.0.1")
			if err := s.SetRemote(LegA, trunk.addr(), PayloadPCMA, NoPayloadType); err != nil {
				b.Fatal(err)
			}
			if err := s.SetRemote(LegB, service.addr(), PayloadPCMU, NoPayloadType); err != nil {
				b.Fatal(err)
			}
			pcm := make([]int16, frameSamples)
			(&toneGen{freq: 440}).frame(pcm)
			var seq uint16
			b.ReportAllocs()
			for b.Loop() {
				seq++
				now := time.Duration(seq) * frameDuration
				src := frameSource{ssrc: 1, seq: seq, ts: uint32(seq) * frameSamples}
				m.in[LegA].push(src, pcm, now)
				m.in[LegB].push(src, pcm, now)
				for _, op := range ops {
					op.in.push(src, pcm, now)
				}
				m.frame(now)
			}
		})
	}
}
