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
)

// rtpSocket is a trunk's media socket of a raw-trunk test.
type rtpSocket struct {
	conn *net.UDPConn
	seq  uint16
}

func newRTPSocket(t *testing.T) *rtpSocket {
	t.Helper()
	return &rtpSocket{conn: udpSocket(t, "127.0.0.1")}
}

// trunkSSRC is the SSRC of the packets a test's trunk sends.
const trunkSSRC = 0x5eed

// udpSocket is a media socket of a test on ip, closed at cleanup.
func udpSocket(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rtpPacket is a PCMU packet of ssrc with sequence number seq.
func rtpPacket(ssrc uint32, seq uint16) []byte {
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:], seq)
	binary.BigEndian.PutUint32(pkt[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	return pkt
}

func (r *rtpSocket) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// talk sends n PCMU packets to the edge, 20 ms apart, and returns how many
// came back (the service echoes).
func (r *rtpSocket) talk(t *testing.T, to netip.AddrPort, n int) int {
	t.Helper()
	got := 0
	buf := make([]byte, 2048)
	for i := 0; i < n; i++ {
		r.seq++
		if _, err := r.conn.WriteToUDPAddrPort(rtpPacket(trunkSSRC, r.seq), to); err != nil {
			t.Fatal(err)
		}
		_ = r.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			m, _, err := r.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if m >= 12 && buf[1]&0x7f == 0 {
				got++
			}
		}
	}
	return got
}

func offerAt(ip string, port int, extra ...string) string {
	s := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", ip, ip, port)
	return s + strings.Join(extra, "")
}

// reinvite sends a re-INVITE with sdp in the dialog of inv (answered by
// ok), acknowledges its 200 and returns it.
func (r *rawTrunk) reinvite(t *testing.T, inv *rawInvite, ok *sip.Response, cseq int, sdp string) *sip.Response {
	t.Helper()
	contact, to := ok.Contact().Address, ok.To().String()
	r.send(t, fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-re-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\nContact: <sip:carrier@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		contact.String(), r.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID, cseq, r.local(), len(sdp), sdp))
	res, raw := r.final(t, 5*time.Second)
	if res == nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE answered %v\n%s", res, raw)
	}
	r.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-reack-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		contact.String(), r.local(), time.Now().UnixNano(), inv.fromTag, to, inv.callID, cseq))
	return res
}

// TestCallReinviteMovesPort: a re-INVITE that keeps the IP and changes the
// port moves the stream (RFC 3264 section 8.3.1); audio keeps flowing.
// The re-INVITE is carried to the service (issue 14), which answers it.
func TestCallReinviteMovesPort(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_reinvite_once.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	first, second := newRTPSocket(t), newRTPSocket(t)
	inv := trunk.newInvite("+15551230001")
	inv.sdp = offerAt("127.0.0.1", first.port())
	ok, raw := trunk.call(t, inv, 10*time.Second)
	if ok == nil || ok.StatusCode != 200 {
		t.Fatalf("got %v\n%s", ok, raw)
	}
	to := edgeMedia(t, ok)
	trunk.send(t, fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack1\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		ok.Contact().Address.String(), trunk.local(), inv.fromTag, ok.To().String(), inv.callID))
	if n := first.talk(t, to, 25); n < 10 {
		t.Fatalf("echo before the re-INVITE: %d packets", n)
	}
	re := trunk.reinvite(t, inv, ok, 2, offerAt("127.0.0.1", second.port()))
	if edgeMedia(t, re) != to {
		t.Errorf("the edge moved its own port")
	}
	if n := second.talk(t, to, 25); n < 10 {
		t.Fatalf("echo after the re-INVITE moved the port: %d packets", n)
	}
	if n := first.talk(t, to, 5); n != 0 {
		t.Errorf("the old port still gets %d packets", n)
	}
	trunk.hangup(t, inv, ok)
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	e.checkNoLeaks(t, ws)
}

// TestCallLatchingPrivateAddress: a NATed carrier writes 10.0.0.1 in its
// SDP and sends from 127.0.0.1. With rtp_latching learn the edge latches
// onto the real source; with strict it drops the media. Nothing is ever
// sent to 10.0.0.1: no RTP before latching, and the edge's RTCP is held
// back for the test (its interval is an hour).
func TestCallLatchingPrivateAddress(t *testing.T) {
	for _, mode := range []string{"learn", "strict"} {
		t.Run(mode, func(t *testing.T) {
			e := newTestEdge(t, func(o *edgeOptions) { o.rtcpInterval = time.Hour })
			svc, target := startService(t, "uas_answer.xml")
			ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target, latching: mode})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			sock := newRTPSocket(t)
			inv := trunk.newInvite("+15551230001")
			inv.sdp = offerAt("10.0.0.1", 4000)
			ok, raw := trunk.call(t, inv, 10*time.Second)
			if ok == nil || ok.StatusCode != 200 {
				t.Fatalf("got %v\n%s", ok, raw)
			}
			n := sock.talk(t, edgeMedia(t, ok), 25)
			trunk.hangup(t, inv, ok)
			if code, logs := svc.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("service sipp exit %d\n%s", code, logs)
			}
			d := e.waitEnded(t, ws, 1)[0]
			pk := d["packets"].(map[string]any)
			learned := e.counter(t, "edge_media_rtp_latched_total", map[string]string{"how": "learned"})
			switch mode {
			case "learn":
				if n < 10 || learned != 1 {
					t.Errorf("learn: %d packets echoed, %v learned latches", n, learned)
				}
			case "strict":
				if n != 0 || learned != 0 || pk["a_sent"].(float64) != 0 {
					t.Errorf("strict: %d echoed, %v learned, packets %v", n, learned, pk)
				}
				if got := e.counter(t, "edge_media_rtp_dropped_total", map[string]string{"reason": "wrong_source"}); got < 20 {
					t.Errorf("wrong_source drops = %v", got)
				}
			}
			e.checkNoLeaks(t, ws)
		})
	}
}

// TestCallMediaLinesMirrored: an offer with audio and video (in either
// order) gets an answer with as many m-lines in the same order, the video
// rejected with port 0 (RFC 3264 section 6); session c= after t=, an AVPF
// profile and a multipart/mixed body (SIP-I) are accepted.
func TestCallMediaLinesMirrored(t *testing.T) {
	video := "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
	audio := "m=audio 4000 RTP/AVPF 0\r\na=rtpmap:0 PCMU/8000\r\n"
	head := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n"
	tests := []struct {
		name, sdp, ctype string
		want             []string // m= lines of the answer, in order
	}{
		{name: "audio then video", sdp: head + audio + video, want: []string{"m=audio ", "m=video 0 RTP/AVP 96"}},
		{name: "video first", sdp: head + video + audio, want: []string{"m=video 0 RTP/AVP 96", "m=audio "}},
		{name: "sip-i multipart", ctype: "multipart/mixed;boundary=b1", want: []string{"m=audio "},
			sdp: "--b1\r\nContent-Type: application/sdp\r\n\r\n" + head + audio + "\r\n--b1\r\nContent-Type: application/isup;version=itu-t92+\r\n\r\n\x01\x00\r\n--b1--\r\n"},
	}
	e := newTestEdge(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, target := startService(t, "uas_answer.xml")
			number := "+1555123000" + fmt.Sprint(len(tc.name)%10)
			e.addWorkspace(t, wsSpec{name: "Clinic" + strings.ReplaceAll(tc.name, " ", ""), number: number, cidr: "127.0.0.1/32", target: target})
			trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
			inv := trunk.newInvite(number)
			inv.sdp = tc.sdp
			msg := inv.text(trunk.local())
			if tc.ctype != "" {
				msg = strings.Replace(msg, "Content-Type: application/sdp", "Content-Type: "+tc.ctype, 1)
			}
			trunk.send(t, msg)
			ok, raw := trunk.final(t, 10*time.Second)
			if ok == nil || ok.StatusCode != 200 {
				t.Fatalf("got %v\n%s", ok, raw)
			}
			body := string(ok.Body())
			var lines []string
			for _, l := range strings.Split(body, "\r\n") {
				if strings.HasPrefix(l, "m=") {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("answer m-lines %q, want %d\n%s", lines, len(tc.want), body)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("m-line %d = %q, want %q", i, lines[i], w)
				}
			}
			if strings.Contains(body, "m=audio") && !strings.Contains(body, "RTP/AVPF 0") {
				t.Errorf("AVPF not answered with AVPF:\n%s", body)
			}
			if !strings.Contains(body, "a=rtcp:") {
				t.Errorf("answer without a=rtcp:\n%s", body)
			}
			trunk.hangup(t, inv, ok)
		})
	}
}
