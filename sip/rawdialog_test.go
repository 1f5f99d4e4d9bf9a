package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// recvMsg reads one message of any kind (requests too: the edge's BYE or
// re-INVITE), or returns nil after d.
func (r *rawTrunk) recvMsg(t *testing.T, d time.Duration) (sip.Message, []byte) {
	t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(d)
	for {
		_ = r.conn.SetReadDeadline(deadline)
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return nil, nil
		}
		if len(strings.TrimSpace(string(buf[:n]))) == 0 {
			continue
		}
		msg, err := r.parser.ParseSIP(buf[:n])
		if err != nil {
			t.Fatalf("unparsable message: %v\n%s", err, buf[:n])
		}
		return msg, append([]byte(nil), buf[:n]...)
	}
}

// waitRequest reads messages until a request of method (nil after d),
// skipping responses and other requests.
func (r *rawTrunk) waitRequest(t *testing.T, method sip.RequestMethod, d time.Duration) *sip.Request {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		msg, _ := r.recvMsg(t, time.Until(deadline))
		if msg == nil {
			return nil
		}
		if req, ok := msg.(*sip.Request); ok && req.Method == method {
			return req
		}
	}
	return nil
}

// waitResponse reads messages until a response of status code (nil after d).
func (r *rawTrunk) waitResponse(t *testing.T, code int, d time.Duration) *sip.Response {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		msg, _ := r.recvMsg(t, time.Until(deadline))
		if msg == nil {
			return nil
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode == code {
			return res
		}
	}
	return nil
}

// respond answers req with status code, statelessly.
func (r *rawTrunk) respond(t *testing.T, req *sip.Request, code int, reason string) {
	t.Helper()
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	r.send(t, res.String())
}

// inDialog writes a request of the trunk's dialog of inv, whose 2xx or 1xx
// res gave the To tag.
func (r *rawTrunk) inDialog(inv *rawInvite, res *sip.Response, method string, cseq int, extra, body string) string {
	target := "sip:edge@" + r.edge.String()
	if c := res.Contact(); c != nil {
		target = c.Address.String()
	}
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%s-%d\r\nFrom: <sip:+15550009999@carrier>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:carrier@%s>\r\nMax-Forwards: 70\r\n%s%sContent-Length: %d\r\n\r\n%s",
		method, target, r.local(), strings.ToLower(method), time.Now().UnixNano(), inv.fromTag, res.To().String(), inv.callID, cseq, method, r.local(), extra, ct, len(body), body)
}

// rawService is a service made of a bare UDP socket on 127.0.0.2: it
// answers the edge's INVITE 200 with SDP and lets a test send in-dialog
// requests from any address (another node of the agent platform).
type rawService struct {
	*rawTrunk
	invite *sip.Request
	toTag  string
}

func newRawService(t *testing.T) (*rawService, string) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &rawService{rawTrunk: &rawTrunk{conn: conn, parser: sip.NewParser()}, toTag: "svc-tag-1"}
	return s, fmt.Sprintf("sip:agent@%s;transport=udp", conn.LocalAddr())
}

// answer waits for the edge's INVITE and answers it 200 with an SDP on
// rtpPort; it returns once the ACK came.
func (s *rawService) answer(t *testing.T, rtpPort int) {
	t.Helper()
	var inv *sip.Request
	buf := make([]byte, 65535)
	for inv == nil {
		_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatal("service: no INVITE")
		}
		msg, err := s.parser.ParseSIP(buf[:n])
		if err != nil {
			continue
		}
		if req, ok := msg.(*sip.Request); ok && req.IsInvite() {
			inv = req
			s.edge = from
		}
	}
	s.invite = inv
	body := fmt.Sprintf("v=0\r\no=agent 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", rtpPort)
	res := sip.NewResponseFromRequest(inv, 200, "OK", []byte(body))
	res.To().Params.Add("tag", s.toTag)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: "127.0.0.2", Port: s.conn.LocalAddr().(*net.UDPAddr).Port}})
	ct := sip.ContentTypeHeader("application/sdp")
	res.AppendHeader(&ct)
	for i := 0; i < 10; i++ {
		s.send(t, res.String())
		if s.waitRequest(t, sip.ACK, 500*time.Millisecond) != nil {
			return
		}
	}
	t.Fatal("service: no ACK for its 200")
}

// request writes a request of the service's dialog, with fromTag and
// toTag as the dialog's tags seen from the service (the edge's From tag is
// the service's To tag).
func (s *rawService) request(method string, cseq int, localTag, remoteTag string, via string) string {
	inv := s.invite
	return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-svc-%d\r\nFrom: <sip:agent@127.0.0.2>;tag=%s\r\nTo: %s;tag=%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, inv.Contact().Address.String(), via, time.Now().UnixNano(), localTag,
		(&sip.FromHeader{DisplayName: inv.From().DisplayName, Address: inv.From().Address}).Value(), remoteTag,
		inv.CallID().Value(), cseq, method)
}

// edgeTag is the edge's tag of the service's dialog.
func (s *rawService) edgeTag() string {
	tag, _ := s.invite.From().Params.Get("tag")
	return tag
}
