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

func port(c *net.UDPConn) int { return int(c.LocalAddr().(*net.UDPAddr).Port) }

func TestPortPoolAllocatesEvenPortsRoundRobin(t *testing.T) {
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29001, 29009) // 29002/3 .. 29008/9: 4 pairs
	if err != nil {
		t.Fatal(err)
	}
	if pool.Size() != 4 {
		t.Fatalf("Size = %d, want 4", pool.Size())
	}
	a, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if port(a)%2 != 0 || port(a) < 29002 || port(a) > 29008 {
		t.Fatalf("port %d not an even port of the range", port(a))
	}
	first := port(a)
	pool.Release(a)
	b, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Release(b)
	if port(b) == first {
		t.Fatalf("released port %d reused at once", first)
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
	var conns []*net.UDPConn
	for {
		c, err := pool.Allocate()
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if len(conns) > pool.Size() {
			t.Fatal("allocated more ports than the pool holds")
		}
	}
	if len(conns) == 0 {
		t.Fatal("no port allocated")
	}
	if pool.InUse() != len(conns) {
		t.Fatalf("InUse = %d, want %d", pool.InUse(), len(conns))
	}
	for _, c := range conns {
		pool.Release(c)
		pool.Release(c) // twice is harmless
	}
	if pool.InUse() != 0 {
		t.Fatalf("InUse after release = %d", pool.InUse())
	}
	c, err := pool.Allocate()
	if err != nil {
		t.Fatalf("Allocate after release: %v", err)
	}
	pool.Release(c)
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
	c, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Release(c)
	if port(c) != 29202 {
		t.Fatalf("port = %d, want 29202 (29200 is held)", port(c))
	}
	if _, err := pool.Allocate(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("second Allocate err = %v, want ErrNoPorts", err)
	}
}

func TestNewPortPoolRejectsBadRange(t *testing.T) {
	if _, err := NewPortPool(netip.Addr{}, 5, 5); !errors.Is(err, ErrInvalidPortRange) {
		t.Fatalf("err = %v", err)
	}
}

func TestPortPoolPairs(t *testing.T) {
	pool, err := NewPortPool(netip.MustParseAddr("127.0.0.1"), 29300, 29305)
	if err != nil {
		t.Fatal(err)
	}
	rtp, rtcp, err := pool.AllocatePair()
	if err != nil {
		t.Fatal(err)
	}
	if port(rtcp) != port(rtp)+1 || port(rtp)%2 != 0 {
		t.Fatalf("pair %d/%d", port(rtp), port(rtcp))
	}
	pool.Release(rtp)
	if _, err := rtcp.WriteToUDP([]byte{1}, rtp.LocalAddr().(*net.UDPAddr)); err == nil {
		t.Error("RTCP socket still open after Release")
	}
}
