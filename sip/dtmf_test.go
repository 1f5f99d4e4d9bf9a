package sip

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// info sends an in-dialog INFO with a body and returns its final answer.
func (r *rawTrunk) info(t *testing.T, inv *rawInvite, ok *sip.Response, cseq int, ctype, body string) *sip.Response {
	t.Helper()
	r.send(t, fmt.Sprintf("INFO %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-info-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d INFO\r\nMax-Forwards: 70\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		ok.Contact().Address.String(), r.local(), time.Now().UnixNano(), inv.fromTag, ok.To().String(), inv.callID, cseq, ctype, len(body), body))
	res, raw := r.final(t, 5*time.Second)
	if res == nil {
		t.Fatalf("no answer to INFO\n%s", raw)
	}
	return res
}

// events reads the RFC 4733 events (payload type pt) that come back for d
// and returns the event codes of their end packets.
func (r *rtpSocket) events(t *testing.T, pt uint8, d time.Duration) []uint8 {
	t.Helper()
	var ends []uint8
	buf := make([]byte, 2048)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_ = r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			break
		}
		if n == 16 && buf[1]&0x7f == pt && buf[13]&0x80 != 0 {
			ends = append(ends, buf[12])
		}
	}
	return ends
}

// TestCallInfoDTMF: DTMF the trunk sends as SIP INFO reaches the service
// as RFC 4733 events (the echoing service sends them back, so the trunk
// sees them on its own media socket).
func TestCallInfoDTMF(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	sock := newRTPSocket(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = offerAt("127.0.0.1", sock.port())
	ok, raw := trunk.call(t, inv, 10*time.Second)
	if ok == nil || ok.StatusCode != 200 {
		t.Fatalf("got %v\n%s", ok, raw)
	}
	trunk.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack1\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		ok.Contact().Address.String(), trunk.local(), inv.fromTag, ok.To().String(), inv.callID))
	if n := sock.talk(t, edgeMedia(t, ok), 10); n < 3 {
		t.Fatalf("no echo: %d", n)
	}
	if res := trunk.info(t, inv, ok, 2, "application/dtmf-relay", "Signal=5\r\nDuration=100\r\n"); res.StatusCode != 200 {
		t.Fatalf("INFO dtmf-relay answered %d", res.StatusCode)
	}
	got := sock.events(t, 101, time.Second)
	if len(got) < 1 || got[0] != 5 {
		t.Fatalf("events back from the service: %v, want end packets of event 5", got)
	}
	if res := trunk.info(t, inv, ok, 3, "application/dtmf", "#"); res.StatusCode != 200 {
		t.Fatalf("INFO dtmf answered %d", res.StatusCode)
	}
	if got := sock.events(t, 101, time.Second); len(got) < 1 || got[0] != 11 {
		t.Fatalf("events for #: %v", got)
	}
	if res := trunk.info(t, inv, ok, 4, "application/dtmf-relay", "Signal=\r\n"); res.StatusCode != 400 {
		t.Errorf("empty signal answered %d, want 400", res.StatusCode)
	}
	if n := e.counter(t, "edge_sip_dtmf_total", map[string]string{"source": "info", "result": "converted"}); n != 2 {
		t.Errorf("converted = %v", n)
	}
	trunk.hangup(t, inv, ok)
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	e.checkNoLeaks(t, ws)
}

// sendEvent sends an RFC 4733 event (PT 101) of the trunk: a few updates
// and the end packet three times (RFC 4733 section 2.5.1.4).
func (r *rtpSocket) sendEvent(t *testing.T, to netip.AddrPort, ev uint8) {
	t.Helper()
	pkt := make([]byte, 16)
	pkt[0] = 0x80
	binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
	ts := uint32(r.seq+1) * 160
	for i := 0; i < 8; i++ {
		r.seq++
		pkt[1] = 101
		if i == 0 {
			pkt[1] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[2:], r.seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		pkt[12], pkt[13] = ev, 10
		if i >= 5 {
			pkt[13] |= 0x80
		}
		binary.BigEndian.PutUint16(pkt[14:], uint16(min(i+1, 5)*160))
		if _, err := r.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCallRFC4733ToInfo: a service that did not negotiate telephone-event
// gets the trunk's RFC 4733 digit as SIP INFO application/dtmf-relay
// (the SIPp scenario checks Signal=5), once per event.
func TestCallRFC4733ToInfo(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_info_dtmf.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	sock := newRTPSocket(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = offerAt("127.0.0.1", sock.port())
	ok, raw := trunk.call(t, inv, 10*time.Second)
	if ok == nil || ok.StatusCode != 200 {
		t.Fatalf("got %v\n%s", ok, raw)
	}
	trunk.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack1\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		ok.Contact().Address.String(), trunk.local(), inv.fromTag, ok.To().String(), inv.callID))
	to := edgeMedia(t, ok)
	sock.talk(t, to, 5)
	sock.sendEvent(t, to, 5)
	waitFor(t, 5*time.Second, "INFO sent", func() bool {
		return e.counter(t, "edge_sip_dtmf_total", map[string]string{"source": "rfc4733", "result": "info_sent"}) == 1
	})
	trunk.hangup(t, inv, ok)
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d (no INFO with Signal=5?)\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	e.checkNoLeaks(t, ws)
}
