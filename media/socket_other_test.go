//go:build !linux

package media

import (
	"net"
	"testing"
	"time"
)

// detach is the leg's socket of c.
func detach(c *net.UDPConn) (*sock, error) { return &sock{c: c}, nil }

// sockReceives reports whether a datagram reaches k within a second.
func sockReceives(t *testing.T, k *sock) bool {
	t.Helper()
	_ = k.c.SetReadDeadline(time.Now().Add(time.Second))
	_, _, err := k.c.ReadFromUDPAddrPort(make([]byte, 1500))
	return err == nil
}
