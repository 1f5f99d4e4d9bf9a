package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestStreamConnectionsBounded tries issue 10's TCP attacks on a real edge:
// idle connections piling up, many connections from one source, and a
// stream of INVITEs on one connection from a source in no trunk. Another
// workspace's UDP call still succeeds, and the per-source limit holds per
// message, not per connection.
func TestStreamConnectionsBounded(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) {
			c.MaxStreamConnsPerSource = 5
			c.MaxStreamConns = 20
			c.StreamIdleTimeout = 500 * time.Millisecond
			c.RateLimit, c.RateBurst = 0.5, 6
		}
	})
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	dial := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", e.tcpAddr)
		if err != nil {
			t.Fatalf("dial from %s: %v", src, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedSoon := func(c net.Conn, within time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(within))
		_, err := c.Read(make([]byte, 1))
		return err != nil && !isTimeout(err)
	}

	t.Run("connections per source", func(t *testing.T) {
		var conns []net.Conn
		for i := 0; i < 5; i++ {
			conns = append(conns, dial("127.0.0.61"))
		}
		waitForCond(t, 2*time.Second, "five connections open", func() bool { return e.srv.conns.openConns() == 5 })
		if over := dial("127.0.0.61"); !closedSoon(over, time.Second) {
			t.Fatal("a sixth connection from one source stayed open")
		}
		if got := e.counter(t, "edge_sip_dropped_total", map[string]string{"reason": string(ReasonTooManyConns)}); got < 1 {
			t.Fatalf("too_many_connections = %v", got)
		}
		other := dial("127.0.0.62") // another source still gets in
		for _, c := range append(conns, other) {
			if !closedSoon(c, 3*time.Second) {
				t.Fatal("an idle connection was kept past the idle timeout")
			}
		}
		waitForCond(t, 2*time.Second, "slots freed", func() bool { return e.srv.conns.openConns() == 0 })
	})

	t.Run("a stream of INVITEs on one connection from an unknown source", func(t *testing.T) {
		c := dial("127.0.0.63")
		for i := 0; i < 20; i++ {
			fmt.Fprint(c, rawTCPInvite("127.0.0.63", i))
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64*1024)
		answered := 0
		for {
			n, err := c.Read(buf)
			answered += strings.Count(string(buf[:n]), "SIP/2.0 403")
			if err != nil {
				break
			}
		}
		// The connection took one token of the burst of 6: at most 5
		// INVITEs are answered, the other 15 or more dropped.
		if answered == 0 || answered > 5 {
			t.Fatalf("%d of 20 INVITEs answered 403, want at most the burst left (5) and the rest dropped", answered)
		}
		if got := e.counter(t, "edge_sip_dropped_total", map[string]string{"reason": string(ReasonRateLimited)}); got < 15 {
			t.Fatalf("rate_limited drops = %v, want at least 15", got)
		}
	})

	t.Run("another workspace's UDP call meanwhile", func(t *testing.T) {
		uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "200")
		if code, logs := uac.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("trunk sipp exit %d\n%s", code, logs)
		}
		if code, logs := svc.wait(t, 10*time.Second); code != 0 {
			t.Fatalf("service sipp exit %d\n%s", code, logs)
		}
		e.waitEnded(t, ws, 1)
	})
}

func rawTCPInvite(src string, i int) string {
	sdp := "v=0\r\no=- 1 1 IN IP4 " + src + "\r\ns=-\r\nc=IN IP4 " + src + "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	return fmt.Sprintf("INVITE sip:+15551230001@edge SIP/2.0\r\nVia: SIP/2.0/TCP %s:5060;branch=z9hG4bK-flood-%d\r\n"+
		"From: <sip:scanner@%s>;tag=f%d\r\nTo: <sip:+15551230001@edge>\r\nCall-ID: flood-%d@%s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:scanner@%s:5060;transport=tcp>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		src, i, src, i, i, src, src, len(sdp), sdp)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func waitForCond(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBucketTableEvictsOldest: a full table takes a new source by
// forgetting the oldest, never by refusing the new one.
func TestBucketTableEvictsOldest(t *testing.T) {
	now := time.Unix(0, 0)
	tb := newBucketTable[netip.Addr](3)
	a := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
	for i := 1; i <= 3; i++ {
		if !tb.take(a(i), 1, 1, now) {
			t.Fatalf("source %d refused", i)
		}
	}
	if tb.take(a(1), 1, 1, now) {
		t.Fatal("source 1 over its burst accepted")
	}
	for i := 4; i <= 10; i++ {
		if !tb.take(a(i), 1, 1, now) {
			t.Fatalf("new source %d refused by a full table", i)
		}
		if tb.len() != 3 {
			t.Fatalf("table holds %d, want its bound 3", tb.len())
		}
	}
	if !tb.take(a(1), 1, 1, now) {
		t.Fatal("source 1, evicted, did not start with a fresh bucket")
	}
}

func TestRawCallID(t *testing.T) {
	for _, tc := range []struct{ name, msg, want string }{
		{"full name", "BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP x\r\nCall-ID: abc@host\r\n\r\n", "abc@host"},
		{"compact form", "BYE sip:a@b SIP/2.0\r\ni:  xyz \r\n\r\n", "xyz"},
		{"case", "BYE sip:a@b SIP/2.0\r\ncall-id:q\r\n\r\n", "q"},
		{"in the body only", "BYE sip:a@b SIP/2.0\r\nVia: x\r\n\r\nCall-ID: body", ""},
		{"none", "garbage", ""},
	} {
		if got := rawCallID([]byte(tc.msg)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestFiveThousandIdleConnections is issue 10's reproduction at its scale:
// 5,000 idle TCP connections from 157 addresses. The edge keeps at most its
// caps (32 per source, 4,096 in all), another workspace's UDP call is
// answered meanwhile, and the idle timeout closes every one of them.
func TestFiveThousandIdleConnections(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) {
			c.StreamIdleTimeout = 3 * time.Second
			c.RateLimit = 0 // the connections, not the scanner limit, are under test
		}
	})
	svc, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	const total, perSource = 5000, 32
	conns := make([]net.Conn, 0, total)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := 0; len(conns) < total; i++ {
		src := net.IPv4(127, 0, 1, byte(1+i/perSource))
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", e.tcpAddr)
		if err != nil {
			t.Fatalf("connection %d from %s: %v", i, src, err)
		}
		conns = append(conns, c)
	}
	waitForCond(t, 10*time.Second, "the edge at its total cap", func() bool { return e.srv.conns.openConns() == 4096 })
	// The rest wait in the listen backlog until the accept loop closes them.
	waitForCond(t, 10*time.Second, "the connections over the cap closed", func() bool {
		return e.counter(t, "edge_sip_dropped_total", map[string]string{"reason": string(ReasonTooManyConns)}) == total-4096
	})
	if n := e.srv.conns.openConns(); n != 4096 {
		t.Fatalf("%d connections open, want the cap of 4096", n)
	}
	uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "200")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("a UDP call while 5,000 connections are open: sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	e.waitEnded(t, ws, 1)
	waitForCond(t, 20*time.Second, "idle connections closed", func() bool { return e.srv.conns.openConns() == 0 })
}

// TestSpoofedSourceChurn: spoofed sources, until more than the per-source
// table holds, each send an OPTIONS; the table stays at its bound instead
// of refusing whoever comes next, and a real trunk's call, whose service
// hangs up from an address in no trunk, goes through all the same.
func TestSpoofedSourceChurn(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "uas_bye.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	edge, err := net.ResolveUDPAddr("udp4", e.udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("OPTIONS sip:edge SIP/2.0\r\nVia: SIP/2.0/UDP 127.9.9.9:5060;branch=z9hG4bK-churn\r\nFrom: <sip:s@x>;tag=1\r\n" +
		"To: <sip:edge>\r\nCall-ID: churn\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	sent := 0
	send := func(n int) {
		for end := sent + n; sent < end; sent++ {
			src := &net.UDPAddr{IP: net.IPv4(127, byte(2+sent>>16), byte(sent>>8), byte(sent))}
			c, err := net.ListenUDP("udp4", src)
			if err != nil {
				t.Fatalf("source %d: %v", sent, err)
			}
			_, _ = c.WriteToUDP(msg, edge)
			c.Close()
			if sent%250 == 249 {
				time.Sleep(10 * time.Millisecond) // paced, so the socket buffer drops few
			}
		}
	}
	// settled waits until the edge has taken in what was sent: the table's
	// size holds still for 200ms.
	settled := func() int {
		last := -1
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			n := e.srv.limiter.size()
			if n == last {
				return n
			}
			last = n
		}
		return last
	}
	// A loaded machine may drop datagrams from the socket buffer, so the
	// sources come in batches until the table is full (bounded at twice
	// its size), then as many again: the table stays at its bound.
	for sent < 2*maxRateEntries && settled() < maxRateEntries {
		send(10_000)
	}
	if n := settled(); n != maxRateEntries {
		t.Fatalf("table holds %d sources after %d, want its bound %d", n, sent, maxRateEntries)
	}
	send(10_000)
	if n := settled(); n != maxRateEntries {
		t.Fatalf("table holds %d sources after %d more, want its bound %d", n, 10_000, maxRateEntries)
	}
	uac := e.trunkCall(t, "uac_wait_bye.xml", "+15551230001")
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("the trunk's call after the churn: sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	if got := e.waitEnded(t, ws, 1)[0]["reason"]; got != string(ReasonServiceHangup) {
		t.Errorf("end reason %v, want %s", got, ReasonServiceHangup)
	}
	if n := e.srv.limiter.size(); n > maxRateEntries {
		t.Errorf("table holds %d sources, over its bound %d", n, maxRateEntries)
	}
}
