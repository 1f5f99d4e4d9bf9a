package client

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The schema of a workspace file (documented in configs/README.md). Free-
// form values (context graphs, agent config, escalation) are kept as YAML
// nodes and converted to JSON by nodeValue.
type fileDoc struct {
	Workspace string `yaml:"workspace"`
	// Env declares the environment variables the file's secret fields
	// may reference (file_env.go).
	Env            []string       `yaml:"env"`
	Services       []fileService  `yaml:"services"`
	PhoneNumbers   []fileNumber   `yaml:"phone_numbers"`
	Trunks         []fileTrunk    `yaml:"trunks"`
	OutboundTrunks []fileOutbound `yaml:"outbound_trunks"`
	VoiceSettings  *fileVoice     `yaml:"voice_settings"`
	OperatorConfig *fileOperators `yaml:"operator_config"`
	SafetyPolicies []filePolicy   `yaml:"safety_policies"`
}

type fileService struct {
	ID           string    `yaml:"id"`
	Name         string    `yaml:"name"`
	Target       string    `yaml:"target"`
	ContextGraph yaml.Node `yaml:"context_graph"`
	AgentConfig  yaml.Node `yaml:"agent_config"`
}

type fileNumber struct {
	Number    string `yaml:"number"`
	ServiceID string `yaml:"service_id"`
	Label     string `yaml:"label"`
}

type fileTrunk struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	AllowedCIDRs []string `yaml:"allowed_cidrs"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	// Carrier settings (design section 10).
	DefaultCountryCode   string `yaml:"default_country_code"`
	MaxRequestsPerSecond int    `yaml:"max_requests_per_second"`
	AcceptsRefer         bool   `yaml:"accepts_refer"`
	// Media settings (design section 10).
	MediaEncryption string `yaml:"media_encryption"`
	RTPLatching     string `yaml:"rtp_latching"`
}

// fileOutbound is an outbound trunk; numbers are YAML numbers (float64,
// checked to be whole by build).
type fileOutbound struct {
	ID              string        `yaml:"id"`
	Name            string        `yaml:"name"`
	Gateways        []fileGateway `yaml:"gateways"`
	Username        string        `yaml:"username"`
	Password        string        `yaml:"password"`
	CallerID        fileCallerID  `yaml:"caller_id"`
	MaxCPS          float64       `yaml:"max_cps"`
	AllowedPrefixes []string      `yaml:"allowed_prefixes"`
	RingTimeout     float64       `yaml:"ring_timeout"`
}

type fileGateway struct {
	Host      string  `yaml:"host"`
	Port      float64 `yaml:"port"`
	Transport string  `yaml:"transport"`
	Priority  float64 `yaml:"priority"`
	Weight    float64 `yaml:"weight"`
}

type fileCallerID struct {
	Mode   string `yaml:"mode"`
	Number string `yaml:"number"`
}

type fileVoice struct {
	TTSVoice        string   `yaml:"tts_voice"`
	Speed           float64  `yaml:"speed"`
	Keyterms        []string `yaml:"keyterms"`
	SensitiveTopics []string `yaml:"sensitive_topics"`
}

type fileOperators struct {
	Operators  []string  `yaml:"operators"`
	Modes      []string  `yaml:"modes"`
	Escalation yaml.Node `yaml:"escalation"`
}

type filePolicy struct {
	ID                  string        `yaml:"id"`
	Name                string        `yaml:"name"`
	Description         string        `yaml:"description"`
	MonitorConcepts     []fileConcept `yaml:"monitor_concepts"`
	RegulationTemplates []string      `yaml:"regulation_templates"`
	EscalationRules     []fileRule    `yaml:"escalation_rules"`
}

type fileConcept struct {
	Concept     string `yaml:"concept"`
	Description string `yaml:"description"`
	Severity    string `yaml:"severity"`
}

type fileRule struct {
	Concept   string `yaml:"concept"`
	Condition string `yaml:"condition"`
	Action    string `yaml:"action"`
	Mode      string `yaml:"mode"`
	Target    string `yaml:"target"`
	Message   string `yaml:"message"`
}

var (
	docType  = reflect.TypeFor[fileDoc]()
	nodeType = reflect.TypeFor[yaml.Node]()
)

// maxDepth bounds the nesting of free-form values (and aliases).
const maxDepth = 64

// maxNodes bounds the nodes one free-form value expands to, so that
// aliases of aliases ("billion laughs") cannot blow it up.
const maxNodes = 100_000

// checkNode checks that YAML node n fits Go type t: no unknown keys, lists
// where lists are expected, numbers and booleans where they are, so that
// every mistake is reported with its field path and line.
func checkNode(file string, n *yaml.Node, t reflect.Type, path string) error {
	bad := func(n *yaml.Node, field, format string, args ...any) error {
		return &FileError{File: file, Line: n.Line, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	for depth := 0; n.Kind == yaml.AliasNode; depth++ {
		if depth > maxDepth || n.Alias == nil {
			return bad(n, path, "alias does not resolve")
		}
		n = n.Alias
	}
	if t == nodeType {
		_, err := nodeValue(file, n, path, 0, new(int))
		return err
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return bad(n, orRoot(path), "must be a mapping of %s", strings.Join(yamlKeys(t), ", "))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				if err := checkNode(file, v, t, path); err != nil {
					return err
				}
				continue
			}
			f, ok := fieldByKey(t, k.Value)
			if !ok {
				return bad(k, join(path, k.Value), "unknown field; expected one of %s", strings.Join(yamlKeys(t), ", "))
			}
			if err := checkNode(file, v, f.Type, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return bad(n, path, "must be a list")
		}
		for i, e := range n.Content {
			if err := checkNode(file, e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return bad(n, path, "must be a string")
		}
	case reflect.Float64:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
			return bad(n, path, "must be a number")
		}
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return bad(n, path, "must be a whole number")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return bad(n, path, "must be true or false")
		}
	default:
		return bad(n, path, "unsupported value")
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldByKey finds the field of struct t whose yaml tag is key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// yamlKeys lists the keys struct t accepts.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// nodeValue converts a free-form YAML node to the value encoding/json
// marshals: mappings with string keys, lists, strings, numbers, booleans
// and null. seen counts the nodes visited, aliases expanded.
func nodeValue(file string, n *yaml.Node, path string, depth int, seen *int) (any, error) {
	bad := func(n *yaml.Node, field, reason string) error {
		return &FileError{File: file, Line: n.Line, Field: field, Reason: reason}
	}
	if depth > maxDepth {
		return nil, bad(n, path, "nested too deeply")
	}
	if *seen++; *seen > maxNodes {
		return nil, bad(n, path, fmt.Sprintf("expands to more than %d values (aliases of aliases?)", maxNodes))
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, bad(n, path, "alias does not resolve")
		}
		return nodeValue(file, n.Alias, path, depth+1, seen)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return nil, bad(k, path, "keys must be plain strings (no merge keys or complex keys)")
			}
			if _, dup := m[k.Value]; dup {
				return nil, bad(k, join(path, k.Value), "key is declared twice")
			}
			val, err := nodeValue(file, v, join(path, k.Value), depth+1, seen)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			val, err := nodeValue(file, e, fmt.Sprintf("%s[%d]", path, i), depth+1, seen)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		return l, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, bad(n, path, "unsupported YAML value")
}

// scalarValue decodes a scalar by its resolved tag.
func scalarValue(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, err
		}
		if f, ok := v.(float64); ok && (f != f || f > 1e308 || f < -1e308) {
			return strconv.FormatFloat(f, 'g', -1, 64), nil // .nan, .inf: not JSON numbers
		}
		return v, nil
	}
	return n.Value, nil
}

// lineOf is the line of key's value in mapping doc (0 when absent).
func lineOf(doc *yaml.Node, key string) int {
	if doc.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == key {
			return doc.Content[i+1].Line
		}
	}
	return 0
}

// itemLine is the line of item i of list section key of doc.
func itemLine(doc *yaml.Node, key string, i int) int {
	if doc.Kind != yaml.MappingNode {
		return 0
	}
	for j := 0; j+1 < len(doc.Content); j += 2 {
		if doc.Content[j].Value == key {
			list := doc.Content[j+1]
			for list.Kind == yaml.AliasNode && list.Alias != nil {
				list = list.Alias
			}
			if list.Kind == yaml.SequenceNode && i < len(list.Content) {
				return list.Content[i].Line
			}
			return list.Line
		}
	}
	return 0
}

// sortedIDs returns the keys of m sorted.
func sortedIDs[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
