package sip

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/media/srtp"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

// Fakes for the benchmark of the INVITE path: the unit under measure is
// the SIP layer's own work, not Redis or socket binding.
type fakeRouter struct{ route *routing.Route }

func (f fakeRouter) KnownSource(netip.Addr) bool            { return true }
func (f fakeRouter) TrunksFrom(netip.Addr) []*routing.Trunk { return nil }
func (f fakeRouter) Lookup(string) (*routing.Route, bool)   { return f.route, true }
func (f fakeRouter) LookupFrom(a netip.Addr, _ string) (*routing.Route, *routing.Trunk, bool) {
	t, ok := f.route.TrunkFor(a)
	return f.route, t, ok
}

type nopStore struct{}

func (nopStore) AdmitCallEvent(context.Context, tenancy.CallRecord, tenancy.Limits, time.Duration, string, tenancy.Event) error {
	return nil
}
func (nopStore) UpdateCallEvent(context.Context, tenancy.CallRecord, string, tenancy.Event) (string, error) {
	return "", nil
}
func (nopStore) EndCallEvent(context.Context, tenancy.CallRecord, string, tenancy.Event) (string, error) {
	return "", nil
}
func (nopStore) UpdateCall(context.Context, tenancy.CallRecord) error { return nil }
func (nopStore) EndCall(context.Context, tenancy.CallRecord) error    { return nil }
func (nopStore) RenewLeases(context.Context, map[string][]string, time.Duration) error {
	return nil
}
func (nopStore) AppendEvent(context.Context, string, tenancy.Event) (string, error) { return "", nil }
func (nopStore) AppendEventOnce(context.Context, string, string, tenancy.Event) (string, error) {
	return "", nil
}
func (nopStore) RestoreCall(context.Context, tenancy.CallRecord, time.Duration) error { return nil }
func (nopStore) ReassertCalls(context.Context, map[string][]tenancy.CallRecord, time.Duration) error {
	return nil
}
func (nopStore) Heartbeat(context.Context, string, time.Duration) (int, error) { return 1, nil }
func (nopStore) Ping(context.Context) error                                    { return nil }
func (nopStore) ReadControl(context.Context, string, string, time.Duration) ([]tenancy.Control, error) {
	return nil, nil
}

type fakeMedia struct{}

func (fakeMedia) NewSession(string) (MediaSession, error) { return fakeSession{}, nil }

type fakeSession struct{}

func (fakeSession) LocalAddr(media.Leg) netip.AddrPort {
	return netip.MustParseAddrPort("127.0.0.1:40000")
}
func (fakeSession) SetRemoteCodec(media.Leg, netip.AddrPort, media.Codec, uint8) error { return nil }
func (fakeSession) SetHold(bool)                                                       {}
func (fakeSession) OnTimeout(func())                                                   {}
func (fakeSession) Stats() media.SessionStats                                          { return media.SessionStats{} }
func (fakeSession) Start(context.Context) error                                        { return nil }
func (fakeSession) Close() error                                                       { return nil }
func (fakeSession) SetLegOptions(media.Leg, media.LegOptions) error                    { return nil }
func (fakeSession) SendDTMF(media.Leg, uint8, time.Duration) error                     { return nil }
func (fakeSession) OnDTMF(media.DTMFHook)                                              {}
func (fakeSession) OfferCrypto(media.Leg, srtp.Suite) (srtp.Crypto, error) {
	return srtp.Generate(srtp.AESCM128HMACSHA1_80, 1)
}
func (fakeSession) SetCrypto(_ media.Leg, r srtp.Crypto) (srtp.Crypto, error) {
	if r.IsZero() {
		return srtp.Crypto{}, nil
	}
	return srtp.Generate(r.Suite, r.Tag)
}

var (
	_ CallStore    = nopStore{}
	_ Media        = fakeMedia{}
	_ MediaSession = fakeSession{}
	_ Router       = fakeRouter{}
)

// BenchmarkInviteToServiceLeg measures an initial INVITE from the parsed
// datagram to the serialized INVITE of the service leg: parsing, checks,
// admission, SDP negotiation, call state and the B-leg request.
func BenchmarkInviteToServiceLeg(b *testing.B) {
	route := &routing.Route{
		Number: "+15551230001",
		Workspace: &routing.WorkspaceView{ID: "ws_bench", Environment: tenancy.EnvStaging, Status: tenancy.StatusActive,
			Trunks: []*routing.Trunk{{ID: "carrier", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}},
		Service:          &routing.Service{ID: "agent", Target: tenancy.Target{User: "agent", Host: "10.0.0.5", Port: 5070}},
		VoiceSettingsB64: "eyJ0dHNfdm9pY2UiOiJhbGxveSJ9",
	}
	route.Trunks = route.Workspace.Trunks
	cfg := DefaultConfig()
	cfg.PublicIP = netip.MustParseAddr("192.0.2.10")
	s, err := New(cfg, fakeRouter{route}, fakeMedia{}, nopStore{}, WithLogger(testLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.setListener("udp", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 5060})
	inv := (&rawInvite{number: "+15551230001", callID: "bench@test", branch: "z9hG4bK-bench", fromTag: "ft", sdp: pcmuOffer}).text("127.0.0.1:5060")
	data := []byte(inv)
	parser := sip.NewParser()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg, err := parser.ParseSIP(data)
		if err != nil {
			b.Fatal(err)
		}
		req := msg.(*sip.Request)
		req.SetSource("127.0.0.1:5060")
		if rej := validateInvite(req); rej != nil {
			b.Fatal(rej)
		}
		adm, rej := s.admit(req)
		if rej != nil {
			b.Fatal(rej)
		}
		c, rej := s.newCall(req, nil, adm, time.Now(), timerRequest{})
		if rej != nil {
			b.Fatal(rej)
		}
		out, err := c.serviceInvite()
		if err != nil {
			b.Fatal(err)
		}
		_ = out.String()
		b.StopTimer()
		c.end(ReasonCanceled)
		b.StartTimer()
	}
}
