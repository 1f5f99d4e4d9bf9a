package media

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
)

// testPortBase spreads the pools of the tests of this package over distinct
// ranges, so parallel tests rarely contend for the same ports.
var testPortBase atomic.Int32

// newTestPool returns a pool of 64 even ports on 127.0.0.1 in a range of its
// own.
func newTestPool(t testing.TB) *PortPool {
	t.Helper()
	// Below the ephemeral range (32768-60999) and away from the sip
	// tests' (30000-33999, 42000-49999), which run in parallel packages.
	base := 20000 + int(testPortBase.Add(1)%70)*128
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), base, base+127)
	if err != nil {
		t.Fatalf("NewPortPool: %v", err)
	}
	return pool
}

// newTestManager returns a Manager on a test pool with its own registry.
func newTestManager(t testing.TB, cfg Config) (*Manager, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewManager(cfg, newTestPool(t), reg, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Manager.Close: %v", err)
		}
	})
	return m, reg
}

// newRunningSession creates a session and runs it until the test ends.
func newRunningSession(t testing.TB, m *Manager, callID string) *Session {
	t.Helper()
	s, err := m.NewSession(callID)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

// udpPeer is a test endpoint: a real socket standing for a trunk, a service
// or a stranger.
type udpPeer struct {
	t    testing.TB
	conn *net.UDPConn
	buf  []byte
}

func newPeer(t testing.TB, ip string) *udpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatalf("listen %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &udpPeer{t: t, conn: conn, buf: make([]byte, 4096)}
}

func (p *udpPeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *udpPeer) send(to netip.AddrPort, pkt []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(pkt, to); err != nil {
		p.t.Fatalf("send to %s: %v", to, err)
	}
}

// recv returns the next RTP packet, failing the test after a second.
func (p *udpPeer) recv() (*rtp.Packet, netip.AddrPort) {
	p.t.Helper()
	pkt, from, ok := p.tryRecv(time.Second)
	if !ok {
		p.t.Fatalf("%s: no packet within 1s", p.addr())
	}
	return pkt, from
}

// tryRecv waits up to d for a packet.
func (p *udpPeer) tryRecv(d time.Duration) (*rtp.Packet, netip.AddrPort, bool) {
	p.t.Helper()
	if err := p.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		p.t.Fatalf("deadline: %v", err)
	}
	n, from, err := p.conn.ReadFromUDPAddrPort(p.buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, netip.AddrPort{}, false
		}
		p.t.Fatalf("read: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(append([]byte(nil), p.buf[:n]...)); err != nil {
		p.t.Fatalf("received non-RTP: %v", err)
	}
	return &pkt, from, true
}

// expectNothing asserts that no packet arrives for a while.
func (p *udpPeer) expectNothing() {
	p.t.Helper()
	if pkt, from, ok := p.tryRecv(150 * time.Millisecond); ok {
		p.t.Fatalf("%s: unexpected packet from %s: %v", p.addr(), from, pkt)
	}
}

// rtpPacket marshals an RTP packet with pion/rtp, independent of the
// relay's own parser.
func rtpPacket(t testing.TB, pt uint8, seq uint16, ts, ssrc uint32, payload []byte) []byte {
	t.Helper()
	p := rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatalf("marshal rtp: %v", err)
	}
	return b
}

// ramp returns a 160-byte payload with distinct bytes.
func ramp(start byte) []byte {
	b := make([]byte, 160)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// eventually polls cond for up to two seconds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitGoroutines waits until the goroutine count is back to at most n.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
