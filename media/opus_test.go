package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// opusOffer is a trunk offer with Opus first on dynamic payload type 109,
// its fmtp, then G.711, telephone-event and CN.
var opusOffer = sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
	"m=audio 4000 RTP/AVP 109 0 8 101 13",
	"a=rtpmap:109 opus/48000/2",
	"a=fmtp:109 minptime=10;useinbandfec=1",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-16")

// opusCodec is Opus as the trunk of opusOffer carries it.
var opusCodec = Codec{Name: "opus", ClockRate: 48000, PT: 109, Channels: 2, Fmtp: "minptime=10;useinbandfec=1"}

func TestNegotiateOpusDynamicPTAndFmtp(t *testing.T) {
	d, err := ParseSDP(opusOffer)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Negotiate(d, nil)
	if err != nil || ans.Codec != CodecPCMU || !ans.CN || ans.TelephoneEventPT != 101 {
		t.Fatalf("default: %+v %v", ans, err)
	}
	ans, err = Negotiate(d, PassthroughCodecs())
	if err != nil || ans.Codec != opusCodec || !ans.CN || ans.TelephoneEventPT != 101 {
		t.Fatalf("passthrough: %+v %v, want %+v", ans.Codec, err, opusCodec)
	}
	// The answer (or an offer to the other leg) carries the payload type,
	// the channels and the fmtp, and reads back the same.
	body, err := BuildSDP(SDPParams{Addr: d.Addr, Port: 5000, Codecs: []Codec{ans.Codec, CodecCN},
		TelephoneEventPT: 101, Direction: SendRecv})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m=audio 5000 RTP/AVP 109 13 101", "a=rtpmap:109 opus/48000/2",
		"a=fmtp:109 minptime=10;useinbandfec=1", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"} {
		if !bytes.Contains(body, []byte(want+"\r\n")) {
			t.Errorf("built SDP lacks %q:\n%s", want, body)
		}
	}
	back, err := ParseSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	if ans2, err := Negotiate(back, PassthroughCodecs()); err != nil || ans2.Codec != opusCodec {
		t.Fatalf("round trip: %+v %v", ans2.Codec, err)
	}
}

func TestNegotiateOpusOnlyAsRFC7587Says(t *testing.T) {
	for _, tt := range []struct{ name, m, rtpmap string }{
		{"mono", "m=audio 4000 RTP/AVP 109", "a=rtpmap:109 opus/48000"},
		{"16 kHz", "m=audio 4000 RTP/AVP 109", "a=rtpmap:109 opus/16000/2"},
		{"static type", "m=audio 4000 RTP/AVP 20", "a=rtpmap:20 opus/48000/2"},
	} {
		d, err := ParseSDP(sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", tt.m, tt.rtpmap))
		if err != nil {
			t.Fatal(err)
		}
		if ans, err := Negotiate(d, PassthroughCodecs()); !errors.Is(err, ErrNoCommonCodec) {
			t.Errorf("%s: %+v %v, want ErrNoCommonCodec", tt.name, ans.Codec, err)
		}
	}
	// Upper case is the same encoding name (RFC 4855 section 3).
	d, err := ParseSDP(sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=audio 4000 RTP/AVP 96 0", "a=rtpmap:96 OPUS/48000/2"))
	if err != nil {
		t.Fatal(err)
	}
	if ans, err := Negotiate(d, PassthroughCodecs()); err != nil || !ans.Codec.IsOpus() || ans.Codec.PT != 96 {
		t.Fatalf("OPUS: %+v %v", ans.Codec, err)
	}
}

// newOpusCall is newCall with Opus on both legs: payload type ptA towards
// the trunk, ptB towards the service, telephone-event 101 and 96.
func newOpusCall(t *testing.T, ptA, ptB uint8) *call {
	t.Helper()
	m, _ := newTestManager(t, DefaultConfig())
	c := &call{s: newRunningSession(t, m, t.Name()), trunk: newPeer(t, "127.0.0.1"), service: newPeer(t, "127.0.0.1")}
	c.a, c.b = c.s.LocalAddr(LegA), c.s.LocalAddr(LegB)
	a, b := CodecOpus, CodecOpus
	a.PT, b.PT = ptA, ptB
	if err := c.s.SetRemoteCodec(LegA, c.trunk.addr(), a, 101); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetRemoteCodec(LegB, c.service.addr(), b, 96); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRelayOpusPassthroughRewritesPT(t *testing.T) {
	c := newOpusCall(t, 111, 109)
	for _, l := range []Leg{LegA, LegB} {
		if err := c.s.SetLegOptions(l, LegOptions{ComfortNoise: true}); err != nil {
			t.Fatal(err)
		}
	}
	payload := ramp(7) // any bytes: Opus is not touched
	c.trunk.send(c.a, rtpPacket(t, 111, 1, 960, 0xA1, payload))
	got, _ := c.service.recv()
	if got.PayloadType != 109 || !bytes.Equal(got.Payload, payload) || got.SequenceNumber != 1 ||
		got.Timestamp != 960 || got.SSRC != 0xA1 {
		t.Fatalf("towards the service: %+v, want PT 109 and the rest untouched", got.Header)
	}
	c.service.send(c.b, rtpPacket(t, 109, 5, 4800, 0xB2, payload))
	got, _ = c.trunk.recv()
	if got.PayloadType != 111 || !bytes.Equal(got.Payload, payload) || got.Timestamp != 4800 {
		t.Fatalf("towards the trunk: %+v, want PT 111", got.Header)
	}
	// telephone-event and CN as before.
	c.trunk.send(c.a, rtpPacket(t, 101, 2, 1920, 0xA1, []byte{1, 0x0a, 0, 160}))
	if got, _ := c.service.recv(); got.PayloadType != 96 {
		t.Fatalf("telephone-event: PT %d, want 96", got.PayloadType)
	}
	c.trunk.send(c.a, rtpPacket(t, PayloadCN, 3, 2880, 0xA1, []byte{40}))
	if got, _ := c.service.recv(); got.PayloadType != PayloadCN {
		t.Fatalf("CN not passed: %d", got.PayloadType)
	}
	// The other leg's Opus type on this leg is not Opus here.
	c.trunk.send(c.a, rtpPacket(t, 109, 4, 3840, 0xA1, payload))
	c.service.expectNothing()
	// Opus on one leg, G.722 or G.711 on the other is never "transcoded".
	for _, pt := range []uint8{PayloadG722, PayloadPCMU} {
		if err := c.s.SetRemote(LegB, c.service.addr(), pt, 96); err != nil {
			t.Fatal(err)
		}
		c.trunk.send(c.a, rtpPacket(t, 111, 5, 4800, 0xA1, payload))
		c.service.expectNothing()
	}
}

func TestRelayHandleOpusNoAllocations(t *testing.T) {
	a, b := CodecOpus, CodecOpus
	a.PT, b.PT = 111, 109
	fw := newTestForwarderCodecs(t, a, b)
	pkt := rtpPacket(t, 111, 0, 0, 1, ramp(0))
	var seq uint16
	step := func() {
		seq++
		pkt[1] = 111
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*960)
		if _, reason := fw.handle(pkt, fuzzTrunk, time.Duration(seq)*20*time.Millisecond); reason != dropNone {
			t.Fatalf("dropped: %s", dropReasonNames[reason])
		}
		if pkt[1]&0x7f != 109 {
			t.Fatalf("payload type %d relayed, want 109", pkt[1]&0x7f)
		}
	}
	step()
	if n := testing.AllocsPerRun(200, step); n != 0 && !raceEnabled {
		t.Errorf("%v allocations per Opus packet, want 0", n)
	}
}

// TestOpusJitterAt48kHz: interarrival jitter (RFC 3550 section 6.4.1) is
// in units of the stream's clock; an Opus stream of 960-tick frames every
// 20 ms has none, and one frame 10 ms late gives what it gives at 8 kHz.
func TestOpusJitterAt48kHz(t *testing.T) {
	for _, tt := range []struct {
		name  string
		codec Codec
		step  uint32
	}{{"opus", Codec{Name: "opus", ClockRate: 48000, Channels: 2, PT: 111}, 960}, {"pcmu", CodecPCMU, 160}} {
		fw := newTestForwarderCodecs(t, tt.codec, tt.codec)
		send := func(seq uint16, late time.Duration) {
			pkt := rtpPacket(t, tt.codec.PT, seq, uint32(seq)*tt.step, 1, ramp(0))
			if _, reason := fw.handle(pkt, fuzzTrunk, time.Duration(seq)*20*time.Millisecond+late); reason != dropNone {
				t.Fatalf("%s: dropped: %s", tt.name, dropReasonNames[reason])
			}
		}
		for seq := uint16(1); seq <= 50; seq++ {
			send(seq, 0)
		}
		if j := fw.from.snapshot(fw.s.epoch).JitterMs; j != 0 {
			t.Fatalf("%s: jitter %.3f ms of a steady stream, want 0", tt.name, j)
		}
		send(51, 10*time.Millisecond)
		// One 10 ms step: J = 10 ms / 16 (appendix A.8).
		if j := fw.from.snapshot(fw.s.epoch).JitterMs; math.Abs(j-0.625) > 0.01 {
			t.Fatalf("%s: jitter %.3f ms, want 0.625", tt.name, j)
		}
	}
}

// TestOpusJitterAcrossClockChange: a leg moved from PCMU to Opus (the
// service answered Opus) keeps a jitter in the new clock's units, with no
// spike from the change of clock.
func TestOpusJitterAcrossClockChange(t *testing.T) {
	fw := newTestForwarderCodecs(t, CodecPCMU, CodecPCMU)
	at := func(seq uint16) time.Duration { return time.Duration(seq) * 20 * time.Millisecond }
	for seq := uint16(1); seq <= 20; seq++ {
		pkt := rtpPacket(t, PayloadPCMU, seq, uint32(seq)*160, 1, ramp(0))
		if _, reason := fw.handle(pkt, fuzzTrunk, at(seq)); reason != dropNone {
			t.Fatalf("dropped: %s", dropReasonNames[reason])
		}
	}
	opus := CodecOpus
	fw.from.setRemote(fuzzTrunk, opus, 101)
	fw.to.setRemote(fuzzService, opus, 96)
	for seq := uint16(21); seq <= 40; seq++ {
		pkt := rtpPacket(t, opus.PT, seq, 7777+uint32(seq)*960, 1, ramp(0))
		if _, reason := fw.handle(pkt, fuzzTrunk, at(seq)); reason != dropNone {
			t.Fatalf("dropped: %s", dropReasonNames[reason])
		}
	}
	if j := fw.from.snapshot(fw.s.epoch).JitterMs; j != 0 {
		t.Fatalf("jitter %.3f ms after the change of clock, want 0", j)
	}
}

// TestOperatorJoinRefusedOnOpusCall: an Opus call is relayed untouched and
// never mixed, so an operator's join is refused with ErrCodecNotMixable
// naming the codec (409 from the operator API).
func TestOperatorJoinRefusedOnOpusCall(t *testing.T) {
	e, _ := newTestEngine(t)
	c := newTestCall(t, PayloadPCMU, PayloadPCMU)
	opus := CodecOpus
	if err := c.s.SetRemoteCodec(LegA, c.caller.addr(), opus, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetRemoteCodec(LegB, c.agent.addr(), opus, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, toneOperator)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op, _, err := e.Join(ctx, c.s, "acct-listen", ModeListen, b.offer())
	if op != nil {
		_ = op.Close()
	}
	if !errors.Is(err, ErrCodecNotMixable) || !strings.Contains(err.Error(), "opus") {
		t.Fatalf("join to an Opus call: %v, want ErrCodecNotMixable naming opus", err)
	}
}

func TestOpusSetRemoteCodecRefusesOthers(t *testing.T) {
	m, _ := newTestManager(t, DefaultConfig())
	s := newRunningSession(t, m, t.Name())
	addr := fuzzTrunk
	for _, c := range []Codec{{Name: "opus", ClockRate: 48000, Channels: 2, PT: 9}, {Name: "G729", ClockRate: 8000, PT: 18}} {
		if err := s.SetRemoteCodec(LegA, addr, c, NoPayloadType); !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("%+v: %v, want ErrUnsupportedCodec", c, err)
		}
	}
}
