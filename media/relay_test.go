package media

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// call is a running session between a trunk and a service on loopback.
type call struct {
	s       *Session
	trunk   *udpPeer
	service *udpPeer
	a, b    netip.AddrPort // the session's legs, as the peers address them
}

// newCall starts a session and configures both legs with the given codecs
// and telephone-event payload types.
func newCall(t *testing.T, cfg Config, codecA, dtmfA, codecB, dtmfB uint8) (*call, *prometheus.Registry) {
	t.Helper()
	m, reg := newTestManager(t, cfg)
	c := &call{s: newRunningSession(t, m, t.Name()), trunk: newPeer(t, "127.0.0.1"), service: newPeer(t, "127.0.0.1")}
	c.a, c.b = c.s.LocalAddr(LegA), c.s.LocalAddr(LegB)
	if err := c.s.SetRemote(LegA, c.trunk.addr(), codecA, dtmfA); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetRemote(LegB, c.service.addr(), codecB, dtmfB); err != nil {
		t.Fatal(err)
	}
	return c, reg
}

func TestRelayBothWays(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMU, 101)

	c.trunk.send(c.a, rtpPacket(t, 0, 1000, 160000, 0xA1A1A1A1, ramp(0)))
	got, from := c.service.recv()
	if from != c.b {
		t.Fatalf("service got RTP from %s, want the B leg %s (media anchored)", from, c.b)
	}
	if got.SequenceNumber != 1000 || got.Timestamp != 160000 || got.SSRC != 0xA1A1A1A1 || got.PayloadType != 0 {
		t.Fatalf("header changed: %+v", got.Header)
	}
	if !bytes.Equal(got.Payload, ramp(0)) {
		t.Fatal("payload changed")
	}

	c.service.send(c.b, rtpPacket(t, 0, 7, 80, 0xB2B2B2B2, ramp(50)))
	got, from = c.trunk.recv()
	if from != c.a || got.SSRC != 0xB2B2B2B2 || got.SequenceNumber != 7 || !bytes.Equal(got.Payload, ramp(50)) {
		t.Fatalf("trunk got %+v from %s", got.Header, from)
	}

	st := c.s.Stats()
	if st.A.PacketsReceived != 1 || st.B.PacketsSent != 1 || st.B.PacketsReceived != 1 || st.A.PacketsSent != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !st.A.Latched || !st.B.Latched {
		t.Fatalf("legs not latched: %+v", st)
	}
}

func TestRelayLatchesToActualSource(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	// The trunk signalled c.trunk but sends from another port of its IP,
	// as a NAT would make it.
	natted := newPeer(t, "127.0.0.1")

	// Before the trunk sends anything, RTP for it goes to its SDP address.
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 2, ramp(0)))
	if _, from := c.trunk.recv(); from != c.a {
		t.Fatalf("pre-latch packet from %s", from)
	}

	natted.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	c.service.recv()

	// After latching, RTP for the trunk goes to where it really sends from.
	c.service.send(c.b, rtpPacket(t, 0, 2, 320, 2, ramp(0)))
	if got, _ := natted.recv(); got.SequenceNumber != 2 {
		t.Fatalf("latched peer got seq %d", got.SequenceNumber)
	}
	c.trunk.expectNothing()

	// The SDP address itself is now a stranger.
	c.trunk.send(c.a, rtpPacket(t, 0, 3, 480, 1, ramp(0)))
	c.service.expectNothing()
	if st := c.s.Stats(); st.A.DroppedWrongSource != 1 || st.A.PacketsReceived != 1 {
		t.Fatalf("stats %+v", st.A)
	}
}

func TestRelayDropsThirdParty(t *testing.T) {
	t.Parallel()
	c, reg := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	stranger := newPeer(t, "127.0.0.2")

	// Before latching: the stranger's IP is not the signalled one.
	stranger.send(c.a, rtpPacket(t, 0, 1, 160, 66, ramp(0)))
	stranger.send(c.b, rtpPacket(t, 0, 1, 160, 66, ramp(0)))
	// Latch both legs with real traffic.
	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	c.service.recv()
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 2, ramp(0)))
	c.trunk.recv()
	// After latching.
	for i := range 5 {
		stranger.send(c.a, rtpPacket(t, 0, uint16(2+i), 160, 66, ramp(0)))
		stranger.send(c.b, rtpPacket(t, 0, uint16(2+i), 160, 66, ramp(0)))
	}
	c.trunk.expectNothing()
	c.service.expectNothing()
	stranger.expectNothing()

	eventually(t, "drops counted", func() bool {
		st := c.s.Stats()
		return st.A.DroppedWrongSource == 6 && st.B.DroppedWrongSource == 6
	})
	st := c.s.Stats()
	if st.A.PacketsReceived != 1 || st.B.PacketsReceived != 1 {
		t.Fatalf("stranger's packets counted as received: %+v", st)
	}
	if v := counterValue(t, reg, "edge_media_rtp_dropped_total", "reason", "wrong_source"); v != 12 {
		t.Fatalf("wrong_source metric = %v, want 12", v)
	}
}

func TestRelayLatchAnySource(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.LatchAnySource = true
	c, _ := newCall(t, cfg, PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	// The trunk's SDP carries a private address it cannot be reached at.
	if err := c.s.SetRemote(LegA, netip.MustParseAddrPort("127.0.0.3:9"), PayloadPCMU, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	natted := newPeer(t, "127.0.0.2")
	natted.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	c.service.recv()
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 2, ramp(0)))
	natted.recv()
	// Latched: the first source keeps the leg.
	c.trunk.send(c.a, rtpPacket(t, 0, 2, 320, 1, ramp(0)))
	c.service.expectNothing()
}

func TestRelayMalformedDropped(t *testing.T) {
	t.Parallel()
	c, reg := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	for _, junk := range [][]byte{
		{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, // STUN
		{0x80},
		rtpPacket(t, 0, 1, 1, 1, nil)[:11],
		{0x80, 200, 0, 1, 0, 0, 0, 1}, // RTCP (a truncated SR): terminated, counted as RTCP
	} {
		c.trunk.send(c.a, junk)
	}
	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	if got, _ := c.service.recv(); got.SequenceNumber != 1 {
		t.Fatalf("got seq %d", got.SequenceNumber)
	}
	eventually(t, "malformed counted", func() bool { return c.s.Stats().A.DroppedMalformed == 3 })
	if v := counterValue(t, reg, "edge_media_rtp_dropped_total", "reason", "malformed"); v != 3 {
		t.Fatalf("malformed metric = %v", v)
	}
	if st := c.s.Stats().A.RTCP; st.Dropped != 1 || st.ReportsReceived != 0 {
		t.Fatalf("rtcp %+v, want the truncated SR dropped", st)
	}
	if v := counterValue(t, reg, "edge_media_rtcp_dropped_total", "reason", "malformed"); v != 1 {
		t.Fatalf("rtcp malformed metric = %v", v)
	}
}

func TestRelayPayloadTypeMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                         string
		codecA, dtmfA, codecB, dtmfB uint8
		sendPT                       uint8
		wantPT                       uint8 // at the service; NoPayloadType: not relayed
		signalled                    bool  // handed to the DTMF hook (SIP INFO), not dropped
	}{
		{name: "telephone-event 101 to 96", codecA: 0, dtmfA: 101, codecB: 0, dtmfB: 96, sendPT: 101, wantPT: 96},
		{name: "telephone-event without receiver support", codecA: 0, dtmfA: 101, codecB: 0, dtmfB: NoPayloadType, sendPT: 101, wantPT: NoPayloadType, signalled: true},
		{name: "comfort noise not negotiated", codecA: 0, dtmfA: 101, codecB: 0, dtmfB: 101, sendPT: 13, wantPT: NoPayloadType},
		{name: "other leg's codec is not ours", codecA: 0, dtmfA: 101, codecB: 8, dtmfB: 101, sendPT: 8, wantPT: NoPayloadType},
		{name: "codec", codecA: 8, dtmfA: 101, codecB: 8, dtmfB: 100, sendPT: 8, wantPT: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newCall(t, DefaultConfig(), tt.codecA, tt.dtmfA, tt.codecB, tt.dtmfB)
			event := []byte{5, 0x0A, 0x01, 0x40} // digit 5, volume 10, duration 320 (RFC 4733 section 2.3)
			c.trunk.send(c.a, rtpPacket(t, tt.sendPT, 10, 8000, 1, event))
			if tt.wantPT == NoPayloadType {
				c.service.expectNothing()
				dropped := uint64(1)
				if tt.signalled {
					dropped = 0
				}
				if st := c.s.Stats(); st.A.DroppedOther != dropped || st.A.PacketsReceived != 1 {
					t.Fatalf("stats %+v", st.A)
				}
				return
			}
			got, _ := c.service.recv()
			if got.PayloadType != tt.wantPT || !bytes.Equal(got.Payload, event) || got.Timestamp != 8000 {
				t.Fatalf("got PT %d payload %x ts %d", got.PayloadType, got.Payload, got.Timestamp)
			}
		})
	}
}

func TestRelayEventsBackToTrunk(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMA, 101, PayloadPCMU, 96)
	event := []byte{11, 0x8A, 0x03, 0x20} // '#', end bit
	pkt := rtpPacket(t, 96, 3, 640, 2, event)
	pkt[1] |= 0x80 // marker: start of event
	c.service.send(c.b, pkt)
	got, _ := c.trunk.recv()
	if got.PayloadType != 101 || !got.Marker || !bytes.Equal(got.Payload, event) {
		t.Fatalf("got %+v %x", got.Header, got.Payload)
	}
}

func TestRelayTranscodes(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMA, NoPayloadType)
	ulaw := ramp(0)
	c.trunk.send(c.a, rtpPacket(t, PayloadPCMU, 1, 160, 1, ulaw))
	got, _ := c.service.recv()
	want := make([]byte, len(ulaw))
	PCMUToPCMA(want, ulaw)
	if got.PayloadType != PayloadPCMA || !bytes.Equal(got.Payload, want) {
		t.Fatalf("service got PT %d payload %x, want PT 8 %x", got.PayloadType, got.Payload[:8], want[:8])
	}

	alaw := ramp(100)
	c.service.send(c.b, rtpPacket(t, PayloadPCMA, 1, 160, 2, alaw))
	got, _ = c.trunk.recv()
	PCMAToPCMU(want, alaw)
	if got.PayloadType != PayloadPCMU || !bytes.Equal(got.Payload, want) {
		t.Fatalf("trunk got PT %d", got.PayloadType)
	}

	// A packet with padding: only the payload is transcoded.
	padded := rtpPacket(t, PayloadPCMU, 2, 320, 1, ulaw)
	padded[0] |= 0x20
	padded = append(padded, 0, 0, 3)
	c.trunk.send(c.a, padded)
	got, _ = c.service.recv()
	PCMUToPCMA(want, ulaw)
	if !bytes.Equal(got.Payload, want) || got.PaddingSize != 3 {
		t.Fatalf("padded packet: payload ok %v, padding %d", bytes.Equal(got.Payload, want), got.PaddingSize)
	}
}

// gainTap replaces what leg A says with silence and records what it saw.
type gainTap struct{ seen chan []int16 }

func (g *gainTap) Frame(from Leg, pcm []int16) bool {
	if from != LegA {
		return false
	}
	g.seen <- append([]int16(nil), pcm...)
	clear(pcm)
	return true
}

func TestRelayTap(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMA, NoPayloadType)
	tap := &gainTap{seen: make(chan []int16, 4)}
	c.s.SetTap(tap)

	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	got, _ := c.service.recv()
	seen := <-tap.seen
	if len(seen) != 160 || seen[0] != ULawToLinear(0) {
		t.Fatalf("tap saw %d samples, first %d", len(seen), seen[0])
	}
	for i, b := range got.Payload {
		if b != LinearToALaw(0) {
			t.Fatalf("byte %d = %#x, want A-law silence", i, b)
		}
	}
	// B->A is not replaced: plain transcoding.
	c.service.send(c.b, rtpPacket(t, 8, 1, 160, 2, ramp(9)))
	got, _ = c.trunk.recv()
	want := make([]byte, 160)
	PCMAToPCMU(want, ramp(9))
	if !bytes.Equal(got.Payload, want) {
		t.Fatal("untapped direction changed")
	}

	c.s.SetTap(nil)
	c.trunk.send(c.a, rtpPacket(t, 0, 2, 320, 1, ramp(0)))
	got, _ = c.service.recv()
	PCMUToPCMA(want, ramp(0))
	if !bytes.Equal(got.Payload, want) {
		t.Fatal("tap still active after SetTap(nil)")
	}
}

// TestRelayTransferTargetOnTheOldServicesIP: leg B is latched to the
// agent, then signalling names a new party on the same IP (a transfer to
// another service of the same host, a Replaces). The old agent, still
// sending until its BYE, must not latch the leg back to itself: its
// packets are dropped, the new party's latch and carry the caller's audio.
func TestRelayTransferTargetOnTheOldServicesIP(t *testing.T) {
	t.Parallel()
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, NoPayloadType, PayloadPCMU, NoPayloadType)
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 2, ramp(0)))
	c.trunk.recv() // leg B latched to the agent
	target := newPeer(t, "127.0.0.1")
	if err := c.s.SetRemote(LegB, target.addr(), PayloadPCMU, NoPayloadType); err != nil {
		t.Fatal(err)
	}
	c.service.send(c.b, rtpPacket(t, 0, 2, 320, 2, ramp(0))) // the old agent, before its BYE
	c.trunk.expectNothing()
	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 1, ramp(0)))
	if got, _ := target.recv(); got.SequenceNumber != 1 {
		t.Fatalf("new party got seq %d", got.SequenceNumber)
	}
	c.service.expectNothing()
	target.send(c.b, rtpPacket(t, 0, 1, 160, 3, ramp(0)))
	if got, _ := c.trunk.recv(); got.SSRC != 3 {
		t.Fatalf("the trunk got SSRC %d, want the new party's", got.SSRC)
	}
	c.service.send(c.b, rtpPacket(t, 0, 3, 480, 2, ramp(0)))
	c.trunk.expectNothing()
	if st := c.s.Stats(); st.B.DroppedWrongSource != 2 {
		t.Fatalf("the old agent's packets: %+v, want 2 dropped", st.B)
	}
}
