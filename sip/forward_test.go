package sip

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// sdpOn is a PCMU offer or answer of 127.0.0.1 on port, direction dir.
func sdpOn(port int, version int, dir string) string {
	return fmt.Sprintf("v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=%s\r\n", version, port, dir)
}

func listenRTP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func portOf(c *net.UDPConn) int { return c.LocalAddr().(*net.UDPAddr).Port }

// echoed sends PCMU RTP from conn to dst and counts the packets that come
// back (the service echoes through both legs of the relay).
func echoed(t *testing.T, conn *net.UDPConn, dst netip.AddrPort, ssrc uint32) int {
	t.Helper()
	buf := make([]byte, 2048)
	n := 0
	for i := 0; i < 50 && n < 5; i++ {
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		binary.BigEndian.PutUint32(pkt[8:], ssrc)
		if _, err := conn.WriteToUDP(pkt, net.UDPAddrFromAddrPort(dst)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			k, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if k >= 12 && buf[1]&0x7f == 0 {
				n++
			}
		}
	}
	return n
}

// edgeMedia is the RTP address of the edge's SDP in res.
func edgeMedia(t *testing.T, res *sip.Response) netip.AddrPort {
	t.Helper()
	d, err := media.ParseSDP(res.Body())
	if err != nil {
		t.Fatalf("no SDP in %d: %v\n%s", res.StatusCode, err, res.String())
	}
	return d.RTPAddr()
}

// answerSDP answers an INVITE of the edge with a 200 carrying body.
func (r *rawTrunk) answerSDP(t *testing.T, req *sip.Request, body string) {
	t.Helper()
	res := sip.NewResponseFromRequest(req, 200, "OK", []byte(body))
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "carrier", Host: "127.0.0.1", Port: r.conn.LocalAddr().(*net.UDPAddr).Port}})
	ct := sip.ContentTypeHeader("application/sdp")
	res.AppendHeader(&ct)
	r.send(t, res.String())
}

// TestReinvitePortChangeAndOfferless: the trunk moves its media to a new
// port by re-INVITE (carried to the service, whose answer comes back),
// then re-INVITEs without SDP and answers the edge's offer in the ACK with
// yet another port; after each change RTP flows both ways on the new port.
func TestReinvitePortChangeAndOfferless(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_reinvite_once.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	rtp1, rtp2, rtp3 := listenRTP(t), listenRTP(t), listenRTP(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = sdpOn(portOf(rtp1), 1, "sendrecv")
	trunk.send(t, inv.text(trunk.local()))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200")
	}
	for _, h := range []string{"Allow", "Supported"} {
		if ok.GetHeader(h) == nil {
			t.Errorf("200 without %s (RFC 3261 section 13.3.1.4)", h)
		}
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))
	dst := edgeMedia(t, ok)
	if n := echoed(t, rtp1, dst, 1); n == 0 {
		t.Fatal("no audio echoed before the re-INVITE")
	}

	trunk.send(t, trunk.inDialog(inv, ok, "INVITE", 2, "", sdpOn(portOf(rtp2), 2, "sendrecv")))
	re := trunk.waitResponse(t, 200, 10*time.Second)
	if re == nil {
		t.Fatal("re-INVITE not answered 200 (not carried to the service?)")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 2, "", ""))
	if got := edgeMedia(t, re); got != dst {
		t.Errorf("edge media moved from %v to %v", dst, got)
	}
	if n := echoed(t, rtp2, dst, 2); n == 0 {
		t.Fatal("no audio both ways on the new port after the re-INVITE")
	}

	trunk.send(t, trunk.inDialog(inv, ok, "INVITE", 3, "", ""))
	offer := trunk.waitResponse(t, 200, 10*time.Second)
	if offer == nil {
		t.Fatal("offerless re-INVITE not answered 200")
	}
	if !strings.Contains(string(offer.Body()), "RTP/AVP 0 8 101") {
		t.Errorf("200 to an offerless re-INVITE is no offer of the edge's codecs:\n%s", offer.Body())
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 3, "", sdpOn(portOf(rtp3), 3, "sendrecv")))
	if n := echoed(t, rtp3, dst, 3); n == 0 {
		t.Fatal("the ACK's answer was not applied: no audio on its port")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 4, "", ""))
	if trunk.waitResponse(t, 200, 5*time.Second) == nil {
		t.Fatal("BYE not answered")
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestReinviteGlare: the service puts the call on hold while the trunk
// re-INVITEs too. The trunk's re-INVITE, crossing the edge's, gets 491;
// the trunk answers the edge's 491 as well, and the edge retries after
// the delay of RFC 3261 section 14.1 (0-2 s: the trunk owns the Call-ID).
// The hold and the resume reach the trunk; the service gets the trunk's
// answers.
func TestReinviteGlare(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_hold.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	rtp := listenRTP(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = sdpOn(portOf(rtp), 1, "sendrecv")
	trunk.send(t, inv.text(trunk.local()))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))

	hold := trunk.waitRequest(t, sip.INVITE, 10*time.Second)
	if hold == nil || !strings.Contains(string(hold.Body()), "a=sendonly") {
		t.Fatalf("the service's hold did not reach the trunk: %v", hold)
	}
	trunk.send(t, trunk.inDialog(inv, ok, "INVITE", 2, "", sdpOn(portOf(rtp), 2, "sendrecv")))
	if trunk.waitResponse(t, 491, 5*time.Second) == nil {
		t.Fatal("crossing re-INVITE not answered 491")
	}
	trunk.respond(t, hold, 491, "Request Pending")
	start := time.Now()
	retry := trunk.waitRequest(t, sip.INVITE, 10*time.Second)
	if retry == nil {
		t.Fatal("the edge did not retry its re-INVITE after 491")
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("retry after %v, want at most 2 s (RFC 3261 section 14.1, not the Call-ID's owner)", d)
	}
	if retry.CSeq().SeqNo <= hold.CSeq().SeqNo {
		t.Errorf("retry CSeq %d not above %d", retry.CSeq().SeqNo, hold.CSeq().SeqNo)
	}
	trunk.answerSDP(t, retry, sdpOn(portOf(rtp), 3, "recvonly"))
	resume := trunk.waitRequest(t, sip.INVITE, 10*time.Second)
	if resume == nil || !strings.Contains(string(resume.Body()), "a=sendrecv") {
		t.Fatalf("the service's resume did not reach the trunk: %v", resume)
	}
	trunk.answerSDP(t, resume, sdpOn(portOf(rtp), 4, "sendrecv"))
	time.Sleep(200 * time.Millisecond)
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 5, "", ""))
	if code, logs := svc.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	e.checkNoLeaks(t, ws)
}

func TestGlareDelay(t *testing.T) {
	for i := 0; i < 200; i++ {
		if d := glareDelay(true); d < 2100*time.Millisecond || d > 4*time.Second || d%(10*time.Millisecond) != 0 {
			t.Fatalf("owner delay %v outside 2.1-4 s in 10 ms units", d)
		}
		if d := glareDelay(false); d < 0 || d > 2*time.Second || d%(10*time.Millisecond) != 0 {
			t.Fatalf("delay %v outside 0-2 s in 10 ms units", d)
		}
	}
}
