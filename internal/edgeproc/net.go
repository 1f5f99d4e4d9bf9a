package edgeproc

import (
	"fmt"
	"net"
	"testing"
)

// FreeTCP returns a free TCP address on host (an IPv4 loopback address).
func FreeTCP(t testing.TB, host string) string {
	t.Helper()
	l, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreeUDP returns an address on host whose port is free for UDP and TCP
// (a SIP listener takes both).
func FreeUDP(t testing.TB, host string) string {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp4", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		l, err := net.Listen("tcp4", addr)
		pc.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free for UDP and TCP")
	return ""
}

// PortOf is the port of a "host:port".
func PortOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// EvenPort returns a free even UDP port on host (RTP ranges start even).
func EvenPort(t testing.TB, host string) int {
	t.Helper()
	for range 100 {
		var p int
		fmt.Sscan(PortOf(FreeUDP(t, host)), &p)
		if p%2 == 0 {
			return p
		}
	}
	t.Fatal("no free even UDP port")
	return 0
}
