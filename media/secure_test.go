package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/voiceedge/edge/media/srtp"
)

// recvRaw returns the next datagram's bytes, failing after a second.
func (p *udpPeer) recvRaw() []byte {
	p.t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		p.t.Fatal(err)
	}
	n, _, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		p.t.Fatalf("%s: no datagram: %v", p.addr(), err)
	}
	return append(make([]byte, 0, n+srtp.Overhead), p.buf[:n]...)
}

// srtpTrunk is a carrier that speaks SRTP with its own key.
type srtpTrunk struct {
	enc   *srtp.Encrypter
	dec   *srtp.Decrypter // with the edge's key
	crypt srtp.Crypto
}

func newSRTPTrunk(t testing.TB, suite srtp.Suite) *srtpTrunk {
	c, err := srtp.Generate(suite, 3)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := srtp.NewEncrypter(c)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpTrunk{enc: enc, crypt: c}
}

func (tr *srtpTrunk) protect(t testing.TB, pkt []byte) []byte {
	out, err := tr.enc.RTP(make([]byte, 0, len(pkt)+srtp.Overhead), pkt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRelaySRTPToRTPAndBack(t *testing.T) {
	for _, suite := range []srtp.Suite{srtp.AESCM128HMACSHA1_80, srtp.AESCM128HMACSHA1_32} {
		t.Run(suite.String(), func(t *testing.T) {
			c, reg := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMA, 96)
			tr := newSRTPTrunk(t, suite)
			local, err := c.s.SetCrypto(LegA, tr.crypt)
			if err != nil {
				t.Fatal(err)
			}
			if local.Suite != suite || local.Tag != 3 || local.Equal(tr.crypt) {
				t.Fatalf("edge key %v: want the offer's suite and tag, a key of its own", local)
			}
			if tr.dec, err = srtp.NewDecrypter(local); err != nil {
				t.Fatal(err)
			}

			// Trunk SRTP -> service plain (and transcoded).
			plain := rtpPacket(t, PayloadPCMU, 10, 1600, 0xA1, ramp(0))
			c.trunk.send(c.a, tr.protect(t, plain))
			got, _ := c.service.recv()
			if got.PayloadType != PayloadPCMA || got.SequenceNumber != 10 || len(got.Payload) != len(ramp(0)) {
				t.Fatalf("service got %+v (%d bytes)", got.Header, len(got.Payload))
			}
			want := append([]byte(nil), ramp(0)...)
			PCMUToPCMA(want, want)
			if !bytes.Equal(got.Payload, want) {
				t.Fatal("payload not decrypted")
			}

			// Service plain -> trunk SRTP with the edge's key.
			c.service.send(c.b, rtpPacket(t, PayloadPCMA, 5, 800, 0xB2, ramp(9)))
			raw := c.trunk.recvRaw()
			dec, err := tr.dec.RTP(raw)
			if err != nil {
				t.Fatalf("trunk cannot authenticate what the edge sent: %v", err)
			}
			if binary.BigEndian.Uint16(dec[2:]) != 5 || dec[1]&0x7f != PayloadPCMU {
				t.Fatalf("trunk got %x", dec[:12])
			}

			// A forgery and a replay are dropped and counted, never relayed.
			forged := tr.protect(t, rtpPacket(t, PayloadPCMU, 11, 1760, 0xA1, ramp(1)))
			replay := append([]byte(nil), forged...)
			forged[len(forged)-1] ^= 0xff
			c.trunk.send(c.a, forged)
			c.trunk.send(c.a, plain) // plain RTP on an SRTP leg
			c.service.expectNothing()
			c.trunk.send(c.a, replay)
			c.service.recv()
			c.trunk.send(c.a, replay)
			c.service.expectNothing()
			st := c.s.Stats()
			if st.A.DroppedAuth != 3 || !st.A.SRTP || st.B.SRTP {
				t.Fatalf("stats %+v", st.A)
			}
			if n := counterValue(t, reg, "edge_media_rtp_dropped_total", "reason", "srtp_auth"); n != 3 {
				t.Errorf("srtp_auth drops = %v, want 3", n)
			}

			// A re-offer with the same key keeps the state (the replay is
			// still refused); a plain re-offer turns SRTP off.
			again, err := c.s.SetCrypto(LegA, tr.crypt)
			if err != nil || !again.Equal(local) {
				t.Fatalf("re-offer changed the edge key: %v", err)
			}
			c.trunk.send(c.a, replay)
			c.service.expectNothing()
			if _, err := c.s.SetCrypto(LegA, srtp.Crypto{}); err != nil {
				t.Fatal(err)
			}
			c.trunk.send(c.a, rtpPacket(t, PayloadPCMU, 12, 1920, 0xA1, ramp(2)))
			c.service.recv()
		})
	}
}

func TestOfferCryptoStable(t *testing.T) {
	m, _ := newTestManager(t, DefaultConfig())
	s := newRunningSession(t, m, "offer")
	a, err := s.OfferCrypto(LegB, srtp.AESCM128HMACSHA1_80)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.OfferCrypto(LegB, srtp.AESCM128HMACSHA1_80)
	if !a.Equal(b) || a.Tag != 1 {
		t.Fatal("re-offer drew a new key")
	}
	peer, _ := srtp.Generate(srtp.AESCM128HMACSHA1_80, 1)
	ans, err := s.SetCrypto(LegB, peer)
	if err != nil || !ans.Equal(a) {
		t.Fatalf("answer changed the offered key: %v", err)
	}
	other, _ := s.OfferCrypto(LegA, srtp.AESCM128HMACSHA1_80)
	if other.Equal(a) {
		t.Fatal("two legs share a key")
	}
}

// TestSRTPRelayNoAllocations checks the SRTP forward path (authenticate and
// decrypt, relay, encrypt) allocates nothing per packet.
func TestSRTPRelayNoAllocations(t *testing.T) {
	fw := newTestForwarder(t, PayloadPCMU, PayloadPCMU)
	tr := newSRTPTrunk(t, srtp.AESCM128HMACSHA1_80)
	if _, err := fw.s.SetCrypto(LegA, tr.crypt); err != nil {
		t.Fatal(err)
	}
	peer, _ := srtp.Generate(srtp.AESCM128HMACSHA1_80, 1)
	if _, err := fw.s.SetCrypto(LegB, peer); err != nil {
		t.Fatal(err)
	}
	plain := rtpPacket(t, PayloadPCMU, 0, 0, 1, ramp(0))
	buf := make([]byte, 0, 2048)
	out := make([]byte, 0, 2048)
	var seq uint16
	step := func() {
		seq++
		binary.BigEndian.PutUint16(plain[2:], seq)
		pkt, _ := tr.enc.RTP(buf, plain)
		pkt, reason := fw.open(pkt)
		if reason != dropNone {
			t.Fatalf("open: %s", dropReasonNames[reason])
		}
		if _, reason := fw.handle(pkt, fuzzTrunk, time.Duration(seq)*20*time.Millisecond); reason != dropNone {
			t.Fatalf("dropped: %s", dropReasonNames[reason])
		}
		if _, err := fw.to.sec.Load().enc.RTP(out, pkt); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(200, step); n != 0 && !raceEnabled {
		t.Errorf("%v allocations per SRTP packet, want 0", n)
	}
}

// BenchmarkRelaySRTP is BenchmarkRelayUDP with an SRTP trunk: the relay
// authenticates, decrypts, relays and (towards the trunk) encrypts.
func BenchmarkRelaySRTP(b *testing.B) {
	m, _ := newTestManager(b, Config{})
	s, err := m.NewSession("bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	trunk, service := newPeer(b, "127.0.0.1"), newPeer(b, "127.0.0.1")
	tr := newSRTPTrunk(b, srtp.AESCM128HMACSHA1_80)
	if err := s.SetRemote(LegA, trunk.addr(), PayloadPCMU, 101); err != nil {
		b.Fatal(err)
	}
	if _, err := s.SetCrypto(LegA, tr.crypt); err != nil {
		b.Fatal(err)
	}
	if err := s.SetRemote(LegB, service.addr(), PayloadPCMU, 96); err != nil {
		b.Fatal(err)
	}
	to := s.LocalAddr(LegA)
	plain := rtpPacket(b, PayloadPCMU, 0, 0, 1, ramp(0))
	enc := make([]byte, 0, 2048)
	buf := make([]byte, 2048)
	if err := service.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}
	var seq uint16
	roundTrip := func() {
		seq++
		binary.BigEndian.PutUint16(plain[2:], seq)
		pkt, _ := tr.enc.RTP(enc, plain)
		if _, err := trunk.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := service.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip()
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		roundTrip()
	}
}
