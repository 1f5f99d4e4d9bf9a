package tenancy

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"e164", "+15551230001", "+15551230001", true},
		{"digits", "15551230001", "+15551230001", true},
		{"separators", "+1 (555) 123-0001", "+15551230001", true},
		{"dots", "1.555.123.0001", "+15551230001", true},
		{"too short", "+1555", "", false},
		{"too long", "+1234567890123456", "", false},
		{"leading zero", "+05551230001", "", false},
		{"letters", "+1555CALLNOW", "", false},
		{"plus inside", "1+5551230001", "", false},
		{"empty", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NormalizeNumber(tc.in)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Errorf("NormalizeNumber(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestNormalizeNumberNoAllocForE164(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { NormalizeNumber("+15551230001") }); n != 0 {
		t.Errorf("NormalizeNumber allocates %.0f times for an E.164 number", n)
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		ok   bool
	}{
		{"sip:agent@10.0.0.5:5070;transport=udp", Target{User: "agent", Host: "10.0.0.5", Port: 5070, Transport: "udp"}, true},
		{"sip:agent@agent.internal", Target{User: "agent", Host: "agent.internal"}, true},
		{"sip:[::1]:5080;transport=tcp", Target{Host: "::1", Port: 5080, Transport: "tcp"}, true},
		{"sip:10.0.0.5", Target{Host: "10.0.0.5"}, true},
		{"sips:agent@10.0.0.5", Target{User: "agent", Host: "10.0.0.5", Transport: "tls", SRTP: true}, true},
		{"sip:agent@10.0.0.5;transport=udp;media=srtp", Target{User: "agent", Host: "10.0.0.5", Transport: "udp", SRTP: true}, true},
		{"sip:agent@10.0.0.5;media=zrtp", Target{}, false},
		{"http://agent", Target{}, false},
		{"sip:agent@", Target{}, false},
		{"sip:agent@host:99999", Target{}, false},
		{"sip:agent@host:", Target{}, false},
		{"sip:agent@ho st", Target{}, false},
		{"sip:agent@host;transport=sctp", Target{}, false},
		{"sip:[::1", Target{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseTarget(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			var ve *ValidationError
			if err != nil && (!errors.As(err, &ve) || ve.Field != "target") {
				t.Errorf("error %v does not name the field target", err)
			}
		})
	}
}

// TestValidateNamesField checks that each kind's validation names the field
// at fault.
func TestValidateNamesField(t *testing.T) {
	good := func() map[string]Item {
		return map[string]Item{
			"service": &Service{ID: "front-desk", Name: "Front desk", Target: "sip:a@127.0.0.1"},
			"number":  &PhoneNumber{Number: "+15551230001", ServiceID: "front-desk"},
			"trunk":   &Trunk{ID: "carrier", Name: "Carrier", AllowedCIDRs: []string{"203.0.113.0/24"}, MediaEncryption: "require", RTPLatching: "learn"},
			"voice":   &VoiceSettings{TTSVoice: "alloy", Speed: 1},
			"ops":     &OperatorConfig{Modes: []string{"listen"}},
			"policy":  &SafetyPolicy{ID: "p1", Name: "P", MonitorConcepts: []MonitorConcept{{Concept: "chest_pain", Severity: "high"}}},
			"source":  &DataSource{ID: "ehr", Kind: "fhir", BaseURL: "https://ehr.example.org/fhir"},
			"billing": &Billing{Plan: "standard", ContactEmail: "billing@example.org"},
		}
	}
	for name, it := range good() {
		if err := it.Validate(); err != nil {
			t.Errorf("valid %s: %v", name, err)
		}
	}
	tests := []struct {
		name  string
		item  Item
		field string
	}{
		{"service id", &Service{ID: "Bad ID", Name: "x", Target: "sip:a@b"}, "id"},
		{"service name", &Service{ID: "a", Name: "", Target: "sip:a@b"}, "name"},
		{"service graph", &Service{ID: "a", Name: "x", Target: "sip:a@b", ContextGraph: json.RawMessage(`[1]`)}, "context_graph"},
		{"number", &PhoneNumber{Number: "555", ServiceID: "a"}, "number"},
		{"number service", &PhoneNumber{Number: "+15551230001", ServiceID: ""}, "service_id"},
		{"trunk cidr", &Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"300.0.0.0/8"}}, "allowed_cidrs"},
		{"trunk no cidr", &Trunk{ID: "t", Name: "T"}, "allowed_cidrs"},
		{"trunk password alone", &Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"10.0.0.1"}, Password: "secretsecret"}, "password"},
		{"trunk short password", &Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"10.0.0.1"}, Username: "u", Password: "short"}, "password"},
		{"trunk media encryption", &Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"10.0.0.1"}, MediaEncryption: "always"}, "media_encryption"},
		{"trunk rtp latching", &Trunk{ID: "t", Name: "T", AllowedCIDRs: []string{"10.0.0.1"}, RTPLatching: "any"}, "rtp_latching"},
		{"speed", &VoiceSettings{Speed: 9}, "speed"},
		{"keyterms", &VoiceSettings{Keyterms: []string{""}}, "keyterms[]"},
		{"mode", &OperatorConfig{Modes: []string{"spy"}}, "modes[]"},
		{"operators", &OperatorConfig{Operators: []string{"NOT VALID"}}, "operators[]"},
		{"policy severity", &SafetyPolicy{ID: "p", Name: "P", MonitorConcepts: []MonitorConcept{{Concept: "x", Severity: "dire"}}}, "monitor_concepts[0].severity"},
		{"source kind", &DataSource{ID: "d", Kind: "ftp", BaseURL: "https://x.org"}, "kind"},
		{"source url", &DataSource{ID: "d", Kind: "fhir", BaseURL: "not a url"}, "base_url"},
		{"billing plan", &Billing{Plan: "free", ContactEmail: "a@b.org"}, "plan"},
		{"billing email", &Billing{Plan: "trial", ContactEmail: "nope"}, "contact_email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.item.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v, want a validation error naming %q", err, tc.field)
			}
		})
	}
}

func TestWorkspaceAndAccountValidate(t *testing.T) {
	w := Workspace{Name: "Clinic", Environment: EnvStaging, Status: StatusActive}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := w
	bad.Environment = "qa"
	if err := bad.Validate(); err == nil {
		t.Error("environment qa accepted")
	}
	bad = w
	bad.Limits.MaxCPS = -1
	if err := bad.Validate(); err == nil {
		t.Error("negative cps accepted")
	}
	a := Account{Name: "Ann", Email: "ann@example.org", Role: RoleMember}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	a.Role = "root"
	if err := a.Validate(); err == nil {
		t.Error("role root accepted")
	}
}

func TestTrunkKeepsSecretsOnReplace(t *testing.T) {
	old, _ := json.Marshal(Trunk{ID: "t", Username: "u", Password: "p4ssw0rd-long"})
	tr := &Trunk{ID: "t", Username: "u"}
	tr.keepSecrets(old)
	if tr.Password != "p4ssw0rd-long" {
		t.Errorf("password not kept: %q", tr.Password)
	}
	if r := Redacted(tr).(*Trunk); r.Password != "" {
		t.Error("redacted trunk shows its password")
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+15551230001", "1 (555) 123-0001", "", "+", "++1", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := NormalizeNumber(s)
		if ok && !IsE164(out) {
			t.Fatalf("NormalizeNumber(%q) = %q, not E.164", s, out)
		}
		if ok {
			if again, ok2 := NormalizeNumber(out); !ok2 || again != out {
				t.Fatalf("not idempotent: %q -> %q", out, again)
			}
		}
	})
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"sip:agent@10.0.0.5:5070;transport=udp", "sip:[::1]:5", "sip:@", "sip:a@b:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err == nil && (tg.Host == "" || tg.Port < 0 || tg.Port > 65535) {
			t.Fatalf("ParseTarget(%q) accepted %+v", s, tg)
		}
	})
}
