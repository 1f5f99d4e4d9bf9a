package media

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	pion "github.com/pion/rtcp"

	"github.com/voiceedge/edge/media/rtcp"
)

// recvRTCP waits up to d for a compound RTCP packet on p.
func (p *udpPeer) recvRTCP(d time.Duration) (rtcp.Report, []byte, bool) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := p.conn.SetReadDeadline(deadline); err != nil {
			p.t.Fatal(err)
		}
		n, _, err := p.conn.ReadFromUDPAddrPort(p.buf)
		if err != nil {
			return rtcp.Report{}, nil, false
		}
		b := append([]byte(nil), p.buf[:n]...)
		if !rtcp.IsRTCP(b) {
			continue // RTP on a multiplexed port
		}
		r, err := rtcp.Parse(b)
		if err != nil {
			p.t.Fatalf("edge sent bad RTCP: %v (%x)", err, b)
		}
		return r, b, true
	}
	return rtcp.Report{}, nil, false
}

func TestRTCPTerminatedPerLeg(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RTCPInterval = 100 * time.Millisecond
	c, reg := newCall(t, cfg, PayloadPCMU, 101, PayloadPCMU, 101)
	trunkRTCP := newPeer(t, "127.0.0.1")
	if err := c.s.SetRTCP(LegA, trunkRTCP.addr(), false); err != nil {
		t.Fatal(err)
	}
	// The service multiplexes (RFC 5761): reports come on its RTP port.
	if err := c.s.SetRTCP(LegB, c.service.addr(), true); err != nil {
		t.Fatal(err)
	}
	edgeRTCPA := netip.AddrPortFrom(c.a.Addr(), c.a.Port()+1)
	for i := range 20 {
		c.trunk.send(c.a, rtpPacket(t, 0, uint16(100+i), uint32(i*160), 0xA1, ramp(0)))
		c.service.send(c.b, rtpPacket(t, 0, uint16(500+i), uint32(i*160), 0xB2, ramp(1)))
	}
	// The trunk's own RTCP, with its SSRC and CNAME: none of it may reach
	// the service.
	secret, _ := pion.Marshal([]pion.Packet{
		&pion.ReceiverReport{SSRC: 0xDEADBEEF, Reports: []pion.ReceptionReport{{SSRC: 0xB2, FractionLost: 64, TotalLost: 3, Jitter: 16}}},
		&pion.SourceDescription{Chunks: []pion.SourceDescriptionChunk{{Source: 0xDEADBEEF, Items: []pion.SourceDescriptionItem{{Type: pion.SDESCNAME, Text: "carrier-secret"}}}}},
	})
	trunkRTCP.send(edgeRTCPA, secret)
	// Truncated and lying compound packets: counted, never a crash.
	trunkRTCP.send(edgeRTCPA, secret[:10])
	lying := append([]byte(nil), secret...)
	lying[3] = 0xff
	trunkRTCP.send(edgeRTCPA, lying)

	sr, raw, ok := trunkRTCP.recvRTCP(2 * time.Second)
	if !ok {
		t.Fatal("no report from the edge on the trunk's RTCP port")
	}
	if !sr.Sender || sr.SSRC != 0xB2 || !sr.HasCNAME || len(sr.Blocks) != 1 || sr.Blocks[0].SSRC != 0xA1 {
		t.Fatalf("trunk got %+v, want an SR of the stream it receives (0xB2) with a block about its own (0xA1)", sr)
	}
	if sr.Packets != 20 {
		t.Errorf("SR packet count %d, want 20", sr.Packets)
	}
	var svcRaw []byte
	for range 3 { // a few of the service's reports
		_, b, ok := c.service.recvRTCP(2 * time.Second)
		if !ok {
			t.Fatal("no report from the edge to the multiplexing service")
		}
		svcRaw = append(svcRaw, b...)
	}
	if bytes.Contains(svcRaw, []byte("carrier-secret")) || bytes.Contains(svcRaw, []byte{0xDE, 0xAD, 0xBE, 0xEF}) {
		t.Fatal("the trunk's RTCP reached the service")
	}
	if cnameOf(raw) == cnameOf(svcRaw) {
		t.Errorf("both legs get the same CNAME %q", cnameOf(raw))
	}
	// The trunk answers the edge's SR: RTT from LSR/DLSR.
	rr, _ := pion.Marshal([]pion.Packet{&pion.ReceiverReport{SSRC: 0xA1, Reports: []pion.ReceptionReport{{
		SSRC: 0xB2, FractionLost: 26, TotalLost: 2, Jitter: 40, LastSenderReport: rtcp.Middle(sr.NTP), Delay: 65536 / 100,
	}}}})
	trunkRTCP.send(edgeRTCPA, rr)
	eventually(t, "rtcp counted", func() bool { st := c.s.Stats().A.RTCP; return st.ReportsReceived == 2 && st.Dropped == 2 })
	st := c.s.Stats().A.RTCP
	if st.RemoteFractionLost < 0.1 || st.RemoteJitterMs != 5 || st.RemoteLost != 2 || st.ReportsSent == 0 {
		t.Errorf("rtcp stats %+v", st)
	}
	if st.RTTMs <= 0 || st.RTTMs > 1000 {
		t.Errorf("rtt %v ms", st.RTTMs)
	}
	if st.MOS < 1 || st.MOS > 4.5 || st.R <= 0 {
		t.Errorf("quality %+v", st.Quality)
	}
	if v := counterValue(t, reg, "edge_media_rtcp_dropped_total", "reason", "malformed"); v != 2 {
		t.Errorf("rtcp malformed = %v", v)
	}
	// A stranger's RTCP is refused.
	stranger := newPeer(t, "127.0.0.2")
	stranger.send(edgeRTCPA, rr)
	eventually(t, "stranger dropped", func() bool { return c.s.Stats().A.RTCP.Dropped == 3 })
}

// cnameOf returns the first CNAME of a compound packet (or of the first of
// several concatenated).
func cnameOf(b []byte) string {
	for off := 0; off+4 <= len(b); {
		n := 4 * (int(b[off+2])<<8 | int(b[off+3]) + 1)
		if off+n > len(b) {
			break
		}
		pkts, err := pion.Unmarshal(b[off : off+n])
		if err == nil {
			for _, p := range pkts {
				if sd, ok := p.(*pion.SourceDescription); ok {
					return sd.Chunks[0].Items[0].Text
				}
			}
		}
		off += n
	}
	return ""
}

// BenchmarkRTCPReport measures one report of a leg (statistics, SR with a
// report block and CNAME, the write): the RTCP cost of a call is two of
// these every RTCPInterval.
func BenchmarkRTCPReport(b *testing.B) {
	m, _ := newTestManager(b, Config{})
	s, err := m.NewSession("bench-rtcp")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	peer := newPeer(b, "127.0.0.1")
	if err := s.SetRemote(LegA, peer.addr(), PayloadPCMU, 101); err != nil {
		b.Fatal(err)
	}
	lg := s.legs[LegA]
	lg.stats.rxPackets.Store(100)
	lg.stats.expected.Store(100)
	lg.noteTx(0xB2, 16000, time.Second)
	b.ReportAllocs()
	for b.Loop() {
		lg.stats.txPackets.Add(1)
		s.report(lg, time.Now())
	}
}
