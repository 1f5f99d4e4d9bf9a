package media

import (
	"errors"
	"testing"
	"time"
)

func TestSendDTMFInStream(t *testing.T) {
	c, reg := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMU, 96)
	c.trunk.send(c.a, rtpPacket(t, 0, 700, 16000, 0xA1, ramp(0)))
	c.service.recv()
	if err := c.s.SendDTMF(LegB, 5, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SendDTMF(LegB, 6, 0); !errors.Is(err, ErrDTMFBusy) {
		t.Errorf("second event at once: %v", err)
	}
	var ends, n int
	lastSeq := uint16(700)
	var evTS uint32
	for ends < 3 {
		p, _ := c.service.recv()
		n++
		if p.PayloadType != 96 || p.SSRC != 0xA1 || len(p.Payload) != 4 || p.Payload[0] != 5 {
			t.Fatalf("packet %d: %+v %x", n, p.Header, p.Payload)
		}
		if p.SequenceNumber != lastSeq+1 {
			t.Fatalf("packet %d: seq %d after %d", n, p.SequenceNumber, lastSeq)
		}
		lastSeq = p.SequenceNumber
		if n == 1 {
			evTS = p.Timestamp
			if !p.Marker || evTS == 16000 {
				t.Errorf("first packet: marker %v ts %d", p.Marker, p.Timestamp)
			}
		} else if p.Timestamp != evTS {
			t.Errorf("packet %d: timestamp %d, want the event's %d", n, p.Timestamp, evTS)
		}
		if p.Payload[1]&0x80 != 0 {
			ends++
		}
	}
	if n < 6 {
		t.Errorf("%d packets for a 100 ms event", n)
	}
	eventually(t, "dtmf counted", func() bool { return counterValue(t, reg, "edge_media_dtmf_injected_total", "", "") == 1 })
	// Audio afterwards continues the stream.
	eventually(t, "event over", func() bool { return !c.s.legs[LegB].injecting.Load() })
	c.trunk.send(c.a, rtpPacket(t, 0, 701, 16160, 0xA1, ramp(0)))
	c.trunk.send(c.a, rtpPacket(t, 0, 702, 16320, 0xA1, ramp(0)))
	c.trunk.send(c.a, rtpPacket(t, 0, 703, 16480, 0xA1, ramp(0)))
	c.trunk.send(c.a, rtpPacket(t, 0, 704, 16640, 0xA1, ramp(0)))
	p, _ := c.service.recv()
	if p.SequenceNumber <= lastSeq || p.SSRC != 0xA1 {
		t.Errorf("audio after the event: seq %d (event ended at %d)", p.SequenceNumber, lastSeq)
	}
	if err := c.s.SendDTMF(LegA, 1, 0); err != nil {
		t.Errorf("leg A has telephone-event 101: %v", err)
	}
	c2, _ := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMU, NoPayloadType)
	if err := c2.s.SendDTMF(LegB, 1, 0); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Errorf("no telephone-event: %v", err)
	}
}

func TestRFC4733ToHook(t *testing.T) {
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMU, NoPayloadType)
	got := make(chan [2]int, 4)
	c.s.OnDTMF(func(from Leg, ev uint8, d time.Duration) { got <- [2]int{int(ev), int(d.Milliseconds())} })
	for i, end := range []bool{false, false, true, true, true} {
		flags := byte(10)
		if end {
			flags |= 0x80
		}
		c.trunk.send(c.a, rtpPacket(t, 101, uint16(10+i), 8000, 1, []byte{7, flags, 0x01, 0x40}))
	}
	select {
	case g := <-got:
		if g != [2]int{7, 40} {
			t.Errorf("hook got %v, want event 7 of 40 ms", g)
		}
	case <-time.After(time.Second):
		t.Fatal("no DTMF signalled")
	}
	select {
	case g := <-got:
		t.Errorf("the end packet's repeats signalled again: %v", g)
	case <-time.After(100 * time.Millisecond):
	}
	c.service.expectNothing()
}
