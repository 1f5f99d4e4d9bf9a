package media

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// ParsePortRange parses a port range such as "10000-20000" (the form of
// EDGE_RTP_PORTS). Both ends are inclusive; the range must hold at least one
// even port, since RTP uses even ports (RFC 3550 section 11).
func ParsePortRange(s string) (min, max int, err error) {
	lo, hi, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q: want min-max", ErrInvalidPortRange, s)
	}
	min, err = strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %q: %w", ErrInvalidPortRange, s, err)
	}
	max, err = strconv.Atoi(strings.TrimSpace(hi))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %q: %w", ErrInvalidPortRange, s, err)
	}
	if err := checkPortRange(min, max); err != nil {
		return 0, 0, fmt.Errorf("%q: %w", s, err)
	}
	return min, max, nil
}

func checkPortRange(min, max int) error {
	if min < 1 || max > 65535 || min > max {
		return fmt.Errorf("%w: %d-%d", ErrInvalidPortRange, min, max)
	}
	if min == max && min%2 != 0 {
		return fmt.Errorf("%w: %d-%d holds no even port", ErrInvalidPortRange, min, max)
	}
	return nil
}

// PortPool hands out UDP sockets bound to the even ports of a range on one
// local address. Ports are tried round-robin from just after the last one
// handed out, so a released port is not reused until the rest of the range
// has been offered (late packets of an ended call do not reach the next).
// Ports some other process holds are skipped. It is safe for concurrent use.
type PortPool struct {
	ip      netip.Addr
	network string
	first   int // first even port
	count   int // number of even ports

	mu    sync.Mutex
	next  int                  // index of the next port to try
	conns map[*net.UDPConn]int // allocated sockets and their ports
	ports map[int]bool         // allocated ports
}

// NewPortPool returns a pool of the even ports in [min, max] on ip. An
// invalid (zero) ip binds the IPv4 wildcard address.
func NewPortPool(ip netip.Addr, min, max int) (*PortPool, error) {
	if err := checkPortRange(min, max); err != nil {
		return nil, err
	}
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	ip = ip.Unmap()
	network := "udp4"
	if ip.Is6() {
		network = "udp6"
	}
	first := min + min%2
	return &PortPool{
		ip:      ip,
		network: network,
		first:   first,
		count:   (max-first)/2 + 1,
		conns:   make(map[*net.UDPConn]int),
		ports:   make(map[int]bool),
	}, nil
}

// Size returns the number of ports the pool can hand out.
func (p *PortPool) Size() int { return p.count }

// Allocate binds the next free even port and returns its socket. It returns
// ErrNoPorts when no port of the range can be bound.
func (p *PortPool) Allocate() (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) >= p.count {
		return nil, ErrNoPorts
	}
	for range p.count {
		port := p.first + 2*p.next
		p.next = (p.next + 1) % p.count
		if p.ports[port] {
			continue
		}
		addr := netip.AddrPortFrom(p.ip, uint16(port))
		conn, err := net.ListenUDP(p.network, net.UDPAddrFromAddrPort(addr))
		if err != nil {
			continue // held by another process: try the next one
		}
		p.conns[conn] = port
		p.ports[port] = true
		return conn, nil
	}
	return nil, ErrNoPorts
}

// Release closes conn and returns its port to the pool. Releasing a socket
// twice, or one the pool did not allocate, only closes it.
func (p *PortPool) Release(conn *net.UDPConn) {
	if conn == nil {
		return
	}
	p.mu.Lock()
	if port, ok := p.conns[conn]; ok {
		delete(p.conns, conn)
		delete(p.ports, port)
	}
	p.mu.Unlock()
	// A close error leaves nothing to undo: the descriptor is gone either way.
	_ = conn.Close()
}

// InUse returns the number of ports currently allocated.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
