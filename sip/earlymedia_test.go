package sip

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// TestEarlyMediaRelayed has a SIPp service answer 183 with SDP, 1.5 s of
// early media (it echoes RTP), then 200. The trunk gets a 183 carrying
// the edge's SDP (its address and leg A port, nothing of the service),
// hears its own audio echoed through the relay before the answer, and
// then a 200 with the same media address.
func TestEarlyMediaRelayed(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_early.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	rtp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	inv := trunk.newInvite("+15551230001")
	inv.sdp = strings.Replace(pcmuOffer, "m=audio 49170", fmt.Sprintf("m=audio %d", rtp.LocalAddr().(*net.UDPAddr).Port), 1)
	trunk.send(t, inv.text(trunk.local()))

	var early *sip.Response
	var seen []string
	for early == nil {
		res, raw := trunk.recv(t, 5*time.Second)
		if res == nil {
			t.Fatalf("no 183; got %q", seen)
		}
		seen = append(seen, string(raw))
		if res.StatusCode >= 200 {
			t.Fatalf("final %d before any 183:\n%s", res.StatusCode, raw)
		}
		if res.StatusCode == 183 {
			early = res
		}
	}
	got183 := time.Now()
	{
	}
	earlySDP, err := media.ParseSDP(early.Body())
	if err != nil {
		t.Fatalf("183 without SDP: %v\n%s", err, seen[len(seen)-1])
	}
	edgeMedia := earlySDP.RTPAddr()
	if edgeMedia.Addr().String() != "127.0.0.1" || edgeMedia.Port() == 0 {
		t.Fatalf("183 SDP points at %v, not the edge", edgeMedia)
	}

	// Early media: what the trunk sends comes back echoed by the service
	// through both legs of the relay, before the answer.
	dst := net.UDPAddrFromAddrPort(edgeMedia)
	echoed := 0
	buf := make([]byte, 2048)
	for i := 0; i < 40 && echoed < 3; i++ {
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
		if _, err := rtp.WriteToUDP(pkt, dst); err != nil {
			t.Fatal(err)
		}
		_ = rtp.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			n, _, err := rtp.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if n >= 12 && buf[1]&0x7f == 0 {
				echoed++
			}
		}
	}
	if echoed == 0 {
		t.Fatal("no early media came back through the relay")
	}
	if d := time.Since(got183); d > 1400*time.Millisecond {
		t.Fatalf("early media took %v: the service answered meanwhile", d)
	}

	var final *sip.Response
	var finalRaw []byte
	for final == nil {
		res, raw := trunk.recv(t, 5*time.Second)
		if res == nil {
			t.Fatal("no 200 after the early media")
		}
		seen = append(seen, string(raw))
		if res.StatusCode >= 200 {
			final, finalRaw = res, raw
		}
	}
	if final.StatusCode != 200 {
		t.Fatalf("final %d:\n%s", final.StatusCode, finalRaw)
	}
	answer, err := media.ParseSDP(final.Body())
	if err != nil || answer.RTPAddr() != edgeMedia {
		t.Errorf("200 SDP %v (err %v), want the 183's %v", answer, err, edgeMedia)
	}
	for _, msg := range seen {
		for _, leak := range []string{"127.0.0.2", "secret-agent", "agent-early", "\nX-", "SIPpTag01"} {
			if strings.Contains(msg, leak) {
				t.Errorf("trunk saw %q:\n%s", leak, msg)
			}
		}
	}
	contact := final.Contact().Address
	to := final.To().String()
	trunk.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact.String(), trunk.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID))
	time.Sleep(200 * time.Millisecond)
	trunk.send(t, fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact.String(), trunk.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID))
	if res, raw := trunk.final(t, 5*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("BYE answered %v\n%s", res, raw)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("end reason %v", got)
	}
	e.checkNoLeaks(t, ws)
}
