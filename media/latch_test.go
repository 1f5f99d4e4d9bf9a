package media

import (
	"net/netip"
	"testing"
)

func TestReofferNewPortMovesStream(t *testing.T) {
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMU, 101)
	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 0xA1, ramp(0)))
	c.service.recv()
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 0xB2, ramp(1)))
	c.trunk.recv()
	// Same IP, new port (RFC 3264 section 8.3.1): the stream moves.
	moved := newPeer(t, "127.0.0.1")
	if err := c.s.SetRemote(LegA, moved.addr(), PayloadPCMU, 101); err != nil {
		t.Fatal(err)
	}
	c.service.send(c.b, rtpPacket(t, 0, 2, 320, 0xB2, ramp(2)))
	if got, _ := moved.recv(); got.SequenceNumber != 2 {
		t.Fatalf("got seq %d at the new port", got.SequenceNumber)
	}
	c.trunk.expectNothing()
	moved.send(c.a, rtpPacket(t, 0, 2, 320, 0xA1, ramp(3)))
	if got, _ := c.service.recv(); got.SequenceNumber != 2 {
		t.Fatal("media from the new port not relayed")
	}
	// The old port is no longer the peer.
	c.trunk.send(c.a, rtpPacket(t, 0, 3, 480, 0xA1, ramp(0)))
	c.service.expectNothing()
}

func TestLatchingLearnAndStrict(t *testing.T) {
	private := netip.MustParseAddrPort("10.0.0.1:4000")
	for _, mode := range []Latching{LatchLearn, LatchStrict} {
		t.Run(mode.String(), func(t *testing.T) {
			m, reg := newTestManager(t, DefaultConfig())
			c := &call{s: newRunningSession(t, m, t.Name()), trunk: newPeer(t, "127.0.0.1"), service: newPeer(t, "127.0.0.1")}
			c.a, c.b = c.s.LocalAddr(LegA), c.s.LocalAddr(LegB)
			if err := c.s.SetLegOptions(LegA, LegOptions{RTCP: netip.AddrPortFrom(private.Addr(), 4001), Latching: mode}); err != nil {
				t.Fatal(err)
			}
			if err := c.s.SetRemote(LegA, private, PayloadPCMU, 101); err != nil {
				t.Fatal(err)
			}
			if err := c.s.SetRemote(LegB, c.service.addr(), PayloadPCMU, 101); err != nil {
				t.Fatal(err)
			}
			if mode == LatchLearn {
				// Before the peer spoke, nothing goes to 10.0.0.1.
				c.service.send(c.b, rtpPacket(t, 0, 1, 160, 0xB2, ramp(1)))
				eventually(t, "not sent", func() bool { return c.s.Stats().B.DroppedOther == 1 })
				if st := c.s.Stats(); st.A.PacketsSent != 0 {
					t.Fatalf("sent %d packets towards the private address", st.A.PacketsSent)
				}
			}
			c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 0xA1, ramp(0)))
			if mode == LatchStrict {
				c.service.expectNothing()
				if st := c.s.Stats().A; st.DroppedWrongSource != 1 || st.Latched {
					t.Fatalf("strict: %+v", st)
				}
				return
			}
			c.service.recv()
			c.service.send(c.b, rtpPacket(t, 0, 2, 320, 0xB2, ramp(1)))
			if _, from := c.trunk.recv(); from != c.a {
				t.Fatalf("from %s", from)
			}
			if v := counterValue(t, reg, "edge_media_rtp_latched_total", "how", "learned"); v != 1 {
				t.Errorf("learned latches = %v", v)
			}
			// A public address is never learnt: strict rules for it.
			other := newPeer(t, "127.0.0.2")
			other.send(c.a, rtpPacket(t, 0, 2, 320, 0xCC, ramp(0)))
			c.service.expectNothing()
		})
	}
}

func TestHoldStopsSendingToTheHeldParty(t *testing.T) {
	c, _ := newCall(t, DefaultConfig(), PayloadPCMU, 101, PayloadPCMU, 101)
	// The trunk puts the call on hold: sendonly (it sends music, wants
	// nothing back).
	if err := c.s.SetLegOptions(LegA, LegOptions{Direction: SendOnly}); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetRemote(LegA, c.trunk.addr(), PayloadPCMU, 101); err != nil {
		t.Fatal(err)
	}
	c.trunk.send(c.a, rtpPacket(t, 0, 1, 160, 0xA1, ramp(0)))
	c.service.recv() // music on hold flows
	c.service.send(c.b, rtpPacket(t, 0, 1, 160, 0xB2, ramp(1)))
	c.trunk.expectNothing()
	// Resume.
	if err := c.s.SetLegOptions(LegA, LegOptions{Direction: SendRecv}); err != nil {
		t.Fatal(err)
	}
	if err := c.s.SetRemote(LegA, c.trunk.addr(), PayloadPCMU, 101); err != nil {
		t.Fatal(err)
	}
	c.service.send(c.b, rtpPacket(t, 0, 2, 320, 0xB2, ramp(1)))
	c.trunk.recv()
}
