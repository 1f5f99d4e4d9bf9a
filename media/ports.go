package media

import (
	"fmt"
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
// (RTP) and the odd port above it (RTCP) on one local address. Ports are
// tried round-robin from just after the last one handed out, so a released
// port is not reused until the rest of the range has been offered (late
// packets of an ended call do not reach the next). Ports some other process
// holds are skipped. It is safe for concurrent use.
//
// The sockets are the relay's own (sock): on Linux two system calls each
// (socket and bind), never registered with Go's netpoller, which the
// relay's pollers replace (poller_linux.go).
type PortPool struct {
	ip    netip.Addr
	first int // first even port
	count int // number of RTP/RTCP pairs

	mu    sync.Mutex
	next  int          // index of the next port to try
	ports map[int]bool // allocated RTP ports
}

// A portPair is an allocated RTP socket on an even port and the RTCP
// socket on the port above it. Release it to the pool that allocated it.
type portPair struct {
	port      int
	rtp, rtcp *sock
	released  bool // under the pool's mu
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
	first := min + min%2
	return &PortPool{
		ip:    ip.Unmap(),
		first: first,
		count: (max - first + 1) / 2,
		ports: make(map[int]bool),
	}, nil
}

// Size returns the number of port pairs the pool can hand out.
func (p *PortPool) Size() int { return p.count }

// addr is the local address of the pool's port.
func (p *PortPool) addr(port int) netip.AddrPort {
	return netip.AddrPortFrom(p.ip, uint16(port))
}

// allocate binds the next free even port and the odd port above it. It
// returns ErrNoPorts when no pair of the range can be bound.
func (p *PortPool) allocate() (*portPair, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ports) >= p.count {
		return nil, ErrNoPorts
	}
	for range p.count {
		port := p.first + 2*p.next
		p.next = (p.next + 1) % p.count
		if p.ports[port] {
			continue
		}
		rtp, err := bindSock(p.addr(port))
		if err != nil {
			continue // held by another process: try the next one
		}
		rtcp, err := bindSock(p.addr(port + 1))
		if err != nil {
			rtp.close()
			continue
		}
		p.ports[port] = true
		return &portPair{port: port, rtp: rtp, rtcp: rtcp}, nil
	}
	return nil, ErrNoPorts
}

// release closes pp's sockets and returns its port to the pool. Releasing
// a pair twice, or a nil one, does nothing more.
func (p *PortPool) release(pp *portPair) {
	if pp == nil {
		return
	}
	pp.rtp.close()
	pp.rtcp.close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !pp.released {
		pp.released = true
		delete(p.ports, pp.port)
	}
}

// InUse returns the number of port pairs currently allocated.
func (p *PortPool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ports)
}
