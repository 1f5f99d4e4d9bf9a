package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address a request is counted against: the TCP peer, or,
// when the peer is one of the configured proxies (Config.TrustedProxies),
// the nearest address before the trusted proxies in Forwarded (RFC 7239)
// or X-Forwarded-For. Forwarding headers from any other peer are ignored:
// a client could write anything there.
func (s *Server) clientIP(r *http.Request) string {
	peer := peerIP(r)
	if !s.trustedProxy(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // an obfuscated or garbled hop: count the last trusted one
		}
		a = a.Unmap()
		if !s.trustedProxy(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerIP is the TCP peer's address.
func peerIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// forwardedFor lists the client addresses the proxies recorded, nearest
// last: the for= of Forwarded when present, else X-Forwarded-For.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		for _, v := range fw {
			for _, elem := range strings.Split(v, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hops = append(hops, forwardedNode(val))
					}
				}
			}
		}
		return hops
	}
	for _, v := range h.Values("X-Forwarded-For") {
		for _, a := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(a))
		}
	}
	return hops
}

// forwardedNode strips the quotes, brackets and port of a Forwarded node
// ("[2001:db8::1]:4711", "192.0.2.43:80").
func forwardedNode(v string) string {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if strings.HasPrefix(v, "[") {
		if i := strings.Index(v, "]"); i > 0 {
			return v[1:i]
		}
	}
	if host, _, err := net.SplitHostPort(v); err == nil {
		return host
	}
	return v
}
