package client

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

func TestConfigsParseAndValidate(t *testing.T) {
	files := map[string]*File{}
	for _, name := range []string{"northside-development.yaml", "northside-staging.yaml", "northside-production.yaml"} {
		t.Run(name, func(t *testing.T) {
			f := loadConfig(t, name)
			files[name] = f
			if len(f.PhoneNumbers) == 0 || len(f.Trunks) == 0 {
				t.Fatalf("%s: want numbers and trunks, got %d and %d", name, len(f.PhoneNumbers), len(f.Trunks))
			}
			// Every item passes the tenancy validators (LoadFile ran them;
			// run them again on what apply would send).
			for _, s := range sections {
				for _, it := range f.Items(s.kind) {
					if err := it.Validate(); err != nil {
						t.Errorf("%s %s: %v", s.kind.Name, it.ItemID(), err)
					}
				}
			}
			for _, n := range f.PhoneNumbers {
				if !tenancy.IsE164(n.Number) || !strings.HasPrefix(n.Number, "+1312555010") && !strings.HasPrefix(n.Number, "+1312555011") && !strings.HasPrefix(n.Number, "+1312555012") {
					t.Errorf("number %s: want E.164 in the fictional +1 312 555 01xx range", n.Number)
				}
			}
			for _, tr := range f.Trunks {
				for _, p := range tr.Prefixes() {
					if !p.Addr().IsLoopback() {
						t.Errorf("trunk %s: CIDR %s is not loopback", tr.ID, p)
					}
				}
			}
			for _, s := range f.Services {
				target, err := tenancy.ParseTarget(s.Target)
				if err != nil {
					t.Fatalf("service %s: %v", s.ID, err)
				}
				if a, err := netip.ParseAddr(target.Host); err != nil || !a.IsLoopback() {
					t.Errorf("service %s: target host %s is not a loopback address", s.ID, target.Host)
				}
			}
		})
	}
	t.Run("production holds numbers and trunks only", func(t *testing.T) {
		f := files["northside-production.yaml"]
		if f == nil {
			t.Fatal("the production file did not load")
		}
		for _, k := range tenancy.Kinds {
			if k.Behaviour && f.Declares(k) {
				t.Errorf("production file declares %s: agent behaviour gets there by promotion", k.Name)
			}
		}
		if f.Trunks[0].Password != "prod-trunk-secret-0123" {
			t.Errorf("production trunk password %q: want it from ${NORTHSIDE_PROD_TRUNK_PASSWORD}", f.Trunks[0].Password)
		}
	})
	t.Run("a number and a trunk address belong to one workspace", func(t *testing.T) {
		numbers, cidrs := map[string]string{}, map[netip.Prefix]string{}
		for name, f := range files {
			for _, n := range f.PhoneNumbers {
				if other, dup := numbers[n.Number]; dup {
					t.Errorf("number %s is in %s and %s", n.Number, other, name)
				}
				numbers[n.Number] = name
			}
			for _, tr := range f.Trunks {
				for _, p := range tr.Prefixes() {
					if other, dup := cidrs[p]; dup {
						t.Errorf("trunk CIDR %s is in %s and %s", p, other, name)
					}
					cidrs[p] = name
				}
			}
		}
	})
	t.Run("staging declares what production gets by promotion", func(t *testing.T) {
		st, prod := files["northside-staging.yaml"], files["northside-production.yaml"]
		if st == nil || prod == nil {
			t.Fatal("a file did not load")
		}
		have := map[string]bool{}
		for _, s := range st.Services {
			have[s.ID] = true
		}
		for _, n := range prod.PhoneNumbers {
			if !have[n.ServiceID] {
				t.Errorf("production number %s routes to %s, which staging does not declare", n.Number, n.ServiceID)
			}
		}
	})
}

func TestParseFileErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		field      string
		line       int
	}{
		{"unknown top-level key", "services: []\ncolour: blue\n", "colour", 2},
		{"unknown key in an item", "services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    colour: blue\n", "services[0].colour", 5},
		{"speed out of range", "voice_settings:\n  speed: 3.5\n", "voice_settings.speed", 2},
		{"speed not a number", "voice_settings:\n  speed: fast\n", "voice_settings.speed", 2},
		{"list expected", "trunks:\n  - id: t\n    name: T\n    allowed_cidrs: 127.0.0.1/32\n", "trunks[0].allowed_cidrs", 4},
		{"bad target", "services:\n  - id: a\n    name: A\n    target: http://agent\n", "services[0].target", 2},
		{"bad number", "phone_numbers:\n  - number: \"555-0100\"\n    service_id: a\n", "phone_numbers[0].number", 2},
		{"duplicate service id", "services:\n  - {id: a, name: A, target: 'sip:a@127.0.0.1'}\n  - {id: a, name: B, target: 'sip:b@127.0.0.1'}\n", "services[1].id", 3},
		{"duplicate number in two spellings", "phone_numbers:\n  - {number: '+13125550100', service_id: a}\n  - {number: '+1 (312) 555-0100', service_id: a}\n", "phone_numbers[1].number", 3},
		{"bad CIDR", "trunks:\n  - {id: t, name: T, allowed_cidrs: [localhost]}\n", "trunks[0].allowed_cidrs", 2},
		{"unset environment variable", "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1/32], username: u, password: '${NOPE_NOT_SET}'}\n", "trunks[0].password", 2},
		{"short password", "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1/32], username: u, password: short}\n", "trunks[0].password", 2},
		{"bad country code", "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1/32], default_country_code: '+1'}\n", "trunks[0].default_country_code", 2},
		{"negative request budget", "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1/32], max_requests_per_second: -5}\n", "trunks[0].max_requests_per_second", 2},
		{"bad operator mode", "operator_config:\n  modes: [listen, shout]\n", "operator_config.modes[]", 2},
		{"context graph not a mapping", "services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    context_graph: [1, 2]\n", "services[0].context_graph", 2},
		{"bad policy action", "safety_policies:\n  - {id: p, name: P, action: shrug}\n", "safety_policies[0].action", 2},
		{"bad workspace id", "workspace: northside\nservices: []\n", "workspace", 1},
		{"section not a mapping", "voice_settings: [1]\n", "voice_settings", 1},
		{"document not a mapping", "- services\n", "(document)", 1},
		{"nothing declared", "workspace: ws_abc\n", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("test.yaml", []byte(tc.yaml), testEnv)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %T %v, want *FileError", err, err)
			}
			if fe.Field != tc.field || fe.Line != tc.line {
				t.Errorf("field %q line %d, want %q line %d (%v)", fe.Field, fe.Line, tc.field, tc.line, err)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field) {
				t.Errorf("message %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestParseFileSections(t *testing.T) {
	t.Run("absent sections are not declared", func(t *testing.T) {
		f := parseYAML(t, "trunks:\n  - {id: t, name: T, allowed_cidrs: [127.0.0.1]}\n")
		if !f.Declares(tenancy.KindTrunk) || f.Declares(tenancy.KindService) || f.Declares(tenancy.KindVoiceSettings) {
			t.Errorf("declared = %v", f.declared)
		}
	})
	t.Run("an empty section declares no items", func(t *testing.T) {
		f := parseYAML(t, "services: []\nphone_numbers:\n")
		if !f.Declares(tenancy.KindService) || !f.Declares(tenancy.KindNumber) || len(f.Items(tenancy.KindService)) != 0 {
			t.Errorf("declared = %v", f.declared)
		}
	})
	t.Run("numbers are normalised to E.164", func(t *testing.T) {
		f := parseYAML(t, "phone_numbers:\n  - {number: '+1 (312) 555-0100', service_id: a}\n  - {number: +13125550101, service_id: a}\n")
		if f.PhoneNumbers[0].Number != "+13125550100" || f.PhoneNumbers[1].Number != "+13125550101" {
			t.Errorf("numbers %s %s", f.PhoneNumbers[0].Number, f.PhoneNumbers[1].Number)
		}
	})
	t.Run("free-form values become JSON objects", func(t *testing.T) {
		f := parseYAML(t, "services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    agent_config:\n      tools: [x, y]\n      max: 15\n      ratio: 0.5\n      on: true\n      none: ~\n      nested: {k: v}\n")
		want := `{"max":15,"nested":{"k":"v"},"none":null,"on":true,"ratio":0.5,"tools":["x","y"]}`
		if got := string(f.Services[0].AgentConfig); got != want {
			t.Errorf("agent_config = %s, want %s", got, want)
		}
	})
	t.Run("anchors and aliases are followed", func(t *testing.T) {
		f := parseYAML(t, "services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    agent_config: &cfg {language: en-US}\n  - id: b\n    name: B\n    target: sip:b@127.0.0.1\n    agent_config: *cfg\n")
		if string(f.Services[1].AgentConfig) != `{"language":"en-US"}` {
			t.Errorf("agent_config = %s", f.Services[1].AgentConfig)
		}
	})
	t.Run("templates in agent config are not expanded", func(t *testing.T) {
		f := parseYAML(t, "services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    agent_config: {greeting: 'Hello ${patient_name}'}\n")
		if !strings.Contains(string(f.Services[0].AgentConfig), "${patient_name}") {
			t.Errorf("agent_config = %s", f.Services[0].AgentConfig)
		}
	})
}

func TestExpandEnv(t *testing.T) {
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"PW": "s3cret-value", "USER": "clinic"}[k]
		return v, ok
	}
	cases := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"no reference", "plain-pa$$word", "plain-pa$$word", false},
		{"whole value", "${PW}", "s3cret-value", false},
		{"inside text", "x-${USER}-y", "x-clinic-y", false},
		{"two references", "${USER}:${PW}", "clinic:s3cret-value", false},
		{"escaped", "$${PW}", "${PW}", false},
		{"unset", "${MISSING}", "", true},
		{"unterminated", "${PW", "", true},
		{"not a name", "${1X}", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expandEnv(tc.in, lookup, map[string]bool{"PW": true, "USER": true, "MISSING": true}, "f.yaml", "trunks[0].password", 3)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("expandEnv(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "trunks[0].password") {
				t.Errorf("error %q does not name the field", err)
			}
		})
	}
}

func TestParseFileTrunkCarrierSettings(t *testing.T) {
	f, err := ParseFile("test.yaml", []byte("trunks:\n  - id: t\n    name: T\n    allowed_cidrs: [127.0.0.1/32]\n    default_country_code: \"1\"\n    max_requests_per_second: 800\n    accepts_refer: true\n"), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	tr := f.Trunks[0]
	if tr.DefaultCountryCode != "1" || tr.MaxRequestsPerSecond != 800 || !tr.AcceptsRefer {
		t.Fatalf("trunk %+v", tr)
	}
}
