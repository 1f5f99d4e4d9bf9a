package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTopologyHiding follows a call from a raw trunk: nothing of the
// service side (its address, Contact, Server header, X- headers, tags)
// may reach the trunk in any response or request.
func TestTopologyHiding(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	inv := trunk.newInvite("+15551230001")
	trunk.send(t, inv.text(trunk.local()))
	var seen []string
	var final string
	for final == "" {
		res, raw := trunk.recv(t, 5*time.Second)
		if res == nil {
			t.Fatalf("no final answer; got %q", seen)
		}
		seen = append(seen, string(raw))
		if res.StatusCode >= 200 {
			final = string(raw)
			if res.StatusCode != 200 {
				t.Fatalf("final %d:\n%s", res.StatusCode, raw)
			}
			to := res.To().String()
			contact := res.Contact().Address
			if contact.Host != "127.0.0.1" || contact.User != "edge" {
				t.Errorf("Contact %v is not the edge", contact)
			}
			trunk.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
				contact.String(), trunk.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID))
			time.Sleep(300 * time.Millisecond)
			trunk.send(t, fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
				contact.String(), trunk.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID))
			res, raw := trunk.final(t, 5*time.Second)
			if res == nil || res.StatusCode != 200 {
				t.Fatalf("BYE answered %v\n%s", res, raw)
			}
			seen = append(seen, string(raw))
		}
	}
	for _, msg := range seen {
		for _, leak := range []string{"127.0.0.2", "secret-agent", "\nX-", "agent@", "SIPpTag01", "Server:"} {
			if strings.Contains(msg, leak) {
				t.Errorf("trunk saw %q:\n%s", leak, msg)
			}
		}
	}
	if !strings.Contains(final, "c=IN IP4 127.0.0.1") {
		t.Errorf("200 without the edge's SDP:\n%s", final)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	e.checkNoLeaks(t, ws)
}

func TestDrain(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "1500")
	waitFor(t, 10*time.Second, "call up", func() bool { return e.srv.ActiveCalls() == 1 })
	drained := make(chan error, 1)
	go func() { drained <- e.srv.Drain(context.Background()) }()
	waitFor(t, time.Second, "draining", e.srv.Draining)
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 5*time.Second)
	if res == nil || res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("new call while draining: %v, want 503 with Retry-After\n%s", res, raw)
	}
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with a call up", err)
	case <-time.After(200 * time.Millisecond):
	}
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	e.checkNoLeaks(t, ws)
}
