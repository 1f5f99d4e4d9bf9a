//go:build linux

package media

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"
)

// sock is a leg's UDP socket as the relay uses it: by its descriptor,
// which the poller reads and the relay, the mixer and the RTCP clock
// write, outside Go's netpoller. Left there, the netpoller would wake for
// every datagram although no goroutine waits on the socket.
type sock struct {
	mu     sync.RWMutex // shared by writes, exclusive by close: no write reaches a descriptor reused after it
	fd     int
	v4     bool // an IPv4 socket (else IPv6, which sends to IPv4 as mapped addresses)
	closed bool
}

// bindSock opens a non-blocking UDP socket bound to addr: socket(2) and
// bind(2), no more. An IPv6 socket takes IPv6 only, as Go's "udp6" does.
func bindSock(addr netip.AddrPort) (*sock, error) {
	ip := addr.Addr()
	domain := syscall.AF_INET
	if ip.Is6() {
		domain = syscall.AF_INET6
	}
	fd, err := syscall.Socket(domain, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("media: socket: %w", err)
	}
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: ip.As4()}
	if domain == syscall.AF_INET6 {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1); err != nil {
			_ = syscall.Close(fd)
			return nil, fmt.Errorf("media: socket %s: %w", addr, err)
		}
		sa = &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: ip.As16()}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("media: bind %s: %w", addr, err)
	}
	return &sock{fd: fd, v4: domain == syscall.AF_INET}, nil
}

// writeTo sends b to dst without waiting: a socket whose buffer is full
// drops the datagram (EAGAIN), as a network would.
func (s *sock) writeTo(b []byte, dst netip.AddrPort) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	var p unsafe.Pointer
	var l uintptr
	var sa4 syscall.RawSockaddrInet4
	var sa6 syscall.RawSockaddrInet6
	a := dst.Addr()
	switch {
	case s.v4 && a.Unmap().Is4():
		sa4 = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Port: netPort(dst.Port()), Addr: a.Unmap().As4()}
		p, l = unsafe.Pointer(&sa4), syscall.SizeofSockaddrInet4
	case !s.v4 && a.IsValid():
		sa6 = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Port: netPort(dst.Port()), Addr: a.As16()}
		p, l = unsafe.Pointer(&sa6), syscall.SizeofSockaddrInet6
	default:
		return 0, fmt.Errorf("media: send to %v from a socket of the other family: %w", dst, syscall.EAFNOSUPPORT)
	}
	var b0 unsafe.Pointer
	if len(b) > 0 {
		b0 = unsafe.Pointer(&b[0])
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(s.fd), uintptr(b0), uintptr(len(b)), syscall.MSG_DONTWAIT, uintptr(p), l)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// close closes the socket once no write is in progress.
func (s *sock) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		_ = syscall.Close(s.fd)
	}
}

// recvFrom is a non-blocking recvfrom(2) into buf that does not allocate
// (syscall.Recvfrom allocates the source's Sockaddr): the datagram's
// length, or -1 when none was read, and its source.
func recvFrom(fd int, buf []byte) (int, netip.AddrPort) {
	var sa syscall.RawSockaddrAny
	salen := uint32(syscall.SizeofSockaddrAny)
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
	if errno != 0 {
		return -1, netip.AddrPort{}
	}
	switch sa.Addr.Family {
	case syscall.AF_INET:
		a := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa))
		return int(n), netip.AddrPortFrom(netip.AddrFrom4(a.Addr), netPort(a.Port))
	case syscall.AF_INET6:
		a := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&sa))
		return int(n), netip.AddrPortFrom(netip.AddrFrom16(a.Addr), netPort(a.Port))
	}
	return int(n), netip.AddrPort{}
}

// netPort converts a port to or from a sockaddr's, which is in network
// byte order whatever the host's.
func netPort(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
