package media

import (
	"bytes"
	"testing"
)

func TestRelayG722Passthrough(t *testing.T) {
	cfg := DefaultConfig()
	c, _ := newCall(t, cfg, PayloadG722, 101, PayloadG722, 96)
	for _, l := range []Leg{LegA, LegB} {
		if err := c.s.SetLegOptions(l, LegOptions{ComfortNoise: true}); err != nil {
			t.Fatal(err)
		}
	}
	payload := ramp(3) // any bytes: G.722 is not touched
	c.trunk.send(c.a, rtpPacket(t, PayloadG722, 1, 160, 0xA1, payload))
	got, _ := c.service.recv()
	if got.PayloadType != PayloadG722 || !bytes.Equal(got.Payload, payload) {
		t.Fatalf("G.722 changed: pt %d", got.PayloadType)
	}
	c.trunk.send(c.a, rtpPacket(t, PayloadCN, 2, 320, 0xA1, []byte{40}))
	if got, _ := c.service.recv(); got.PayloadType != PayloadCN {
		t.Fatalf("CN not passed: %d", got.PayloadType)
	}
	// G.722 on one leg, G.711 on the other is never "transcoded".
	if err := c.s.SetRemote(LegB, c.service.addr(), PayloadPCMU, 96); err != nil {
		t.Fatal(err)
	}
	c.trunk.send(c.a, rtpPacket(t, PayloadG722, 3, 480, 0xA1, payload))
	c.service.expectNothing()
}

func TestNegotiateG722OnlyWhenAsked(t *testing.T) {
	d, err := ParseSDP(sdpLines("v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 9 0 13"))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Negotiate(d, nil)
	if err != nil || ans.Codec != CodecPCMU || !ans.CN {
		t.Fatalf("default: %+v %v", ans, err)
	}
	ans, err = Negotiate(d, PassthroughCodecs())
	if err != nil || ans.Codec != CodecG722 {
		t.Fatalf("passthrough: %+v %v", ans, err)
	}
}
