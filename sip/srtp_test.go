package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestCallSRTPBaresip is a whole call with real media stacks: baresip as a
// carrier that requires SDES-SRTP sends a 1 kHz tone through the edge
// (trunk media_encryption: require) to a service that echoes RTP (SIPp);
// baresip must hear its own tone back, which it can only do if the edge
// decrypted, relayed, and encrypted again with the key it answered.
func TestCallSRTPBaresip(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.rtcpInterval = time.Second })
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target, mediaEnc: "require"})
	carrier := startBaresip(t, baresipOptions{User: "carrier", MediaEnc: "srtp-mand", Dial: "sip:+15551230001@" + e.udpAddr, Duration: 12 * time.Second})
	time.Sleep(6 * time.Second) // baresip sends its first RTCP after about 5 s
	carrier.command(t, "hangup", "")
	logs := carrier.wait(t, 20*time.Second)
	if code, slogs := svc.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s\nbaresip:\n%s", code, slogs, logs)
	}
	if !strings.Contains(logs, "SRTP is Enabled") {
		t.Errorf("baresip did not run SRTP:\n%s", logs)
	}
	samples, rate := carrier.heard(t)
	hits, windows := toneWindows(samples, rate, 1000, 1000)
	if windows < 20 || hits < windows/3 {
		t.Errorf("the carrier heard its tone in %d of %d windows of 100 ms (rate %d)\n%s", hits, windows, rate, logs)
	}
	t.Logf("tone in %d of %d windows; level of a middle window %.0f", hits, windows, toneLevel(samples[len(samples)/2:len(samples)/2+rate/10], 1000, rate))
	d := e.waitEnded(t, ws, 1)[0]
	srtp, _ := d["srtp"].(map[string]any)
	if srtp["a"] != true || srtp["b"] != false {
		t.Errorf("call.ended srtp = %v, want a true (trunk), b false (service)", d["srtp"])
	}
	pk, _ := d["packets"].(map[string]any)
	if n, _ := pk["a_received"].(float64); n < 50 {
		t.Errorf("packets from the trunk = %v", pk)
	}
	// RTCP, terminated at the edge, both ways on the trunk leg (SRTCP).
	if sum := carrier.rtcpSummary(); sum == "" {
		t.Errorf("baresip collected no RTCP from the edge\n%s", logs)
	} else {
		t.Logf("baresip's RTCP summary: %s", sum)
	}
	rtcpA := d["rtcp"].(map[string]any)["a"].(map[string]any)
	if rtcpA["reports_received"].(float64) < 1 || rtcpA["reports_sent"].(float64) < 1 || rtcpA["mos"].(float64) < 4 {
		t.Errorf("call.ended rtcp of the trunk leg = %v", rtcpA)
	}
	t.Logf("call.ended rtcp: %v", d["rtcp"])
	if got := e.counter(t, "edge_media_rtp_dropped_total", map[string]string{"reason": "srtp_auth"}); got != 0 {
		t.Errorf("srtp_auth drops = %v in a clean call", got)
	}
	e.checkNoLeaks(t, ws)
}

// TestCallSRTPBothLegs puts baresip on both sides: the carrier (SRTP
// required, 1 kHz) and the service (a media=srtp target, baresip answering
// with SRTP required, 1.5 kHz). Each must hear the other's tone: SRTP in,
// SRTP out, on both legs with four different keys.
func TestCallSRTPBothLegs(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) { o.rtcpInterval = time.Second })
	agent := startBaresip(t, baresipOptions{User: "agent", MediaEnc: "srtp-mand", ToneHz: 1500, Duration: 14 * time.Second})
	target := fmt.Sprintf("sip:agent@127.0.0.1:%d;transport=udp;media=srtp", agent.sipPort)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target, mediaEnc: "require"})
	time.Sleep(500 * time.Millisecond) // the agent's baresip is listening
	carrier := startBaresip(t, baresipOptions{User: "carrier", MediaEnc: "srtp-mand", Dial: "sip:+15551230001@" + e.udpAddr, Duration: 12 * time.Second})
	time.Sleep(6 * time.Second)
	carrier.command(t, "hangup", "")
	clogs := carrier.wait(t, 20*time.Second)
	alogs := agent.wait(t, 20*time.Second)
	for _, side := range []struct {
		name string
		p    *baresipProc
		freq float64
		logs string
	}{{"carrier", carrier, 1500, clogs}, {"agent", agent, 1000, alogs}} {
		samples, rate := side.p.heard(t)
		hits, windows := toneWindows(samples, rate, side.freq, 1000)
		if windows < 20 || hits < windows/3 {
			t.Errorf("the %s heard %.0f Hz in %d of %d windows\n%s", side.name, side.freq, hits, windows, side.logs)
		}
		if !strings.Contains(side.logs, "SRTP is Enabled") {
			t.Errorf("%s without SRTP:\n%s", side.name, side.logs)
		}
	}
	d := e.waitEnded(t, ws, 1)[0]
	if srtp, _ := d["srtp"].(map[string]any); srtp["a"] != true || srtp["b"] != true {
		t.Errorf("call.ended srtp = %v, want both legs", d["srtp"])
	}
	for _, side := range []struct {
		leg string
		p   *baresipProc
	}{{"a", carrier}, {"b", agent}} {
		if side.p.rtcpSummary() == "" {
			t.Errorf("leg %s: baresip collected no RTCP from the edge", side.leg)
		}
		st := d["rtcp"].(map[string]any)[side.leg].(map[string]any)
		if st["reports_received"].(float64) < 1 || st["reports_sent"].(float64) < 1 {
			t.Errorf("call.ended rtcp of leg %s = %v", side.leg, st)
		}
	}
	e.checkNoLeaks(t, ws)
}

// TestCallMediaEncryptionPolicy checks the answers of media_encryption to
// plain, SRTP and broken SRTP offers.
func TestCallMediaEncryptionPolicy(t *testing.T) {
	const key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	savp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\n"
	shortKey := strings.Replace(savp, key, "AAAAAAAAAAAAAAAAAAAAAA==", 1)
	unknownSuite := strings.Replace(savp, "AES_CM_128_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_80", 1)
	both := savp + "m=audio 49172 RTP/AVP 0\r\n"
	tests := []struct {
		name, enc, sdp string
		want           int
		reason         string
		answer         string // in the 200's SDP
	}{
		{name: "require refuses plain", enc: "require", sdp: pcmuOffer, want: 488, reason: "srtp_required"},
		{name: "disable refuses savp", enc: "disable", sdp: savp, want: 488, reason: "srtp_disabled"},
		{name: "bad key length", enc: "allow", sdp: shortKey, want: 488, reason: "bad_crypto"},
		{name: "unknown suite only", enc: "allow", sdp: unknownSuite, want: 488, reason: "bad_crypto"},
		{name: "allow answers savp", enc: "allow", sdp: savp, want: 200, answer: "RTP/SAVP 0"},
		{name: "disable takes the avp twin", enc: "disable", sdp: both, want: 200, answer: "m=audio 0 RTP/SAVP 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEdge(t)
			scenario := "uas_answer.xml"
			if tc.want != 200 {
				scenario = "uas_noanswer.xml" // never reached
			}
			_, target := startService(t, scenario)
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target, mediaEnc: tc.enc})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			inv := trunk.newInvite("+15551230001")
			inv.sdp = tc.sdp
			res, raw := trunk.call(t, inv, 10*time.Second)
			if res == nil || res.StatusCode != tc.want {
				t.Fatalf("got %v, want %d\n%s", res, tc.want, raw)
			}
			if tc.want != 200 {
				if got := e.counter(t, "edge_sip_invites_total", map[string]string{"reason": tc.reason}); got != 1 {
					t.Errorf("rejections %s = %v, want 1", tc.reason, got)
				}
				return
			}
			body := string(res.Body())
			if !strings.Contains(body, tc.answer) {
				t.Errorf("answer lacks %q:\n%s", tc.answer, body)
			}
			if strings.Contains(body, key) {
				t.Error("the answer echoes the carrier's key")
			}
			if tc.enc != "disable" && !strings.Contains(body, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:") {
				t.Errorf("answer has no crypto of the offer's tag and suite:\n%s", body)
			}
			trunk.hangup(t, inv, res)
			for _, ev := range e.events(t, ws) {
				if strings.Contains(string(ev.Data), "inline:") || strings.Contains(string(ev.Data), key) {
					t.Errorf("event %s carries a key: %s", ev.Type, ev.Data)
				}
			}
		})
	}
}

// hangup acknowledges the 200 of inv and sends BYE, waiting for its 200.
func (r *rawTrunk) hangup(t *testing.T, inv *rawInvite, ok *sip.Response) {
	t.Helper()
	contact, to := ok.Contact().Address, ok.To().String()
	r.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact.String(), r.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID))
	r.send(t, fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact.String(), r.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID))
	if res, raw := r.final(t, 5*time.Second); res == nil || res.StatusCode != 200 {
		t.Fatalf("BYE answered %v\n%s", res, raw)
	}
}
