package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/voiceedge/edge/tenancy"
)

// gatewayResolver is what resolving a gateway needs of DNS
// (*net.Resolver).
type gatewayResolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ gatewayResolver = (*net.Resolver)(nil)

// maxGatewayAddrs bounds the addresses one gateway host yields.
const maxGatewayAddrs = 4

// resolveGateway returns where to send a gateway's INVITE, in the order to
// try (RFC 3263 section 4.2): an IP literal is itself; a name with a port
// is its A and AAAA records on that port; a name without a port is first
// looked up as SRV (_sip._udp, _sip._tcp or _sips._tcp by the gateway's
// transport: targets by priority, weighted, RFC 2782, each on its own
// port), and, without SRV records, as A and AAAA on the default port. At
// most maxGatewayAddrs addresses, every lookup within resolveTimeout.
func resolveGateway(ctx context.Context, r gatewayResolver, gw tenancy.Gateway) ([]netip.AddrPort, error) {
	if ip, err := netip.ParseAddr(gw.Host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip.Unmap(), uint16(gw.PortOrDefault()))}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	if gw.Port == 0 {
		service, proto := "sip", "udp"
		switch gw.TransportOrDefault() {
		case "tcp":
			proto = "tcp"
		case "tls":
			service, proto = "sips", "tcp"
		}
		// LookupSRV sorts by priority and shuffles by weight (RFC 2782).
		if _, srvs, err := r.LookupSRV(ctx, service, proto, gw.Host); err == nil && len(srvs) > 0 {
			var out []netip.AddrPort
			for _, srv := range srvs {
				target := strings.TrimSuffix(srv.Target, ".")
				if target == "" || srv.Port == 0 {
					continue // "." : the service is not offered there
				}
				ips, err := lookupAddrs(ctx, r, target)
				if err != nil {
					continue
				}
				for _, ip := range ips {
					out = append(out, netip.AddrPortFrom(ip, srv.Port))
				}
				if len(out) >= maxGatewayAddrs {
					return out[:maxGatewayAddrs], nil
				}
			}
			if len(out) > 0 {
				return out, nil
			}
			return nil, fmt.Errorf("resolve %s: no SRV target resolves", gw.Host)
		}
	}
	ips, err := lookupAddrs(ctx, r, gw.Host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.AddrPortFrom(ip, uint16(gw.PortOrDefault())))
	}
	return out, nil
}

// lookupAddrs is host's A and AAAA records, unmapped, at most
// maxGatewayAddrs.
func lookupAddrs(ctx context.Context, r gatewayResolver, host string) ([]netip.Addr, error) {
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) > maxGatewayAddrs {
		ips = ips[:maxGatewayAddrs]
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}
