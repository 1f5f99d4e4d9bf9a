package rtcp

import (
	"errors"
	"testing"
	"time"
)

func TestBuildParse(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	blocks := []ReportBlock{{SSRC: 0xA1, FractionLost: 25, TotalLost: 7, LastSeq: 70000, Jitter: 80, LSR: 123, DLSR: 456}}
	sr, err := Build(0, &Sender{SSRC: 0xB2, NTP: NTP(now), RTPTime: 1600, Packets: 50, Octets: 8000}, blocks, "edge-a")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(sr)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Sender || r.SSRC != 0xB2 || r.NTP != NTP(now) || r.Packets != 50 || len(r.Blocks) != 1 || r.Blocks[0] != blocks[0] || !r.HasCNAME {
		t.Fatalf("got %+v", r)
	}
	rr, err := Build(0xC3, nil, nil, "edge-b")
	if err != nil {
		t.Fatal(err)
	}
	r, err = Parse(rr)
	if err != nil || r.Sender || r.SSRC != 0xC3 {
		t.Fatalf("rr: %+v %v", r, err)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := Build(1, nil, []ReportBlock{{SSRC: 2}}, "x")
	lying := append([]byte(nil), good...)
	lying[3] = 200 // length far beyond the datagram
	shortLen := append([]byte(nil), good...)
	shortLen[3]-- // the packets no longer add up
	padded := append([]byte(nil), good...)
	padded[0] |= 0x20 // padding on the first of two packets
	v1 := append([]byte(nil), good...)
	v1[0] = 0x40 | v1[0]&0x3f
	sdesFirst := append([]byte(nil), good[32:]...)
	tests := map[string][]byte{
		"empty": nil, "truncated": good[:10], "lying length": lying, "lengths do not add up": shortLen,
		"padding not last": padded, "version 1": v1, "sdes first": sdesFirst, "rtp": {0x80, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4},
		"huge": make([]byte, MaxPacketSize+1),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestRTT(t *testing.T) {
	sent := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	// The peer got our SR, held it 100 ms, answered; it arrives 180 ms
	// after we sent: RTT 80 ms.
	b := ReportBlock{LSR: Middle(NTP(sent)), DLSR: 65536 / 10}
	rtt, ok := RTT(b, sent.Add(180*time.Millisecond))
	if !ok || rtt < 79*time.Millisecond || rtt > 81*time.Millisecond {
		t.Fatalf("rtt %v %v", rtt, ok)
	}
	if _, ok := RTT(ReportBlock{}, sent); ok {
		t.Error("no LSR gave an RTT")
	}
	if _, ok := RTT(ReportBlock{LSR: Middle(NTP(sent.Add(time.Second)))}, sent); ok {
		t.Error("negative RTT accepted")
	}
}

func TestEModel(t *testing.T) {
	best := EModel(0, 0, 0)
	if best.R != 93.2 || best.MOS < 4.4 || best.MOS > 4.42 {
		t.Errorf("perfect line: %+v", best)
	}
	lossy := EModel(100*time.Millisecond, 10*time.Millisecond, 0.05)
	if lossy.R >= best.R || lossy.MOS >= best.MOS || lossy.MOS < 3 {
		t.Errorf("5%% loss: %+v", lossy)
	}
	awful := EModel(2*time.Second, 0, 1)
	if awful.MOS != 1 {
		t.Errorf("dead line: %+v", awful)
	}
}

func TestIsRTCP(t *testing.T) {
	if !IsRTCP([]byte{0x80, 200}) || !IsRTCP([]byte{0x81, 201}) || IsRTCP([]byte{0x80, 0}) || IsRTCP([]byte{0x80, 0x80 | 101}) {
		t.Error("demultiplexing of RFC 5761 section 4")
	}
}

func FuzzParse(f *testing.F) {
	good, _ := Build(1, &Sender{SSRC: 1, NTP: 5}, []ReportBlock{{SSRC: 2, LSR: 3}}, "cname")
	f.Add(good)
	f.Add(good[:12])
	f.Add([]byte{0x81, 201, 0, 7, 0, 0, 0, 1})
	f.Add([]byte{0xbf, 200, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if len(r.Blocks) > 31 {
			t.Fatalf("%d blocks", len(r.Blocks))
		}
	})
}
