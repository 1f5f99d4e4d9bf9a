package sip

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"sync"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// captureService is a service on 127.0.0.2 that listens on UDP and TCP on
// one port, answers every INVITE 486 over the transport it came by, and
// keeps each INVITE's bytes and transport.
type captureService struct {
	udp   *net.UDPConn
	tcp   net.Listener
	port  int
	mu    sync.Mutex
	got   []capturedInvite
	conns []net.Conn
	wg    sync.WaitGroup
}

type capturedInvite struct {
	transport string
	raw       []byte
	req       *sip.Request
}

func newCaptureService(t *testing.T) *captureService {
	t.Helper()
	var c *captureService
	for range 20 { // a UDP port whose TCP twin is free too
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")})
		if err != nil {
			t.Fatal(err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.2:%d", port))
		if err != nil {
			udp.Close()
			continue
		}
		c = &captureService{udp: udp, tcp: tcp, port: port}
		break
	}
	if c == nil {
		t.Fatal("no UDP and TCP port pair on 127.0.0.2")
	}
	c.wg.Add(2)
	go c.serveUDP()
	go c.serveTCP()
	t.Cleanup(func() {
		c.udp.Close()
		c.tcp.Close()
		c.mu.Lock()
		for _, conn := range c.conns {
			conn.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return c
}

// target is the service URI, with a transport parameter when given.
func (c *captureService) target(transport string) string {
	u := fmt.Sprintf("sip:agent@127.0.0.2:%d", c.port)
	if transport != "" {
		u += ";transport=" + transport
	}
	return u
}

func (c *captureService) record(transport string, raw []byte) *sip.Request {
	msg, err := sip.NewParser().ParseSIP(raw)
	if err != nil {
		return nil
	}
	req, ok := msg.(*sip.Request)
	if !ok || !req.IsInvite() {
		return nil
	}
	c.mu.Lock()
	c.got = append(c.got, capturedInvite{transport: transport, raw: append([]byte(nil), raw...), req: req})
	c.mu.Unlock()
	return req
}

func (c *captureService) serveUDP() {
	defer c.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, addr, err := c.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if req := c.record("udp", buf[:n]); req != nil {
			res := sip.NewResponseFromRequest(req, 486, "Busy Here", nil)
			_, _ = c.udp.WriteToUDP([]byte(res.String()), addr)
		}
	}
}

func (c *captureService) serveTCP() {
	defer c.wg.Done()
	for {
		conn, err := c.tcp.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer conn.Close()
			r := bufio.NewReader(conn)
			for range 10 { // the INVITE and the ACK of its 486, bounded
				raw, err := readStreamMessage(r)
				if err != nil {
					return
				}
				if req := c.record("tcp", raw); req != nil {
					res := sip.NewResponseFromRequest(req, 486, "Busy Here", nil)
					if _, err := conn.Write([]byte(res.String())); err != nil {
						return
					}
				}
			}
		}()
	}
}

// readStreamMessage reads one SIP message of a stream: headers to the
// blank line, then Content-Length bytes of body.
func readStreamMessage(r *bufio.Reader) ([]byte, error) {
	var head bytes.Buffer
	tp := textproto.NewReader(r)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return nil, err
		}
		if line == "" && head.Len() == 0 {
			continue // keepalive CRLFs
		}
		head.WriteString(line + "\r\n")
		if line == "" {
			break
		}
	}
	n := 0
	for _, l := range bytes.Split(head.Bytes(), []byte("\r\n")) {
		if k, v, ok := bytes.Cut(l, []byte(":")); ok && (bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) || bytes.EqualFold(bytes.TrimSpace(k), []byte("l"))) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(head.Bytes(), body...), nil
}

// invites returns the INVITEs received so far.
func (c *captureService) invites() []capturedInvite {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]capturedInvite(nil), c.got...)
}

// last returns the last INVITE received, failing the test when none came.
func (c *captureService) last(t *testing.T) capturedInvite {
	t.Helper()
	got := c.invites()
	if len(got) == 0 {
		t.Fatal("the service got no INVITE")
	}
	return got[len(got)-1]
}
