package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestDelayedOfferSRTPRequire: an INVITE without SDP on a trunk with
// media_encryption require gets the edge's offer in the 200 as RTP/SAVP
// with a key of the edge; an SRTP answer in the ACK sets the call up, a
// plain one ends it (no_answer_sdp: the trunk requires SRTP).
func TestDelayedOfferSRTPRequire(t *testing.T) {
	const key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	savp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\n"
	for _, tc := range []struct {
		name, answer, reason string
		srtp                 bool
	}{
		{name: "srtp answer", answer: savp, reason: string(ReasonTrunkHangup), srtp: true},
		{name: "plain answer", answer: pcmuOffer, reason: string(ReasonNoAnswerSDP)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			_, target := startService(t, "uas_answer.xml")
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target, mediaEnc: "require"})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			inv := trunk.newInvite("+15551230001")
			inv.sdp = ""
			res, raw := trunk.call(t, inv, 10*time.Second)
			if res == nil || res.StatusCode != 200 {
				t.Fatalf("got %v, want 200\n%s", res, raw)
			}
			body := string(res.Body())
			if !strings.Contains(body, "RTP/SAVP") || !strings.Contains(body, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") {
				t.Fatalf("the edge's offer is not SRTP on a require trunk:\n%s", body)
			}
			trunk.ackWith(t, inv, res, tc.answer)
			if tc.srtp {
				time.Sleep(500 * time.Millisecond) // the edge applies the ACK's answer
				trunk.bye(t, inv, res)
			} else if bye := trunk.waitRequest(t, sip.BYE, 10*time.Second); bye == nil {
				t.Fatal("no BYE from the edge after a plain answer")
			} else {
				trunk.respond(t, bye, 200, "OK")
			}
			d := e.waitEnded(t, ws, 1)[0]
			if d["reason"] != tc.reason {
				t.Errorf("reason = %v, want %s", d["reason"], tc.reason)
			}
			if srtp, _ := d["srtp"].(map[string]any); tc.srtp && srtp["a"] != true {
				t.Errorf("call.ended srtp = %v, want leg a", d["srtp"])
			}
			for _, ev := range e.events(t, ws) {
				if strings.Contains(string(ev.Data), "inline:") || strings.Contains(string(ev.Data), key) {
					t.Errorf("event %s carries a key: %s", ev.Type, ev.Data)
				}
			}
		})
	}
}

// ackWith acknowledges the 200 of inv with an SDP answer in the ACK.
func (r *rawTrunk) ackWith(t *testing.T, inv *rawInvite, ok *sip.Response, sdp string) {
	t.Helper()
	r.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		ok.Contact().Address.String(), r.local(), time.Now().UnixNano(), inv.fromTag, ok.To().String(), inv.callID, len(sdp), sdp))
}

// bye sends BYE in the dialog of inv's 200 and waits for its 200.
func (r *rawTrunk) bye(t *testing.T, inv *rawInvite, ok *sip.Response) {
	t.Helper()
	r.send(t, r.inDialog(inv, ok, "BYE", 2, "", ""))
	if res := r.waitResponse(t, 200, 5*time.Second); res == nil || res.CSeq().MethodName != sip.BYE {
		t.Fatalf("BYE not answered 200: %v", res)
	}
}
