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
// even port and the odd one above it: RTP uses an even port and RTCP the
// next (RFC 3550 section 11), and the range covers both.
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
	if first := min + min%2; first+1 > max {
		return fmt.Errorf("%w: %d-%d holds no RTP/RTCP port pair", ErrInvalidPortRange, min, max)
	}
	return nil
}

// PortPool hands out pairs of UDP sockets bound to an even port of a range
// (RTP) and the odd port above it (RTCP) on one local address. Ports are tried round-robin from just after the last one
// handed out, so a released port is not reused until the rest of the range
// has been offered (late packets of an ended call do not reach the next).
// Ports some other process holds are skipped. It is safe for concurrent use.
type PortPool struct {
	ip      netip.Addr
	network string
	first   int // first even port
	count   int // number of RTP/RTCP pairs

	mu    sync.Mutex
	next  int                   // index of the next port to try
	conns map[*net.UDPConn]pair // allocated RTP sockets and their pairs
	ports map[int]bool          // allocated ports
}

// pair is an allocated RTP port and its RTCP socket.
type pair struct {
	port int
	rtcp *net.UDPConn
}

// NewPortPool returns a pool of the port pairs in [min, max] on ip. An
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
		count:   (max - first + 1) / 2,
		conns:   make(map[*net.UDPConn]pair),
		ports:   make(map[int]bool),
	}, nil
}

// Size returns the number of port pairs the pool can hand out.
func (p *PortPool) Size() int { return p.count }

// Allocate binds the next free pair and returns its RTP socket (the RTCP
// one is held with it; see AllocatePair).
func (p *PortPool) Allocate() (*net.UDPConn, error) {
	rtp, _, err := p.AllocatePair()
	return rtp, err
}

// AllocatePair binds the next free even port and the odd port above it and
// returns their sockets, RTP and RTCP. It returns ErrNoPorts when no pair
// of the range can be bound. Release the RTP socket to free both.
func (p *PortPool) AllocatePair() (rtp, rtcp *net.UDPConn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) >= p.count {
		return nil, nil, ErrNoPorts
	}
	for range p.count {
		port := p.first + 2*p.next
		p.next = (p.next + 1) % p.count
		if p.ports[port] {
			continue
		}
		conn, err := net.ListenUDP(p.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err != nil {
			continue // held by another process: try the next one
		}
		ctl, err := net.ListenUDP(p.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1))))
		if err != nil {
			_ = conn.Close()
			continue
		}
		p.conns[conn] = pair{port: port, rtcp: ctl}
		p.ports[port] = true
		return conn, ctl, nil
	}
	return nil, nil, ErrNoPorts
}

// Release closes the RTP socket conn and its RTCP socket and returns the
// pair to the pool. Releasing a socket
// twice, or one the pool did not allocate, only closes it.
func (p *PortPool) Release(conn *net.UDPConn) {
	if conn == nil {
		return
	}
	p.mu.Lock()
	pr, ok := p.conns[conn]
	if ok {
		delete(p.conns, conn)
		delete(p.ports, pr.port)
	}
	p.mu.Unlock()
	// A close error leaves nothing to undo: the descriptor is gone either way.
	_ = conn.Close()
	if pr.rtcp != nil {
		_ = pr.rtcp.Close()
	}
}

// InUse returns the number of port pairs currently allocated.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
