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

// SIPpMediaPort returns a port p for SIPp's -mp on host: p to p+3 are free
// for UDP and none is one of avoid (SIPp's own -p, say). SIPp binds p for
// audio and p+2 for video, its echo the ones between, and exits at once
// when one is taken; a port found free alone does not say its
// neighbours are.
func SIPpMediaPort(t testing.TB, host string, avoid ...string) string {
	t.Helper()
	for range 100 {
		p := EvenPort(t, host)
		if p+3 <= 65535 && !nearAny(p, avoid) && udpFree(host, p, 4) {
			return fmt.Sprint(p)
		}
	}
	t.Fatal("no four free UDP ports in a row for SIPp's media")
	return ""
}

func nearAny(p int, ports []string) bool {
	for _, s := range ports {
		var q int
		fmt.Sscan(s, &q)
		if q >= p && q <= p+3 {
			return true
		}
	}
	return false
}

// udpFree reports whether ports p to p+n-1 of host are free for UDP.
func udpFree(host string, p, n int) bool {
	var held []net.PacketConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range n {
		c, err := net.ListenPacket("udp4", net.JoinHostPort(host, fmt.Sprint(p+i)))
		if err != nil {
			return false
		}
		held = append(held, c)
	}
	return true
}
