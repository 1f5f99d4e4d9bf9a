package media

import (
	"testing"

	"github.com/pion/rtp"
)

func TestParseRTPHeaderMatchesPion(t *testing.T) {
	tests := []struct {
		name   string
		packet rtp.Packet
	}{
		{name: "plain", packet: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 160, SSRC: 0xdeadbeef}, Payload: ramp(1)}},
		{name: "marker and CSRCs", packet: rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, PayloadType: 101, SequenceNumber: 65535, Timestamp: 1 << 31, SSRC: 1, CSRC: []uint32{1, 2, 3}}, Payload: []byte{1, 0x80, 0, 160}}},
		{name: "extension", packet: func() rtp.Packet {
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 1, SSRC: 2}, Payload: ramp(9)}
			if err := p.Header.SetExtension(1, []byte{0xAA}); err != nil {
				t.Fatal(err)
			}
			return p
		}()},
		{name: "padding", packet: rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PayloadType: 0, SequenceNumber: 3, SSRC: 3}, Payload: ramp(3), PaddingSize: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.packet.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			var want rtp.Packet
			if err := want.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			h, ok := parseRTPHeader(b)
			if !ok {
				t.Fatal("rejected a valid packet")
			}
			if h.pt != want.PayloadType || h.marker != want.Marker || h.seq != want.SequenceNumber ||
				h.timestamp != want.Timestamp || h.ssrc != want.SSRC {
				t.Fatalf("header %+v, want %+v", h, want.Header)
			}
			if got := b[h.payloadStart:h.payloadEnd]; string(got) != string(want.Payload) {
				t.Fatalf("payload %x, want %x", got, want.Payload)
			}
		})
	}
}

func TestParseRTPHeaderRejects(t *testing.T) {
	valid := func() []byte { return []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9, 0xFF, 0xFF} }
	tests := []struct {
		name string
		pkt  []byte
	}{
		{name: "empty", pkt: nil},
		{name: "short", pkt: valid()[:11]},
		{name: "version 1", pkt: func() []byte { b := valid(); b[0] = 0x40; return b }()},
		{name: "version 0 (STUN)", pkt: func() []byte { b := valid(); b[0] = 0x00; return b }()},
		{name: "CSRC past end", pkt: func() []byte { b := valid(); b[0] = 0x82; return b }()},
		{name: "extension header past end", pkt: func() []byte { b := valid(); b[0] = 0x90; return b }()},
		{name: "extension body past end", pkt: func() []byte { b := append(valid()[:12], 0xBE, 0xDE, 0, 5); b[0] = 0x90; return b }()},
		{name: "zero padding", pkt: func() []byte { b := valid(); b[0] = 0xA0; b[len(b)-1] = 0; return b }()},
		{name: "padding past header", pkt: func() []byte { b := valid(); b[0] = 0xA0; b[len(b)-1] = 3; return b }()},
		{name: "RTCP sender report", pkt: []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, ok := parseRTPHeader(tt.pkt); ok {
				t.Fatalf("accepted: %+v", h)
			}
		})
	}
}

func TestSetPayloadTypeKeepsMarker(t *testing.T) {
	b := []byte{0x80, 0x80 | 101}
	setPayloadType(b, 96)
	if b[1] != 0x80|96 {
		t.Fatalf("byte 1 = %#x", b[1])
	}
}
