package media

import (
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

// detach makes c's socket a leg's socket (sock), out of Go's netpoller, for
// tests that bind it anywhere: it keeps a duplicate of c's descriptor and
// closes c (closing deletes c's from the netpoller's epoll set; the
// socket, still open, keeps its port). Close the sock to close the socket.
func detach(c *net.UDPConn) (*sock, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, errno := -1, syscall.Errno(0)
	if err := rc.Control(func(cfd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, cfd, syscall.F_DUPFD_CLOEXEC, 0)
		fd, errno = int(r), e
	}); err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, fmt.Errorf("media: dup socket: %w", errno)
	}
	domain, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_DOMAIN)
	if err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("media: socket domain: %w", err)
	}
	_ = c.Close()
	return &sock{fd: fd, v4: domain == syscall.AF_INET}, nil
}

// sockReceives reports whether a datagram reaches k within a second.
func sockReceives(t *testing.T, k *sock) bool {
	t.Helper()
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n, _ := recvFrom(k.fd, buf); n >= 0 {
			return true
		}
	}
	return false
}
