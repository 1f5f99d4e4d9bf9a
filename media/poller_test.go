package media

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// udpSocket is a loopback UDP socket, closed with the test.
func udpSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newTestPoller is a poller, closed with the test.
func newTestPoller(t *testing.T) *poller {
	t.Helper()
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

// pollerSocket is a loopback socket as a leg's (detached), closed with the
// test, and its address.
func pollerSocket(t *testing.T) (*sock, netip.AddrPort) {
	t.Helper()
	c := udpSocket(t)
	addr := localAddrPortOf(c)
	k, err := detach(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.close)
	return k, addr
}

// TestPollerTakesTurnsBetweenSockets: a socket whose peer floods it gets
// one datagram handled per round, as every other socket does, so the
// datagrams of a quiet socket (another call, maybe of another workspace)
// are handled among the flood's first, not after its backlog.
func TestPollerTakesTurnsBetweenSockets(t *testing.T) {
	p := newTestPoller(t)
	flooded, floodedAddr := pollerSocket(t)
	quiet, quietAddr := pollerSocket(t)
	tx := udpSocket(t)
	_ = tx.SetWriteBuffer(4 << 20)
	const flood, few = 1000, 10
	for range flood {
		if _, err := tx.WriteToUDPAddrPort([]byte("flood"), floodedAddr); err != nil {
			t.Fatal(err)
		}
	}
	for range few {
		if _, err := tx.WriteToUDPAddrPort([]byte("quiet"), quietAddr); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // all queued in the kernel before the poller reads

	var mu sync.Mutex
	var handled, quietLast, quietN int
	done := make(chan struct{})
	// The first datagram handled holds the poller until both sockets are
	// in its set (it starts with the first).
	both := make(chan struct{})
	count := func(quiet bool) func([]byte, netip.AddrPort) {
		return func([]byte, netip.AddrPort) {
			<-both
			mu.Lock()
			defer mu.Unlock()
			handled++
			if quiet {
				quietLast, quietN = handled, quietN+1
				if quietN == few {
					close(done)
				}
			}
		}
	}
	a, err := p.add(flooded, readBufferSize, count(false))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.add(quiet, readBufferSize, count(true))
	if err != nil {
		t.Fatal(err)
	}
	close(both)
	defer p.remove(a)
	defer p.remove(b)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the quiet socket's datagrams were not all handled")
	}
	mu.Lock()
	defer mu.Unlock()
	// Turns alternate: the quiet socket's last datagram is among the first
	// 2*few+2 handled (the round in which the poller started had one
	// socket; the others may start with either).
	if quietLast > 2*few+2 {
		t.Fatalf("the quiet socket's %d datagrams were handled only after %d of the flood's", few, quietLast-few)
	}
}

// TestPollerRemoveWaitsForTheHandler: remove returns only after a handler
// of the socket that is running has ended, and no handler runs after it;
// the poller's goroutine ends with its last socket and comes back with
// the next.
func TestPollerRemoveWaitsForTheHandler(t *testing.T) {
	base := runtime.NumGoroutine()
	p := newTestPoller(t)
	rx, rxAddr := pollerSocket(t)
	tx := udpSocket(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var calls, after atomic.Int32
	var removed atomic.Bool
	pe, err := p.add(rx, readBufferSize, func([]byte, netip.AddrPort) {
		if removed.Load() {
			after.Add(1)
		}
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		_, _ = tx.WriteToUDPAddrPort([]byte("x"), rxAddr)
	}
	<-entered
	returned := make(chan struct{})
	go func() {
		p.remove(pe)
		removed.Store(true)
		close(returned)
	}()
	select {
	case <-returned:
		t.Fatal("remove returned while the socket's handler ran")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-returned
	for range 5 {
		_, _ = tx.WriteToUDPAddrPort([]byte("x"), rxAddr)
	}
	time.Sleep(50 * time.Millisecond)
	if n := after.Load(); n != 0 {
		t.Fatalf("%d datagrams handled after remove", n)
	}
	waitGoroutines(t, base)

	// The next socket brings the goroutine back.
	got := make(chan struct{}, 1)
	rx2, rx2Addr := pollerSocket(t)
	pe2, err := p.add(rx2, readBufferSize, func([]byte, netip.AddrPort) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = tx.WriteToUDPAddrPort([]byte("x"), rx2Addr)
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("a socket added after the goroutine ended is not read")
	}
	p.remove(pe2)
	waitGoroutines(t, base)
}

// TestPollerReadsWithoutAllocating: a datagram read and handled by the
// poller allocates nothing.
func TestPollerReadsWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newTestPoller(t)
	rx, dst := pollerSocket(t)
	tx := udpSocket(t)
	var n atomic.Int64
	pe, err := p.add(rx, readBufferSize, func(pkt []byte, src netip.AddrPort) {
		if src.Port() == localAddrPortOf(tx).Port() && len(pkt) == 172 {
			n.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.remove(pe)
	pkt := make([]byte, 172)
	// The reads happen on the poller's goroutine: count every allocation
	// of the process over many datagrams.
	var before, after runtime.MemStats
	const sent = 2000
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range sent {
		_, _ = tx.WriteToUDPAddrPort(pkt, dst)
		for n.Load() == 0 {
			runtime.Gosched()
		}
		n.Store(0)
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.Mallocs-before.Mallocs) / sent; per > 0.05 {
		t.Fatalf("%.2f allocations per datagram", per)
	}
}

// TestSockWritesWithoutAllocating: a datagram sent through a leg's socket
// allocates nothing, IPv4 and IPv6.
func TestSockWritesWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for network, ip := range map[string]net.IP{"udp4": net.IPv4(127, 0, 0, 1), "udp6": net.IPv6loopback} {
		t.Run(network, func(t *testing.T) {
			c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
			if err != nil {
				t.Skipf("no %s loopback here: %v", network, err)
			}
			k, err := detach(c)
			if err != nil {
				t.Fatal(err)
			}
			defer k.close()
			rx, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			dst := localAddrPortOf(rx)
			pkt := make([]byte, 172)
			if n := testing.AllocsPerRun(200, func() {
				if _, err := k.writeTo(pkt, dst); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Fatalf("%.1f allocations per datagram sent", n)
			}
			buf := make([]byte, 512)
			_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, _, err := rx.ReadFromUDPAddrPort(buf); err != nil || n != len(pkt) {
				t.Fatalf("received %d bytes: %v", n, err)
			}
		})
	}
}

// TestManagerSpreadsSessionsOverPollers: a poller reads at most four
// sessions' sockets; the next session gets a poller of its own. Go's
// scheduler shares the CPU between goroutines, so the relay of many calls
// behind one goroutine starves when the CPU is saturated.
func TestManagerSpreadsSessionsOverPollers(t *testing.T) {
	m, _ := newTestManager(t, DefaultConfig())
	defer m.Close()
	const sessions = 10
	for i := range sessions {
		s, err := m.NewSession(fmt.Sprintf("call-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	total := 0
	for _, p := range m.pollers {
		n := p.load()
		if n > pollerSockets {
			t.Fatalf("a poller reads %d sockets, more than %d", n, pollerSockets)
		}
		total += n
	}
	if total != 4*sessions || len(m.pollers) < (4*sessions+pollerSockets-1)/pollerSockets {
		t.Fatalf("%d pollers read %d sockets of %d sessions", len(m.pollers), total, sessions)
	}
}
