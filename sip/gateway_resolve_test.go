package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// fakeDNS answers SRV and A/AAAA lookups from maps, recording the SRV
// names asked.
type fakeDNS struct {
	srv   map[string][]*net.SRV
	hosts map[string][]netip.Addr
	asked []string
}

func (f *fakeDNS) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	q := "_" + service + "._" + proto + "." + name
	f.asked = append(f.asked, q)
	if s, ok := f.srv[q]; ok {
		return q, s, nil
	}
	return "", nil, &net.DNSError{Err: "no such host", Name: q, IsNotFound: true}
}

func (f *fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := f.hosts[host]; ok {
		return ips, nil
	}
	return nil, errors.New("no such host")
}

// TestResolveGatewaySRV: a gateway name without a port is looked up as
// SRV by its transport (RFC 3263), each target on its own port in the
// order DNS gives; "." and unresolvable targets are skipped; without SRV,
// or with a port, A/AAAA on the port; an IP literal is itself.
func TestResolveGatewaySRV(t *testing.T) {
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	ap := func(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
	dns := &fakeDNS{
		srv: map[string][]*net.SRV{
			"_sip._udp.carrier.example": {
				{Target: ".", Port: 0},
				{Target: "gone.carrier.example.", Port: 5060},
				{Target: "sbc1.carrier.example.", Port: 5070, Priority: 10},
				{Target: "sbc2.carrier.example.", Port: 5080, Priority: 20},
			},
			"_sips._tcp.carrier.example": {{Target: "tls.carrier.example.", Port: 5063}},
		},
		hosts: map[string][]netip.Addr{
			"sbc1.carrier.example": {a("198.51.100.1")},
			"sbc2.carrier.example": {a("198.51.100.2"), a("::ffff:198.51.100.3")},
			"tls.carrier.example":  {a("198.51.100.9")},
			"carrier.example":      {a("198.51.100.50")},
			"plain.example":        {a("203.0.113.7")},
		},
	}
	for _, tc := range []struct {
		name string
		gw   tenancy.Gateway
		want []netip.AddrPort
		srv  string // the SRV name looked up, "" for none
	}{
		{"udp SRV", tenancy.Gateway{Host: "carrier.example"}, []netip.AddrPort{ap("198.51.100.1:5070"), ap("198.51.100.2:5080"), ap("198.51.100.3:5080")}, "_sip._udp.carrier.example"},
		{"tls SRV", tenancy.Gateway{Host: "carrier.example", Transport: "tls"}, []netip.AddrPort{ap("198.51.100.9:5063")}, "_sips._tcp.carrier.example"},
		{"tcp without SRV: A on 5060", tenancy.Gateway{Host: "carrier.example", Transport: "tcp"}, []netip.AddrPort{ap("198.51.100.50:5060")}, "_sip._tcp.carrier.example"},
		{"a port: no SRV", tenancy.Gateway{Host: "carrier.example", Port: 5099}, []netip.AddrPort{ap("198.51.100.50:5099")}, ""},
		{"no SRV", tenancy.Gateway{Host: "plain.example"}, []netip.AddrPort{ap("203.0.113.7:5060")}, "_sip._udp.plain.example"},
		{"literal", tenancy.Gateway{Host: "192.0.2.4", Transport: "tls"}, []netip.AddrPort{ap("192.0.2.4:5061")}, ""},
	} {
		dns.asked = nil
		got, err := resolveGateway(context.Background(), dns, tc.gw)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
		if (tc.srv == "") != (len(dns.asked) == 0) || (tc.srv != "" && dns.asked[0] != tc.srv) {
			t.Errorf("%s: SRV asked %v, want %q", tc.name, dns.asked, tc.srv)
		}
	}
	if _, err := resolveGateway(context.Background(), dns, tenancy.Gateway{Host: "nowhere.example"}); err == nil {
		t.Error("an unknown name resolved")
	}
}
