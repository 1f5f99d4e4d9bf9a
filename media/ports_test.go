package media

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		min, max int
		wantErr  bool
	}{
		{name: "default", in: "10000-20000", min: 10000, max: 20000},
		{name: "spaces", in: " 10000 - 10010 ", min: 10000, max: 10010},
		{name: "one pair", in: "10000-10001", min: 10000, max: 10001},
		{name: "single even", in: "10000-10000", wantErr: true},
		{name: "odd bounds", in: "10001-10005", min: 10001, max: 10005},
		{name: "no pair", in: "10001-10002", wantErr: true},
		{name: "single odd", in: "10001-10001", wantErr: true},
		{name: "reversed", in: "20000-10000", wantErr: true},
		{name: "zero", in: "0-100", wantErr: true},
		{name: "too high", in: "60000-70000", wantErr: true},
		{name: "no dash", in: "10000", wantErr: true},
		{name: "not numbers", in: "a-b", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "negative", in: "-5-10", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			min, max, err := ParsePortRange(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPortRange) {
					t.Fatalf("err = %v, want ErrInvalidPortRange", err)
				}
				return
			}
			if err != nil || min != tt.min || max != tt.max {
				t.Fatalf("= %d, %d, %v; want %d, %d", min, max, err, tt.min, tt.max)
			}
		})
	}
}

func TestPortPoolAllocatesEvenPortsRoundRobin(t *testing.T) {
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29001, 29009) // 29002/3 .. 29008/9: 4 pairs
	if err != nil {
		t.Fatal(err)
	}
	if pool.Size() != 4 {
		t.Fatalf("Size = %d, want 4", pool.Size())
	}
	a, err := pool.allocate()
	if err != nil {
		t.Fatal(err)
	}
	if a.port%2 != 0 || a.port < 29002 || a.port > 29008 {
		t.Fatalf("port %d not an even port of the range", a.port)
	}
	pool.release(a)
	b, err := pool.allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pool.release(b)
	if b.port == a.port {
		t.Fatalf("released port %d reused at once", a.port)
	}
	if pool.InUse() != 1 {
		t.Fatalf("InUse = %d, want 1", pool.InUse())
	}
}

func TestPortPoolExhaustionAndRelease(t *testing.T) {
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29100, 29106)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []*portPair
	for {
		pp, err := pool.allocate()
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, pp)
		if len(pairs) > pool.Size() {
			t.Fatal("allocated more ports than the pool holds")
		}
	}
	if len(pairs) == 0 {
		t.Fatal("no port allocated")
	}
	if pool.InUse() != len(pairs) {
		t.Fatalf("InUse = %d, want %d", pool.InUse(), len(pairs))
	}
	for _, pp := range pairs {
		pool.release(pp)
		pool.release(pp) // twice is harmless
	}
	pool.release(nil)
	if pool.InUse() != 0 {
		t.Fatalf("InUse after release = %d", pool.InUse())
	}
	pp, err := pool.allocate()
	if err != nil {
		t.Fatalf("allocate after release: %v", err)
	}
	pool.release(pp)
}

// TestPortPoolReleaseTwiceKeepsTheNextHolder: a pair released twice, its
// port handed out again in between, leaves the new holder's port counted.
func TestPortPoolReleaseTwiceKeepsTheNextHolder(t *testing.T) {
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29110, 29111) // one pair
	if err != nil {
		t.Fatal(err)
	}
	first, err := pool.allocate()
	if err != nil {
		t.Fatal(err)
	}
	pool.release(first)
	second, err := pool.allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pool.release(second)
	pool.release(first)
	if pool.InUse() != 1 {
		t.Fatalf("InUse = %d, want 1", pool.InUse())
	}
	if _, err := pool.allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("allocate with the pair held: err = %v, want ErrNoPorts", err)
	}
}

func TestPortPoolSkipsPortsHeldElsewhere(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	held, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 29200)))
	if err != nil {
		t.Skipf("cannot hold port 29200: %v", err)
	}
	defer held.Close()
	pool, err := NewPortPool(ip, 29200, 29203)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := pool.allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pool.release(pp)
	if pp.port != 29202 {
		t.Fatalf("port = %d, want 29202 (29200 is held)", pp.port)
	}
	if _, err := pool.allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("second allocate err = %v, want ErrNoPorts", err)
	}
}

func TestNewPortPoolRejectsBadRange(t *testing.T) {
	if _, err := NewPortPool(netip.Addr{}, 5, 5); !errors.Is(err, ErrInvalidPortRange) {
		t.Fatalf("err = %v", err)
	}
}

// TestPortPoolPairs: a pair is bound to an even port and the one above it,
// receives on both, and is closed by its release.
func TestPortPoolPairs(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	pool, err := NewPortPool(ip, 29300, 29305)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := pool.allocate()
	if err != nil {
		t.Fatal(err)
	}
	if pp.port%2 != 0 || pool.addr(pp.port) != netip.AddrPortFrom(ip, uint16(pp.port)) {
		t.Fatalf("pair at %d, address %v", pp.port, pool.addr(pp.port))
	}
	tx, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, port := range []int{pp.port, pp.port + 1} {
		if _, err := tx.WriteToUDPAddrPort([]byte{1}, pool.addr(port)); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range []*sock{pp.rtp, pp.rtcp} {
		if !sockReceives(t, k) {
			t.Fatalf("socket %d of the pair received nothing", i)
		}
	}
	pool.release(pp)
	for _, port := range []int{pp.port, pp.port + 1} {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(pool.addr(port)))
		if err != nil {
			t.Fatalf("port %d still bound after release: %v", port, err)
		}
		c.Close()
	}
}

// BenchmarkPortPoolPair: a leg's sockets, bound and released, as a call's
// set-up and end do twice.
func BenchmarkPortPoolPair(b *testing.B) {
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29400, 29599)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		pp, err := pool.allocate()
		if err != nil {
			b.Fatal(err)
		}
		pool.release(pp)
	}
}
