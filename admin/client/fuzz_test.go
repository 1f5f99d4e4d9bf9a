package client

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParseFile feeds arbitrary workspace files to the parser: it must
// never panic, and what it accepts must pass every validator.
func FuzzParseFile(f *testing.F) {
	for _, name := range []string{"northside-development.yaml", "northside-staging.yaml", "northside-production.yaml"} {
		b, err := os.ReadFile(configPath(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("services:\n  - {id: a, name: A, target: 'sip:a@127.0.0.1', agent_config: &x {k: [1, 2.5, true, ~]}}\n  - {id: b, name: B, target: 'sip:b@[::1]:5070', context_graph: *x}\n"))
	f.Add([]byte("trunks:\n  - <<: {id: t, name: T}\n    allowed_cidrs: [10.0.0.0/8]\n    username: ${U}\n    password: $${literal}\n"))
	f.Add([]byte("voice_settings: {speed: .nan, keyterms: [a]}\noperator_config: {modes: [listen], escalation: {a: {b: {c: d}}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile("fuzz.yaml", data, func(string) (string, bool) { return "fuzz-password-0123", true })
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %T %v is not a *FileError", err, err)
			}
			return
		}
		for _, s := range sections {
			for _, it := range file.Items(s.kind) {
				if err := it.Validate(); err != nil {
					t.Fatalf("accepted %s %q that does not validate: %v", s.kind.Name, it.ItemID(), err)
				}
			}
		}
	})
}

func TestParseFileAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    agent_config:\n")
	b.WriteString("      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("      l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := ParseFile("bomb.yaml", []byte(b.String()), testEnv)
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Field, "services[0].agent_config") {
		t.Fatalf("err = %v, want a refusal naming services[0].agent_config", err)
	}
}
