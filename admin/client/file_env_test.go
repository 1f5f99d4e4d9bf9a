package client

import (
	"errors"
	"strings"
	"testing"
)

// TestFileEnvReferences tries to make a workspace file store the applying
// operator's own variables: a reference anywhere but a secret field, or to
// a variable the file does not declare, is an error naming the field, and
// nothing of the variable's value is read into the file.
func TestFileEnvReferences(t *testing.T) {
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"EDGE_ADMIN_KEY": "ek_operator-own-key", "TRUNK_PW": "trunk-password-123"}[k]
		return v, ok
	}
	trunk := func(user, pw string) string {
		return "trunks:\n  - id: t\n    name: T\n    allowed_cidrs: [127.0.0.1/32]\n    username: " + user + "\n    password: " + pw + "\n"
	}
	t.Run("declared, in a secret field", func(t *testing.T) {
		f, err := ParseFile("f.yaml", []byte("env: [TRUNK_PW]\n"+trunk("carrier", "${TRUNK_PW}")), lookup)
		if err != nil || f.Trunks[0].Password != "trunk-password-123" {
			t.Fatalf("%+v %v", f, err)
		}
	})
	refused := []struct {
		name, yaml, field string
	}{
		{"undeclared in a secret field", trunk("carrier", "${EDGE_ADMIN_KEY}"), "trunks[0].password"},
		{"declared, in a username", "env: [EDGE_ADMIN_KEY]\n" + trunk("${EDGE_ADMIN_KEY}", "trunk-password-123"), "trunks[0].username"},
		{"in a name", "services:\n  - {id: a, name: '${EDGE_ADMIN_KEY}', target: 'sip:a@127.0.0.1'}\n", "services[0].name"},
		{"in a label", "phone_numbers:\n  - {number: '+13125550100', service_id: a, label: 'x ${TRUNK_PW}'}\n", "phone_numbers[0].label"},
		{"in a keyterm", "voice_settings:\n  keyterms: ['${EDGE_ADMIN_KEY}']\n", "voice_settings.keyterms[0]"},
		{"platform variable in an agent config", "services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    agent_config: {k: '${EDGE_ADMIN_KEY}'}\n", "services[0].agent_config.k"},
		{"declared variable in a context graph", "env: [TRUNK_PW]\nservices:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    context_graph: {nodes: ['${TRUNK_PW}']}\n", "services[0].context_graph.nodes[0]"},
		{"through an alias", "env: [TRUNK_PW]\ntrunks:\n  - id: t\n    name: T\n    allowed_cidrs: [127.0.0.1/32]\n    password: &pw '${TRUNK_PW}'\n    username: *pw\n", "trunks[0].username"},
		{"a bad env name", "env: ['1X']\nservices: []\n", "env[0]"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile("f.yaml", []byte(tc.yaml), lookup)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v (field %q), want a FileError naming %s", err, fieldOf(fe), tc.field)
			}
			if f != nil || strings.Contains(err.Error(), "ek_operator-own-key") || strings.Contains(err.Error(), "trunk-password-123") {
				t.Fatalf("the error shows a variable's value: %v", err)
			}
		})
	}
	t.Run("agent templates stay as they are", func(t *testing.T) {
		f, err := ParseFile("f.yaml", []byte("services:\n  - id: a\n    name: A\n    target: sip:a@127.0.0.1\n    agent_config: {greeting: 'Hello ${patient_name}'}\n"), lookup)
		if err != nil || !strings.Contains(string(f.Services[0].AgentConfig), "${patient_name}") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("escaped", func(t *testing.T) {
		f, err := ParseFile("f.yaml", []byte("services:\n  - {id: a, name: 'cost $${X}', target: 'sip:a@127.0.0.1'}\n"), lookup)
		if err != nil || f.Services[0].Name != "cost $${X}" {
			t.Fatalf("%+v %v", f, err)
		}
	})
}

func fieldOf(fe *FileError) string {
	if fe == nil {
		return ""
	}
	return fe.Field
}
