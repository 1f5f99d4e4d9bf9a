package sip

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/media"
)

// rawCaller is an answered call of a raw trunk, with its media socket:
// the warm-transfer tests say tones into it and decode what comes back.
type rawCaller struct {
	trunk *rawTrunk
	inv   *rawInvite
	ok    *sip.Response
	rtp   *rtpSocket
	edge  netip.AddrPort // the edge's leg A media address
}

// dialRaw calls number through the edge from a raw trunk on 127.0.0.1 and
// acknowledges the 200.
func (e *testEdge) dialRaw(t *testing.T, number string) *rawCaller {
	t.Helper()
	c := &rawCaller{trunk: newRawTrunk(t, "127.0.0.1", e.udpAddr), rtp: newRTPSocket(t)}
	c.inv = c.trunk.newInvite(number)
	c.inv.sdp = offerAt("127.0.0.1", c.rtp.port())
	ok, raw := c.trunk.call(t, c.inv, 10*time.Second)
	if ok == nil || ok.StatusCode != 200 {
		t.Fatalf("call answered %v\n%s", ok, raw)
	}
	c.ok, c.edge = ok, edgeMedia(t, ok)
	c.trunk.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack1-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		ok.Contact().Address.String(), c.trunk.local(), time.Now().UnixNano(), c.inv.fromTag, ok.To().String(), c.inv.callID))
	return c
}

// hangup ends the call from the trunk's side.
func (c *rawCaller) hangup(t *testing.T) { c.trunk.hangup(t, c.inv, c.ok) }

// say sends d of a tone of freq Hz (silence for 0) as PCMU, 20 ms a
// packet, and returns the audio that came back meanwhile, decoded.
func (c *rawCaller) say(t *testing.T, freq float64, d time.Duration) []int16 {
	t.Helper()
	r := c.rtp
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	binary.BigEndian.PutUint32(pkt[8:], 0xca11e4)
	pcm := make([]int16, 160)
	var heard []int16
	buf := make([]byte, 2048)
	phase := 0.0
	for end := time.Now().Add(d); time.Now().Before(end); {
		r.seq++
		binary.BigEndian.PutUint16(pkt[2:], r.seq)
		binary.BigEndian.PutUint32(pkt[4:], uint32(r.seq)*160)
		for i := range pcm {
			pcm[i] = int16(6000 * math.Sin(phase))
			phase += 2 * math.Pi * freq / 8000
		}
		media.EncodePCMU(pkt[12:], pcm)
		if _, err := r.conn.WriteToUDPAddrPort(pkt, c.edge); err != nil {
			t.Fatal(err)
		}
		_ = r.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			n, _, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if n > 12 && buf[1]&0x7f == 0 {
				out := make([]int16, n-12)
				heard = append(heard, out[:media.DecodePCMU(out, buf[12:n])]...)
			}
		}
	}
	return heard
}

// liveCall is the one live call of e.
func (e *testEdge) liveCall(t *testing.T) *call {
	t.Helper()
	var c *call
	waitFor(t, 5*time.Second, "one live call", func() bool {
		all := e.srv.dialogs.all()
		if len(all) == 1 {
			c = all[0]
		}
		return c != nil
	})
	return c
}

// replacesOf is the Replaces value naming leg B of c from the service's
// side: to-tag the edge's tag, from-tag the service's (RFC 3891 section 3).
func replacesOf(t *testing.T, c *call) string {
	t.Helper()
	d, ok := c.svc().(clientService)
	if !ok {
		t.Fatalf("leg B is %T", c.svc())
	}
	edgeTag, _ := d.InviteRequest.From().Params.Get("tag")
	svcTag, _ := d.InviteResponse.To().Params.Get("tag")
	return fmt.Sprintf("%s;to-tag=%s;from-tag=%s", d.InviteRequest.CallID().Value(), edgeTag, svcTag)
}

// trunkReplaces names leg A of c (the trunk's dialog) as a Replaces would.
func trunkReplaces(c *call) string {
	edgeTag, _ := c.a.InviteResponse.To().Params.Get("tag")
	trunkTag, _ := c.a.InviteRequest.From().Params.Get("tag")
	return fmt.Sprintf("%s;to-tag=%s;from-tag=%s", c.a.InviteRequest.CallID().Value(), edgeTag, trunkTag)
}

// startReplacer runs a SIPp UAC on ip sending scenario's INVITE with
// Replaces: replaces to the edge.
func (e *testEdge) startReplacer(t *testing.T, scenario, ip, replaces string, extra ...string) *sippProc {
	t.Helper()
	port := fmt.Sprint(freeUDPPort(t, ip))
	args := append([]string{e.udpAddr, "-i", ip, "-p", port, "-mp", edgeproc.SIPpMediaPort(t, ip, port),
		"-key", "replaces", replaces}, extra...)
	return startSipp(t, testScenario(scenario), args...)
}
