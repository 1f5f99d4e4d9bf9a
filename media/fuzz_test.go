package media

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/voiceedge/edge/media/srtp"
)

func FuzzParseSDP(f *testing.F) {
	f.Add(trunkOffer)
	f.Add([]byte("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0 8 13\na=sendonly\n"))
	f.Add(sdpLines("v=0", "o=- 5 6 IN IP6 2001:db8::1", "s=-", "t=0 0", "m=audio 4002 RTP/AVP 0 96",
		"c=IN IP6 2001:db8::1", "a=rtpmap:96 telephone-event/8000", "a=fmtp:96 0-16", "a=ptime:20.0"))
	f.Add([]byte("v=0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseSDP(b)
		if err != nil {
			return
		}
		if d.Port < 0 || d.Port > 65535 || (!d.Addr.IsValid() && d.Host == "") || len(d.Formats) == 0 ||
			d.Audio < 0 || d.Audio >= len(d.Lines) || len(d.Lines) > MaxMediaLines || (d.Secure() && d.Port != 0 && len(d.Crypto) == 0) {
			t.Fatalf("accepted an unusable description: %+v", d)
		}
		for _, f := range d.Formats {
			if f.PT > 127 {
				t.Fatalf("payload type %d", f.PT)
			}
		}
		ans, err := Negotiate(d, nil)
		if err != nil {
			return
		}
		// Whatever we accept, we can answer, and read our answer back.
		prof := ans.Profile
		if !ans.Crypto.IsZero() {
			if prof.Crypto, err = srtp.Generate(ans.Crypto.Suite, ans.Crypto.Tag); err != nil {
				t.Fatal(err)
			}
		}
		out, err := BuildSDP(SDPParams{
			Addr: netip.MustParseAddr("192.0.2.1"), Port: 10000, SessionID: d.SessionID, SessionVersion: d.SessionVersion,
			Codecs: []Codec{ans.Codec}, TelephoneEventPT: ans.TelephoneEventPT, Direction: ans.Direction, Ptime: ans.Ptime,
			Profile: prof,
		})
		if err != nil {
			t.Fatalf("BuildSDP for a negotiated answer: %v", err)
		}
		back, err := ParseSDP(out)
		if err != nil {
			t.Fatalf("ParseSDP of our own answer: %v\n%s", err, out)
		}
		if back.Formats[0].PT != ans.Codec.PT || back.TelephoneEventPT != ans.TelephoneEventPT || back.Direction != ans.Direction ||
			len(back.Lines) != len(d.Lines) || back.Audio != d.Audio || back.Proto != d.Proto || !back.PeerCrypto().Equal(prof.Crypto) {
			t.Fatalf("answer round trip %+v vs %+v", back, ans)
		}
	})
}

// Addresses of the forwarder under test: the trunk's signalled address,
// the service's, and a stranger.
var (
	fuzzTrunk    = netip.MustParseAddrPort("192.0.2.10:4000")
	fuzzService  = netip.MustParseAddrPort("192.0.2.20:5000")
	fuzzStranger = netip.MustParseAddrPort("198.51.100.1:4000")
)

// newTestForwarder returns the A->B forwarder of a socket-less session
// whose legs use the given codecs, with telephone-event 101 on A and 96 on
// B. handle needs no socket.
func newTestForwarder(t testing.TB, codecA, codecB uint8) *forwarder {
	t.Helper()
	a, b := staticFormats[codecA].codec(), staticFormats[codecB].codec()
	a.PT, b.PT = codecA, codecB
	return newTestForwarderCodecs(t, a, b)
}

// newTestForwarderCodecs is newTestForwarder with the legs' codecs given
// whole (Opus on a dynamic payload type).
func newTestForwarderCodecs(t testing.TB, codecA, codecB Codec) *forwarder {
	t.Helper()
	m, err := newMetrics(nil, func() float64 { return 0 }, func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{callID: "fuzz", cfg: DefaultConfig(), metrics: m, epoch: time.Now()}
	s.legs = [2]*leg{{id: LegA}, {id: LegB}}
	s.legs[LegA].setRemote(fuzzTrunk, codecA, 101)
	s.legs[LegB].setRemote(fuzzService, codecB, 96)
	return newForwarder(s, s.legs[LegA], s.legs[LegB])
}

// silenceTap replaces every frame with silence.
type silenceTap struct{}

func (silenceTap) Frame(_ Leg, pcm []int16) bool { clear(pcm); return true }

func FuzzRelayPacket(f *testing.F) {
	valid := rtpPacket(f, 0, 1, 160, 1, ramp(0))
	f.Add(valid, uint8(0), false)
	f.Add(rtpPacket(f, 101, 2, 160, 1, []byte{5, 10, 1, 64}), uint8(1), false)
	f.Add(rtpPacket(f, 8, 3, 320, 1, ramp(7)), uint8(2), false)
	f.Add(append([]byte{0xB1, 0x80, 0, 4, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 9, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0}, append(ramp(3), 0, 2)...), uint8(3), false)
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 1}, uint8(0), true)
	f.Fuzz(func(t *testing.T, pkt []byte, mode uint8, stranger bool) {
		codecA, codecB := PayloadPCMU, PayloadPCMU
		if mode&1 != 0 {
			codecB = PayloadPCMA
		}
		if mode&2 != 0 {
			codecA = PayloadPCMA
		}
		fw := newTestForwarder(t, codecA, codecB)
		if mode&4 != 0 {
			fw.s.SetTap(silenceTap{})
		}
		src := fuzzTrunk
		if stranger {
			src = fuzzStranger
		}
		in := append([]byte(nil), pkt...)
		buf := append([]byte(nil), pkt...)
		dst, reason := fw.handle(buf, src, time.Second)

		if stranger && reason == dropNone {
			t.Fatal("relayed a stranger's packet")
		}
		if reason != dropNone {
			if !bytes.Equal(buf, in) && reason != dropPayloadType {
				t.Fatalf("dropped packet (%s) was modified", dropReasonNames[reason])
			}
			return
		}
		if dst != fuzzService {
			t.Fatalf("sent to %s", dst)
		}
		h, ok := parseRTPHeader(in)
		if !ok {
			t.Fatal("relayed a packet that does not parse")
		}
		if len(buf) != len(in) || buf[0] != in[0] || buf[1]&0x80 != in[1]&0x80 ||
			!bytes.Equal(buf[2:h.payloadStart], in[2:h.payloadStart]) || !bytes.Equal(buf[h.payloadEnd:], in[h.payloadEnd:]) {
			t.Fatalf("relay changed more than payload type and payload:\n in %x\nout %x", in, buf)
		}
		switch out := buf[1] & 0x7F; {
		case h.pt == codecA && out != codecB, h.pt == 101 && h.pt != codecA && out != 96:
			t.Fatalf("PT %d mapped to %d", h.pt, out)
		case h.pt != codecA && h.pt != 101:
			t.Fatalf("relayed unnegotiated PT %d", h.pt)
		}
		if h.pt == 101 && !bytes.Equal(buf[h.payloadStart:], in[h.payloadStart:]) {
			t.Fatal("event payload changed")
		}
	})
}

// FuzzExtractSDP feeds bodies of any content type: the SDP part of a
// multipart body or a clear error, never a crash.
func FuzzExtractSDP(f *testing.F) {
	f.Add("multipart/mixed;boundary=b", []byte("--b\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n--b--\r\n"))
	f.Add("multipart/mixed;boundary=\"x y\"", []byte("--x y\r\n\r\n--x y--"))
	f.Add("application/sdp", []byte("v=0"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		b, err := ExtractSDP(ct, body)
		if err == nil && len(b) > len(body) {
			t.Fatalf("extracted %d bytes from %d", len(b), len(body))
		}
	})
}
