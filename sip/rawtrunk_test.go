package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawTrunk is a trunk made of a bare UDP socket: it sends hand-written
// requests and reads the edge's responses byte for byte.
type rawTrunk struct {
	conn   *net.UDPConn
	edge   *net.UDPAddr
	parser *sip.Parser
	n      int
}

func newRawTrunk(t *testing.T, ip, edgeAddr string) *rawTrunk {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	edge, err := net.ResolveUDPAddr("udp4", edgeAddr)
	if err != nil {
		t.Fatal(err)
	}
	return &rawTrunk{conn: conn, edge: edge, parser: sip.NewParser()}
}

// rawInvite is an INVITE of a raw trunk.
type rawInvite struct {
	number, callID, branch, fromTag string
	extra                           string // header lines, each ending in \r\n
	sdp                             string
}

const pcmuOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func (r *rawTrunk) newInvite(number string) *rawInvite {
	r.n++
	return &rawInvite{
		number: number, callID: fmt.Sprintf("raw-%d-%d@test", time.Now().UnixNano(), r.n),
		branch: fmt.Sprintf("z9hG4bK-raw-%d-%d", time.Now().UnixNano(), r.n), fromTag: fmt.Sprintf("ft%d", r.n),
		sdp: pcmuOffer,
	}
}

func (r *rawTrunk) local() string { return r.conn.LocalAddr().String() }

func (inv *rawInvite) text(local string) string {
	return fmt.Sprintf("INVITE sip:%s@edge SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=%s\r\n"+
		"From: <sip:+15550009999@carrier>;tag=%s\r\n"+
		"To: <sip:%s@edge>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:carrier@%s>\r\n"+
		"Max-Forwards: 70\r\n"+
		"%s"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s",
		inv.number, local, inv.branch, inv.fromTag, inv.number, inv.callID, local, inv.extra, len(inv.sdp), inv.sdp)
}

func (r *rawTrunk) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := r.conn.WriteToUDP([]byte(msg), r.edge); err != nil {
		t.Fatal(err)
	}
}

// recv reads one response, or returns nil after d.
func (r *rawTrunk) recv(t *testing.T, d time.Duration) (*sip.Response, []byte) {
	t.Helper()
	buf := make([]byte, 65535)
	_ = r.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := r.conn.ReadFromUDP(buf)
	if err != nil {
		return nil, nil
	}
	msg, err := r.parser.ParseSIP(buf[:n])
	if err != nil {
		t.Fatalf("edge sent an unparsable message: %v\n%s", err, buf[:n])
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("edge sent a request, want a response:\n%s", buf[:n])
	}
	return res, buf[:n]
}

// final reads responses until a final one (nil on timeout).
func (r *rawTrunk) final(t *testing.T, d time.Duration) (*sip.Response, []byte) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		res, raw := r.recv(t, time.Until(deadline))
		if res == nil {
			return nil, nil
		}
		if res.StatusCode >= 200 {
			return res, raw
		}
	}
	return nil, nil
}

// ack acknowledges a non-2xx final response to inv (RFC 3261 section
// 17.1.1.3: same branch).
func (r *rawTrunk) ack(t *testing.T, inv *rawInvite, res *sip.Response) {
	t.Helper()
	r.send(t, fmt.Sprintf("ACK sip:%s@edge SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		inv.number, r.local(), inv.branch, inv.fromTag, res.To().String(), inv.callID))
}

// call sends inv and returns the final response, acknowledged.
func (r *rawTrunk) call(t *testing.T, inv *rawInvite, d time.Duration) (*sip.Response, []byte) {
	t.Helper()
	r.send(t, inv.text(r.local()))
	res, raw := r.final(t, d)
	if res != nil && res.StatusCode >= 300 {
		r.ack(t, inv, res)
	}
	return res, raw
}

// normalized strips what differs between two answers to two requests
// (their Via branch, Call-ID, tags, the number), so the rest can be
// compared byte for byte.
func normalized(raw []byte, inv *rawInvite) string {
	s := string(raw)
	for _, x := range []string{inv.branch, inv.callID, inv.fromTag, inv.number} {
		s = strings.ReplaceAll(s, x, "<X>")
	}
	lines := strings.Split(s, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "To:") {
			if j := strings.Index(l, ";tag="); j >= 0 {
				lines[i] = l[:j] + ";tag=<T>"
			}
		}
	}
	return strings.Join(lines, "\r\n")
}

// drain discards one pending message and reports whether there was one.
func (r *rawTrunk) drain() bool {
	buf := make([]byte, 65535)
	_ = r.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, _, err := r.conn.ReadFromUDP(buf)
	return err == nil
}
