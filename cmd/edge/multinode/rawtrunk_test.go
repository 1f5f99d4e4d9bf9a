package multinode

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawCall is one call of a carrier written by hand on a UDP socket of its
// own, so that a test sees every byte the edge sends: the final answer to
// its INVITE (with Retry-After) and the BYE that ends it (with Reason).
// It answers the requests it gets (BYE) with 200.
type rawCall struct {
	conn    *net.UDPConn
	edge    *net.UDPAddr
	number  string
	callID  string
	fromTag string

	status  int    // final status of the INVITE
	final   sipMsg // that final response
	toTag   string // of the 2xx
	contact string // of the 2xx: the target of ACK and BYE

	resps chan sipMsg
	reqs  chan sipMsg // requests the edge sent, already answered 200
}

// sipMsg is a parsed SIP message: first line, headers (first value by
// lowercased name), all of it raw.
type sipMsg struct {
	first string
	head  map[string]string
	raw   string
}

func parseSIP(b []byte) (sipMsg, bool) {
	s := string(b)
	top, _, _ := strings.Cut(s, "\r\n\r\n")
	lines := strings.Split(top, "\r\n")
	if len(lines) < 2 || !strings.Contains(lines[0], "SIP/2.0") {
		return sipMsg{}, false
	}
	m := sipMsg{first: lines[0], head: map[string]string{}, raw: s}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if _, seen := m.head[k]; !seen {
			m.head[k] = strings.TrimSpace(v)
		}
	}
	return m, true
}

func (m sipMsg) isResponse() bool { return strings.HasPrefix(m.first, "SIP/2.0 ") }

func (m sipMsg) status() int {
	var code int
	fmt.Sscanf(m.first, "SIP/2.0 %d", &code)
	return code
}

func (m sipMsg) method() string { f, _, _ := strings.Cut(m.first, " "); return f }

var (
	tagParam = regexp.MustCompile(`;tag=([^;>\s]+)`)
	uriInAng = regexp.MustCompile(`<([^>]+)>`)
)

func randToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newRawCall opens the call's socket on 127.0.0.1 (a trunk's source); it
// is closed at cleanup.
func newRawCall(t testing.TB, edgeAddr, number string) *rawCall {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	edge, err := net.ResolveUDPAddr("udp4", edgeAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawCall{conn: conn, edge: edge, number: number, callID: "raw-" + randToken() + "@test", fromTag: randToken(),
		resps: make(chan sipMsg, 64), reqs: make(chan sipMsg, 16)}
	go c.read()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *rawCall) read() {
	buf := make([]byte, 65535)
	for {
		n, from, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, ok := parseSIP(buf[:n])
		if !ok {
			continue // RTP or noise
		}
		if m.isResponse() {
			select {
			case c.resps <- m:
			default:
			}
			continue
		}
		if m.method() != "ACK" {
			_, _ = c.conn.WriteToUDP([]byte(okTo(m)), from)
		}
		select {
		case c.reqs <- m:
		default:
		}
	}
}

// okTo is a 200 to request m.
func okTo(m sipMsg) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, h := range []string{"via", "from", "to", "call-id", "cseq"} {
		fmt.Fprintf(&b, "%s: %s\r\n", h, m.head[h])
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

func (c *rawCall) local() string { return c.conn.LocalAddr().String() }

func (c *rawCall) send(msg string) { _, _ = c.conn.WriteToUDP([]byte(msg), c.edge) }

// inviteMsg is the INVITE, with a PCMU offer on the socket's own port.
func (c *rawCall) inviteMsg(branch string) string {
	host, port, _ := net.SplitHostPort(c.local())
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %s RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", host, host, port)
	return fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nFrom: <sip:+15550009999@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:carrier@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		c.number, c.edge, c.local(), branch, host, c.fromTag, c.number, c.edge, c.callID, c.local(), len(sdp), sdp)
}

// invite sends the INVITE (retransmitted every 500 ms until a response)
// and waits up to d for its final response: a 2xx is acknowledged, a
// failure too (RFC 3261 section 17.1.1.3). It returns the status.
func (c *rawCall) invite(t testing.TB, d time.Duration) int {
	t.Helper()
	branch := "z9hG4bK" + randToken()
	msg := c.inviteMsg(branch)
	c.send(msg)
	deadline := time.After(d)
	retrans := time.NewTicker(500 * time.Millisecond)
	defer retrans.Stop()
	heard := false
	for {
		select {
		case m := <-c.resps:
			if !strings.HasSuffix(m.head["cseq"], "INVITE") {
				continue
			}
			heard = true
			if m.status() < 200 {
				continue
			}
			c.status, c.final = m.status(), m
			if tag := tagParam.FindStringSubmatch(m.head["to"]); tag != nil {
				c.toTag = tag[1]
			}
			if c.status < 300 {
				if u := uriInAng.FindStringSubmatch(m.head["contact"]); u != nil {
					c.contact = u[1]
				}
				c.send(c.inDialog("ACK", "1", "z9hG4bK"+randToken()))
			} else {
				c.send(c.ackFailure(branch, m))
			}
			return c.status
		case <-retrans.C:
			if !heard {
				c.send(msg)
			}
		case <-deadline:
			t.Fatalf("call %s to %s: no final answer within %v", c.callID, c.edge, d)
			return 0
		}
	}
}

// ackFailure acknowledges a non-2xx final response (same branch).
func (c *rawCall) ackFailure(branch string, m sipMsg) string {
	return fmt.Sprintf("ACK sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		c.number, c.edge, c.local(), branch, m.head["from"], m.head["to"], c.callID)
}

// inDialog is a request of the call's dialog (ACK of the 2xx, BYE).
func (c *rawCall) inDialog(method, cseq, branch string) string {
	host, _, _ := net.SplitHostPort(c.local())
	return fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nFrom: <sip:+15550009999@%s>;tag=%s\r\nTo: <sip:%s@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %s %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, c.contact, c.local(), branch, host, c.fromTag, c.number, c.edge, c.toTag, c.callID, cseq, method)
}

// hangup sends BYE (retransmitted) and waits up to 5 s for its 200.
func (c *rawCall) hangup(t testing.TB) {
	t.Helper()
	msg := c.inDialog("BYE", "2", "z9hG4bK"+randToken())
	deadline := time.After(5 * time.Second)
	for {
		c.send(msg)
		select {
		case m := <-c.resps:
			if strings.HasSuffix(m.head["cseq"], "BYE") && m.status() >= 200 {
				if m.status() != 200 {
					t.Errorf("BYE of %s answered %s", c.callID, m.first)
				}
				return
			}
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatalf("BYE of %s not answered within 5s", c.callID)
		}
	}
}

// waitBye waits up to d for the edge's BYE (answered 200) and returns it.
func (c *rawCall) waitBye(t testing.TB, d time.Duration) sipMsg {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.reqs:
			if m.method() == "BYE" {
				return m
			}
		case <-deadline:
			t.Fatalf("no BYE for %s within %v", c.callID, d)
			return sipMsg{}
		}
	}
}

// options sends an out-of-dialog OPTIONS (a carrier's keepalive) and
// returns the answer, waiting up to 3 s.
func (c *rawCall) options(t testing.TB) sipMsg {
	t.Helper()
	m, ok := c.tryOptions(3 * time.Second)
	if !ok {
		t.Fatalf("OPTIONS to %s not answered within 3s", c.edge)
	}
	return m
}

// tryOptions sends an OPTIONS and waits up to d for its answer.
func (c *rawCall) tryOptions(d time.Duration) (sipMsg, bool) {
	host, _, _ := net.SplitHostPort(c.local())
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nFrom: <sip:carrier@%s>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: opt-%s\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		c.edge, c.local(), randToken(), host, randToken(), c.edge, randToken())
	c.send(msg)
	deadline := time.After(d)
	for {
		select {
		case m := <-c.resps:
			if strings.HasSuffix(m.head["cseq"], "OPTIONS") && m.status() >= 200 {
				return m, true
			}
		case <-deadline:
			return sipMsg{}, false
		}
	}
}
