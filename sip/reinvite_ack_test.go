package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestReinviteAckResentForRetransmitted2xx: the service's 200 to the
// edge's re-INVITE is retransmitted as if the edge's ACK was lost; the
// edge answers each retransmission with the same ACK (RFC 3261 section
// 13.2.2.4), so the peer stops retransmitting and keeps the call.
func TestReinviteAckResentForRetransmitted2xx(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.mediaTimeout = 0 })
	svc, target := newRawService(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	rtp := listenRTP(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = sdpOn(portOf(rtp), 1, "sendrecv")
	trunk.send(t, inv.text(trunk.local()))
	svc.answer(t, freeUDPPort(t, "127.0.0.2"))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200 to the trunk")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))

	reinv, cseq := holdThroughEdge(t, trunk, svc, inv, ok, portOf(rtp))
	body := "v=0\r\no=agent 1 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"
	res := sip.NewResponseFromRequest(reinv, 200, "OK", []byte(body))
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.2", Port: svc.conn.LocalAddr().(*net.UDPAddr).Port}})
	ct := sip.ContentTypeHeader("application/sdp")
	res.AppendHeader(&ct)
	ackCSeq := fmt.Sprintf("%d ACK", reinv.CSeq().SeqNo)
	for i := 0; i < 3; i++ { // the first 200, then two retransmissions
		svc.send(t, res.String())
		ack := svc.waitRequest(t, sip.ACK, 3*time.Second)
		if ack == nil {
			t.Fatalf("no ACK for the 200 sent %d times", i+1)
		}
		if got := ack.CSeq().Value(); got != ackCSeq {
			t.Fatalf("ACK %d has CSeq %q, want %q", i+1, got, ackCSeq)
		}
	}
	held := trunk.waitResponse(t, 200, 10*time.Second)
	if held == nil || !strings.Contains(string(held.Body()), "a=recvonly") {
		t.Fatalf("the trunk's hold: %v", held)
	}
	trunk.send(t, trunk.inDialog(inv, held, "ACK", cseq, "", ""))
	if n := e.counter(t, "edge_sip_reinvite_acks_resent_total", nil); n != 2 {
		t.Errorf("edge_sip_reinvite_acks_resent_total = %v, want 2", n)
	}
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", cseq+1, "", ""))
	if bye := svc.waitRequest(t, sip.BYE, 10*time.Second); bye != nil {
		svc.respond(t, bye, 200, "OK")
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
}

// holdThroughEdge sends the trunk's hold (re-INVITE a=sendonly) until it
// reaches the service, which it returns with the CSeq the trunk used: a
// re-INVITE that overtakes the trunk's ACK gets 491 and is sent again, as
// a carrier would (TestReinviteOvertakingAck).
func holdThroughEdge(t *testing.T, trunk *rawTrunk, svc *rawService, inv *rawInvite, ok *sip.Response, rtpPort int) (*sip.Request, int) {
	t.Helper()
	for cseq := 2; cseq < 7; cseq++ {
		trunk.send(t, trunk.inDialog(inv, ok, "INVITE", cseq, "", sdpOn(rtpPort, cseq, "sendonly")))
		if reinv := svc.waitRequest(t, sip.INVITE, 2*time.Second); reinv != nil {
			return reinv, cseq
		}
	}
	t.Fatal("the hold did not reach the service as a re-INVITE")
	return nil, 0
}

// TestReinviteOvertakingAck: the trunk's re-INVITE arrives before the ACK
// of its INVITE (UDP reorders). The edge answers it 491, takes the late
// ACK all the same, and the re-INVITE sent again reaches the service;
// the trunk's BYE then ends the call at once (nothing waits for an ACK
// the dialog layer did not count).
func TestReinviteOvertakingAck(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.mediaTimeout = 0 })
	svc, target := startService(t, "testdata/uas_reinvite_hold.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	rtp := listenRTP(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = sdpOn(portOf(rtp), 1, "sendrecv")
	trunk.send(t, inv.text(trunk.local()))
	ok := trunk.waitResponse(t, 200, 10*time.Second)
	if ok == nil {
		t.Fatal("no 200 to the trunk")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "INVITE", 2, "", sdpOn(portOf(rtp), 2, "sendonly")))
	if res := trunk.waitResponse(t, 491, 5*time.Second); res == nil {
		t.Fatal("a re-INVITE before the ACK not answered 491")
	}
	trunk.send(t, trunk.inDialog(inv, ok, "ACK", 1, "", ""))
	time.Sleep(100 * time.Millisecond) // the ACK first, this time
	trunk.send(t, trunk.inDialog(inv, ok, "INVITE", 3, "", sdpOn(portOf(rtp), 3, "sendonly")))
	held := trunk.waitResponse(t, 200, 10*time.Second)
	if held == nil || !strings.Contains(string(held.Body()), "a=recvonly") {
		t.Fatalf("the hold sent again: %v, want the service's a=recvonly", held)
	}
	trunk.send(t, trunk.inDialog(inv, held, "ACK", 3, "", ""))
	bye := time.Now()
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 4, "", ""))
	if res := trunk.waitResponse(t, 200, 5*time.Second); res == nil {
		t.Fatal("the BYE not answered")
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
	if d := time.Since(bye); d > 3*time.Second {
		t.Errorf("the call took %v to end after the BYE", d)
	}
}
