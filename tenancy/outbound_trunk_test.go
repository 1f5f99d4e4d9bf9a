package tenancy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func validOutbound() *tenancy.OutboundTrunk {
	return &tenancy.OutboundTrunk{
		ID: "carrier-out", Name: "Carrier termination",
		Gateways: []tenancy.Gateway{{Host: "198.51.100.10", Port: 5060, Transport: "udp", Priority: 10, Weight: 50},
			{Host: "sip.carrier.example", Transport: "tls", Priority: 20, Weight: 10}},
		Username: "clinic-01", Password: "carrier-secret-1",
		CallerID: tenancy.CallerIDPolicy{Mode: tenancy.CallerIDOwnNumbers},
		MaxCPS:   5, AllowedPrefixes: []string{"+1312", "+1773"},
	}
}

func TestOutboundTrunkValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*tenancy.OutboundTrunk)
		field string // "" valid
	}{
		{"valid", func(*tenancy.OutboundTrunk) {}, ""},
		{"no credentials", func(o *tenancy.OutboundTrunk) { o.Username, o.Password = "", "" }, ""},
		{"fixed caller id", func(o *tenancy.OutboundTrunk) {
			o.CallerID = tenancy.CallerIDPolicy{Mode: "fixed", Number: "+13125550100"}
		}, ""},
		{"bad id", func(o *tenancy.OutboundTrunk) { o.ID = "Bad ID" }, "id"},
		{"no gateways", func(o *tenancy.OutboundTrunk) { o.Gateways = nil }, "gateways"},
		{"bad host", func(o *tenancy.OutboundTrunk) { o.Gateways[0].Host = "evil host;x" }, "gateways[].host"},
		{"bad port", func(o *tenancy.OutboundTrunk) { o.Gateways[0].Port = 70000 }, "gateways[].port"},
		{"bad transport", func(o *tenancy.OutboundTrunk) { o.Gateways[0].Transport = "sctp" }, "gateways[].transport"},
		{"bad priority", func(o *tenancy.OutboundTrunk) { o.Gateways[0].Priority = -1 }, "gateways[].priority"},
		{"bad weight", func(o *tenancy.OutboundTrunk) { o.Gateways[0].Weight = 1 << 20 }, "gateways[].weight"},
		{"username alone", func(o *tenancy.OutboundTrunk) { o.Password = "" }, "password"},
		{"short password", func(o *tenancy.OutboundTrunk) { o.Password = "short" }, "password"},
		{"quote in username", func(o *tenancy.OutboundTrunk) { o.Username = `a"b` }, "username"},
		{"caller id mode", func(o *tenancy.OutboundTrunk) { o.CallerID.Mode = "any" }, "caller_id.mode"},
		{"fixed without number", func(o *tenancy.OutboundTrunk) { o.CallerID.Mode = "fixed" }, "caller_id.number"},
		{"own numbers with number", func(o *tenancy.OutboundTrunk) { o.CallerID.Number = "+13125550100" }, "caller_id.number"},
		{"cps too high", func(o *tenancy.OutboundTrunk) { o.MaxCPS = 1000 }, "max_cps"},
		{"no prefixes", func(o *tenancy.OutboundTrunk) { o.AllowedPrefixes = nil }, "allowed_prefixes"},
		{"prefix with letters", func(o *tenancy.OutboundTrunk) { o.AllowedPrefixes = []string{"+1312abc"} }, "allowed_prefixes"},
		{"prefix too long", func(o *tenancy.OutboundTrunk) { o.AllowedPrefixes = []string{"+1234567890123456"} }, "allowed_prefixes"},
		{"prefix without plus", func(o *tenancy.OutboundTrunk) { o.AllowedPrefixes = []string{"1312"} }, "allowed_prefixes"},
		{"ring timeout", func(o *tenancy.OutboundTrunk) { o.RingTimeout = 9999 }, "ring_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := validOutbound()
			tc.edit(o)
			err := o.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid trunk refused: %v", err)
				}
				return
			}
			var fe *tenancy.ValidationError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestOutboundTrunkAllows(t *testing.T) {
	o := &tenancy.OutboundTrunk{AllowedPrefixes: []string{"+1", "+44207", "+1900555"}}
	cases := []struct {
		to   string
		want bool
	}{
		{"+13125550100", true},
		{"+19005550100", true},  // premium, but a listed prefix lies inside the range
		{"+19001230100", false}, // premium range, not listed specifically
		{"+19765550100", false},
		{"+442071234567", true},
		{"+449012345678", false}, // UK premium: not under +44207
		{"+33123456789", false},  // international, not listed
		{"+1312555abcd", false},
		{"+1312555010012345", false}, // too many digits
		{"13125550100", false},
	}
	for _, tc := range cases {
		if got := o.Allows(tc.to); got != tc.want {
			t.Errorf("Allows(%s) = %v, want %v", tc.to, got, tc.want)
		}
	}
}

// TestOutboundTrunkSecrets checks that the password is kept on a replace
// without it, is never in the snapshot the edges load, and is read only by
// OutboundCredentials; and that a fixed caller id must be the workspace's.
func TestOutboundTrunkSecrets(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	other, _, err := s.CreateWorkspace(ctx, tenancy.PlatformPrincipal, tenancy.NewWorkspace{
		Name: "Other", Environment: tenancy.EnvDevelopment, Owner: tenancy.Account{Name: "O", Email: "o@other.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := tenancy.PlatformPrincipal
	if _, err := s.Put(ctx, p, w.ID, tenancy.KindService, &tenancy.Service{ID: "agent", Name: "A", Target: "sip:a@127.0.0.2:5070"}, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, p, other.ID, tenancy.KindService, &tenancy.Service{ID: "agent", Name: "A", Target: "sip:a@127.0.0.2:5070"}, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, p, w.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+13125550100", ServiceID: "agent"}, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, p, other.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+13125550199", ServiceID: "agent"}, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	o := validOutbound()
	if _, err := s.Put(ctx, p, w.ID, tenancy.KindOutboundTrunk, o, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	shown := o.Redacted()
	shown.Name = "Renamed"
	if _, err := s.Put(ctx, p, w.ID, tenancy.KindOutboundTrunk, &shown, tenancy.Upsert); err != nil {
		t.Fatalf("replace without password: %v", err)
	}
	snap, err := s.LoadSnapshot(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := snap.OutboundTrunks["carrier-out"]
	if !ok || got.Password != "" || got.Name != "Renamed" || got.Username != "clinic-01" {
		t.Fatalf("snapshot has %+v", got)
	}
	user, pass, err := s.OutboundCredentials(ctx, w.ID, "carrier-out")
	if err != nil || user != "clinic-01" || pass != "carrier-secret-1" {
		t.Fatalf("credentials %q %q %v", user, pass, err)
	}
	if _, _, err := s.OutboundCredentials(ctx, other.ID, "carrier-out"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("another workspace reads the credentials: %v", err)
	}
	for _, number := range []string{"+13125550199", "+13125550777"} { // B's, nobody's: the same answer
		fixed := validOutbound()
		fixed.ID = "fixed"
		fixed.CallerID = tenancy.CallerIDPolicy{Mode: tenancy.CallerIDFixed, Number: number}
		_, err := s.Put(ctx, p, w.ID, tenancy.KindOutboundTrunk, fixed, tenancy.Create)
		var fe *tenancy.ValidationError
		if !errors.As(err, &fe) || fe.Field != "caller_id.number" || strings.Contains(err.Error(), other.ID) {
			t.Fatalf("fixed caller id %s: %v", number, err)
		}
	}
	fixed := validOutbound()
	fixed.ID = "fixed"
	fixed.CallerID = tenancy.CallerIDPolicy{Mode: tenancy.CallerIDFixed, Number: "+13125550100"}
	if _, err := s.Put(ctx, p, w.ID, tenancy.KindOutboundTrunk, fixed, tenancy.Create); err != nil {
		t.Fatalf("own fixed caller id: %v", err)
	}
}
