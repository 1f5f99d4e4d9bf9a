package scripts_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
)

// uac is a carrier's trunk made of two bare UDP sockets (SIP and RTP) on one
// loopback address: it writes its requests by hand and reads the edge's.
type uac struct {
	sig, rtp *net.UDPConn
	edge     *net.UDPAddr
	parser   *sip.Parser
}

func newUAC(t *testing.T, ip, edgeAddr string) *uac {
	t.Helper()
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			t.Fatalf("listen %s: %v", ip, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	edge, err := net.ResolveUDPAddr("udp4", edgeAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &uac{sig: listen(), rtp: listen(), edge: edge, parser: sip.NewParser()}
}

// uacCall is one INVITE's outcome and, when answered, its dialog.
type uacCall struct {
	u               *uac
	status          int
	callID, fromTag string
	toTag, number   string
	remote          netip.AddrPort // the edge's RTP address from its SDP
	cseq            int
}

func (u *uac) invite(t *testing.T, number string) *uacCall {
	t.Helper()
	local := u.sig.LocalAddr().(*net.UDPAddr)
	rtpPort := u.rtp.LocalAddr().(*net.UDPAddr).Port
	c := &uacCall{u: u, number: number, callID: fmt.Sprintf("newcomer-%d@test", time.Now().UnixNano()),
		fromTag: strconv.FormatInt(time.Now().UnixNano(), 36), cseq: 1}
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %[1]s\r\ns=-\r\nc=IN IP4 %[1]s\r\nt=0 0\r\nm=audio %[2]d RTP/AVP 0 101\r\n"+
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", local.IP, rtpPort)
	branch := "z9hG4bK-" + c.fromTag
	u.send(t, fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\n"+
		"From: <sip:+13125559876@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:carrier@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		number, u.edge, local, branch, local.IP, c.fromTag, number, u.edge, c.callID, local, len(sdp), sdp))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res := u.recvResponse(t, time.Until(deadline))
		if res == nil || res.CallID().Value() != c.callID {
			continue
		}
		if res.StatusCode < 200 {
			continue
		}
		c.status = res.StatusCode
		c.toTag, _ = res.To().Params.Get("tag")
		to := res.To().Value()
		ack := fmt.Sprintf("ACK sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\nFrom: <sip:+13125559876@%s>;tag=%s\r\n"+
			"To: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			number, u.edge, local, branch, local.IP, c.fromTag, to, c.callID)
		if res.StatusCode == 200 {
			ack = strings.Replace(ack, "branch="+branch, "branch="+branch+"-ack", 1)
			ap, err := rtpAddr(res.Body())
			if err != nil {
				t.Fatalf("the edge's SDP answer: %v\n%s", err, res.Body())
			}
			c.remote = ap
		}
		u.send(t, ack)
		return c
	}
	t.Fatalf("no final response to INVITE %s", number)
	return nil
}

// echoTone sends n 20 ms PCMU frames of a 1 kHz tone and counts the frames
// that come back byte for byte (the reference agent echoes what it hears).
func (c *uacCall) echoTone(t *testing.T, n int) (sent, echoed int) {
	t.Helper()
	pcm := make([]int16, 160)
	pkts := make([][]byte, n)
	frames := make(map[string]bool, n)
	for i := range pkts {
		for j := range pcm {
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i*160+j)/8000+float64(i)))
		}
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(i))
		binary.BigEndian.PutUint32(pkt[4:], uint32(i*160))
		binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
		media.EncodePCMU(pkt[12:], pcm)
		pkts[i] = pkt
		frames[string(pkt[12:])] = true
	}
	dst := net.UDPAddrFromAddrPort(c.remote)
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 1500)
		k := 0
		_ = c.u.rtp.SetReadDeadline(time.Now().Add(time.Duration(n)*20*time.Millisecond + 3*time.Second))
		for {
			m, err := c.u.rtp.Read(buf)
			if err != nil {
				got <- k
				return
			}
			if m > 12 && frames[string(buf[12:m])] {
				k++
			}
		}
	}()
	for _, pkt := range pkts {
		if _, err := c.u.rtp.WriteToUDP(pkt, dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n, <-got
}

// bye ends the call from the trunk and waits for the edge's 200.
func (c *uacCall) bye(t *testing.T) {
	t.Helper()
	local := c.u.sig.LocalAddr().(*net.UDPAddr)
	c.cseq++
	c.u.send(t, fmt.Sprintf("BYE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%s\r\n"+
		"From: <sip:+13125559876@%s>;tag=%s\r\nTo: <sip:%s@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d BYE\r\n"+
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		c.number, c.u.edge, local, c.fromTag, local.IP, c.fromTag, c.number, c.u.edge, c.toTag, c.callID, c.cseq))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if res := c.u.recvResponse(t, time.Until(deadline)); res != nil && res.CallID().Value() == c.callID && res.StatusCode >= 200 {
			if res.StatusCode != 200 {
				t.Errorf("BYE: %d, want 200", res.StatusCode)
			}
			return
		}
	}
	t.Errorf("no answer to BYE")
}

// sawBye waits for a BYE of the edge in this call, and answers it.
func (c *uacCall) sawBye(t *testing.T, d time.Duration) bool {
	t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		_ = c.u.sig.SetReadDeadline(deadline)
		n, from, err := c.u.sig.ReadFromUDP(buf)
		if err != nil {
			return false
		}
		msg, err := c.u.parser.ParseSIP(buf[:n])
		req, ok := msg.(*sip.Request)
		if err != nil || !ok || req.Method != sip.BYE || req.CallID().Value() != c.callID {
			continue
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		_, _ = c.u.sig.WriteToUDP([]byte(res.String()), from)
		return true
	}
	return false
}

func (u *uac) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := u.sig.WriteToUDP([]byte(msg), u.edge); err != nil {
		t.Fatal(err)
	}
}

// recvResponse reads the next SIP response, or nil after d.
func (u *uac) recvResponse(t *testing.T, d time.Duration) *sip.Response {
	t.Helper()
	buf := make([]byte, 65535)
	_ = u.sig.SetReadDeadline(time.Now().Add(d))
	n, err := u.sig.Read(buf)
	if err != nil {
		return nil
	}
	msg, err := u.parser.ParseSIP(buf[:n])
	if err != nil {
		t.Logf("unparsable message from the edge: %v", err)
		return nil
	}
	res, _ := msg.(*sip.Response)
	return res
}

// rtpAddr is the audio address of an SDP body.
func rtpAddr(body []byte) (netip.AddrPort, error) {
	sdp, err := media.ParseSDP(body)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(sdp.Addr, uint16(sdp.Port)), nil
}
