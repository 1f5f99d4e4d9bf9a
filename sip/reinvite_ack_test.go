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

	trunk.send(t, trunk.inDialog(inv, ok, "INVITE", 2, "", sdpOn(portOf(rtp), 2, "sendonly")))
	reinv := svc.waitRequest(t, sip.INVITE, 10*time.Second)
	if reinv == nil {
		t.Fatal("the hold did not reach the service as a re-INVITE")
	}
	body := "v=0\r\no=agent 1 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"
	res := sip.NewResponseFromRequest(reinv, 200, "OK", []byte(body))
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.2", Port: svc.conn.LocalAddr().(*net.UDPAddr).Port}})
	ct := sip.ContentTypeHeader("application/sdp")
	res.AppendHeader(&ct)
	cseq := fmt.Sprintf("%d ACK", reinv.CSeq().SeqNo)
	for i := 0; i < 3; i++ { // the first 200, then two retransmissions
		svc.send(t, res.String())
		ack := svc.waitRequest(t, sip.ACK, 3*time.Second)
		if ack == nil {
			t.Fatalf("no ACK for the 200 sent %d times", i+1)
		}
		if got := ack.CSeq().Value(); got != cseq {
			t.Fatalf("ACK %d has CSeq %q, want %q", i+1, got, cseq)
		}
	}
	held := trunk.waitResponse(t, 200, 10*time.Second)
	if held == nil || !strings.Contains(string(held.Body()), "a=recvonly") {
		t.Fatalf("the trunk's hold: %v", held)
	}
	trunk.send(t, trunk.inDialog(inv, held, "ACK", 2, "", ""))
	if n := e.counter(t, "edge_sip_reinvite_acks_resent_total", nil); n != 2 {
		t.Errorf("edge_sip_reinvite_acks_resent_total = %v, want 2", n)
	}
	trunk.send(t, trunk.inDialog(inv, ok, "BYE", 3, "", ""))
	if bye := svc.waitRequest(t, sip.BYE, 10*time.Second); bye != nil {
		svc.respond(t, bye, 200, "OK")
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonTrunkHangup) {
		t.Errorf("reason = %v", got)
	}
}
