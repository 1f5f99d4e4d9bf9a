package client

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// A workspace file takes secrets from the environment, and only secrets:
// a ${NAME} reference is expanded in a secret field alone (secretFields:
// a trunk's password), and only for a NAME the file declares in its
// top-level list
//
//	env: [NORTHSIDE_PROD_TRUNK_PASSWORD]
//
// so that a file cannot make the operator who applies it store one of the
// operator's own variables (EDGE_ADMIN_KEY, say) where every member of
// the workspace reads it. Elsewhere a ${...} reference is an error naming
// its field; free-form values handed to agents as they are
// (context_graph, agent_config, operator_config.escalation) may hold
// templates such as "Hello ${patient_name}", kept as they are, unless the
// name is declared in env or is a platform variable (EDGE_...): then it is
// an error too. In a secret field "$${" stands for a literal "${";
// elsewhere "$${" is not a reference and stays as it is.

// secretFields match the field paths of the secret fields.
var secretFields = regexp.MustCompile(`^(outbound_)?trunks\[\d+\]\.password$`)

// freeFormFields match the free-form values whose templates are kept.
var freeFormFields = regexp.MustCompile(`^(services\[\d+\]\.(context_graph|agent_config)|operator_config\.escalation)([.\[]|$)`)

// declaredEnv reads the file's env list: valid, distinct names.
func declaredEnv(file string, names []string, doc *yaml.Node) (map[string]bool, error) {
	out := map[string]bool{}
	for i, n := range names {
		field := fmt.Sprintf("env[%d]", i)
		if !validEnvName(n) {
			return nil, &FileError{File: file, Line: lineOf(doc, "env"), Field: field, Reason: fmt.Sprintf("%q is not an environment variable name", n)}
		}
		if out[n] {
			return nil, &FileError{File: file, Line: lineOf(doc, "env"), Field: field, Reason: fmt.Sprintf("%s is declared twice", n)}
		}
		out[n] = true
	}
	return out, nil
}

// checkReferences walks the document and refuses a ${NAME} reference
// outside the secret fields (see above).
func checkReferences(file string, doc *yaml.Node, declared map[string]bool) error {
	var walk func(n *yaml.Node, path string, depth int) error
	walk = func(n *yaml.Node, path string, depth int) error {
		if depth > maxDepth {
			return nil // checkNode has refused it already
		}
		for d := 0; n.Kind == yaml.AliasNode && n.Alias != nil && d <= maxDepth; d++ {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := join(path, k.Value)
				if k.Tag == "!!merge" {
					p = path
				}
				if err := walk(v, p, depth+1); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				if err := walk(c, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			names := references(n.Value)
			if len(names) == 0 || secretFields.MatchString(path) || path == "env" || strings.HasPrefix(path, "env[") {
				return nil
			}
			for _, name := range names {
				if freeFormFields.MatchString(path) && !declared[name] && !strings.HasPrefix(name, "EDGE_") {
					continue
				}
				return &FileError{File: file, Line: n.Line, Field: path,
					Reason: fmt.Sprintf("${%s}: environment variables are expanded only in secret fields (trunks[].password)", name)}
			}
		}
		return nil
	}
	return walk(doc, "", 0)
}

// references returns the names of the unescaped ${NAME} references in s
// (a malformed reference counts, under its text).
func references(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return out
		}
		if i > 0 && s[i-1] == '$' {
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return append(out, s[i+2:])
		}
		out = append(out, s[i+2:i+end])
		s = s[i+end+1:]
	}
}
