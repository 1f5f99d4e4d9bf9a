package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/voiceedge/edge/tenancy"
)

// maxFileBytes bounds a workspace file.
const maxFileBytes = 4 << 20

// File is a parsed and validated workspace file: the declared state of
// some kinds of a workspace's configuration. A section that is absent
// leaves its kind alone; a section that is present (even empty) declares
// every item of its kind.
type File struct {
	// Name is the file's name as given, for messages.
	Name string
	// Workspace is the file's workspace id ("" when it names none).
	Workspace string

	// Services, PhoneNumbers, Trunks and SafetyPolicies are the items of
	// the collection sections, in file order; numbers are normalised to
	// E.164 and trunk passwords have their ${VAR} references expanded
	// (only variables the file declares in env: file_env.go).
	Services       []*tenancy.Service
	PhoneNumbers   []*tenancy.PhoneNumber
	Trunks         []*tenancy.Trunk
	OutboundTrunks []*tenancy.OutboundTrunk
	SafetyPolicies []*tenancy.SafetyPolicy
	// VoiceSettings and OperatorConfig are the singletons, nil when their
	// section is absent.
	VoiceSettings  *tenancy.VoiceSettings
	OperatorConfig *tenancy.OperatorConfig

	// declared holds the kind names of the sections present.
	declared map[string]bool
	// where locates each item ("kind/id") in the file.
	where map[string]location
	// env holds the names the file declares in its env list.
	env map[string]bool
}

// location is where an item is declared.
type location struct {
	field string // e.g. services[0]
	line  int
}

// sections maps the file's section names to the kinds they declare, in
// the order the schema documents them.
var sections = []struct {
	name string
	kind tenancy.Kind
}{
	{"services", tenancy.KindService},
	{"phone_numbers", tenancy.KindNumber},
	{"trunks", tenancy.KindTrunk},
	{"outbound_trunks", tenancy.KindOutboundTrunk},
	{"voice_settings", tenancy.KindVoiceSettings},
	{"operator_config", tenancy.KindOperatorConfig},
	{"safety_policies", tenancy.KindSafetyPolicy},
}

// sectionName is the file's name of kind's section.
func sectionName(kind tenancy.Kind) string {
	for _, s := range sections {
		if s.kind.Name == kind.Name {
			return s.name
		}
	}
	return kind.Name
}

// Declares reports whether the file has a section for kind.
func (f *File) Declares(kind tenancy.Kind) bool { return f.declared[kind.Name] }

// Items returns the file's items of kind in file order (a singleton's one
// item, or none when its section is absent).
func (f *File) Items(kind tenancy.Kind) []tenancy.Item {
	var out []tenancy.Item
	switch kind.Name {
	case tenancy.KindService.Name:
		for _, it := range f.Services {
			out = append(out, it)
		}
	case tenancy.KindNumber.Name:
		for _, it := range f.PhoneNumbers {
			out = append(out, it)
		}
	case tenancy.KindTrunk.Name:
		for _, it := range f.Trunks {
			out = append(out, it)
		}
	case tenancy.KindOutboundTrunk.Name:
		for _, it := range f.OutboundTrunks {
			out = append(out, it)
		}
	case tenancy.KindSafetyPolicy.Name:
		for _, it := range f.SafetyPolicies {
			out = append(out, it)
		}
	case tenancy.KindVoiceSettings.Name:
		if f.VoiceSettings != nil {
			out = append(out, f.VoiceSettings)
		}
	case tenancy.KindOperatorConfig.Name:
		if f.OperatorConfig != nil {
			out = append(out, f.OperatorConfig)
		}
	}
	return out
}

// errorAt is a FileError of the item kind/id with field inside it.
func (f *File) errorAt(kind tenancy.Kind, id, field, format string, args ...any) *FileError {
	loc, ok := f.where[kind.Name+"/"+id]
	if !ok {
		loc = location{field: sectionName(kind)}
	}
	if field != "" {
		loc.field += "." + field
	}
	return &FileError{File: f.Name, Line: loc.line, Field: loc.field, Reason: fmt.Sprintf(format, args...)}
}

// LookupEnv finds an environment variable, like os.LookupEnv.
type LookupEnv func(name string) (string, bool)

// LoadFile reads and validates the workspace file at path, expanding
// ${VAR} references of trunk passwords, for the variables the file
// declares in its env list, with lookup (os.LookupEnv when nil).
func LoadFile(path string, lookup LookupEnv) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("workspace file: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("workspace file %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, &FileError{File: path, Reason: fmt.Sprintf("larger than %d bytes", maxFileBytes)}
	}
	return ParseFile(path, data, lookup)
}

// ParseFile parses and validates a workspace file's content; name is used
// in messages. Every problem is a *FileError naming the field.
func ParseFile(name string, data []byte, lookup LookupEnv) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FileError{File: name, Reason: "the file is empty"}
		}
		return nil, &FileError{File: name, Reason: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &FileError{File: name, Line: extra.Line, Reason: "one YAML document per file"}
	}
	if len(root.Content) == 0 {
		return nil, &FileError{File: name, Reason: "the file is empty"}
	}
	doc := root.Content[0]
	if err := checkNode(name, doc, docType, ""); err != nil {
		return nil, err
	}
	var raw fileDoc
	if err := doc.Decode(&raw); err != nil {
		return nil, &FileError{File: name, Reason: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	f := &File{Name: name, Workspace: raw.Workspace, declared: map[string]bool{}, where: map[string]location{}}
	env, err := declaredEnv(name, raw.Env, doc)
	if err != nil {
		return nil, err
	}
	if err := checkReferences(name, doc, env); err != nil {
		return nil, err
	}
	f.env = env
	if doc.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			for _, s := range sections {
				if doc.Content[i].Value == s.name {
					f.declared[s.kind.Name] = true
				}
			}
		}
	}
	if len(f.declared) == 0 {
		return nil, &FileError{File: name, Reason: "declares nothing: expected at least one of services, phone_numbers, trunks, outbound_trunks, voice_settings, operator_config, safety_policies"}
	}
	if f.Workspace != "" && !tenancy.ValidWorkspaceID(f.Workspace) {
		return nil, &FileError{File: name, Line: lineOf(doc, "workspace"), Field: "workspace", Reason: "not a workspace id (ws_...)"}
	}
	if err := f.build(&raw, doc, lookup); err != nil {
		return nil, err
	}
	return f, nil
}

// build turns the decoded document into validated items.
func (f *File) build(raw *fileDoc, doc *yaml.Node, lookup LookupEnv) error {
	for i, s := range raw.Services {
		it := &tenancy.Service{ID: s.ID, Name: s.Name, Target: s.Target}
		var err error
		if it.ContextGraph, err = nodeJSON(f.Name, &s.ContextGraph, fmt.Sprintf("services[%d].context_graph", i)); err != nil {
			return err
		}
		if it.AgentConfig, err = nodeJSON(f.Name, &s.AgentConfig, fmt.Sprintf("services[%d].agent_config", i)); err != nil {
			return err
		}
		if err := f.add(tenancy.KindService, i, it, doc); err != nil {
			return err
		}
		f.Services = append(f.Services, it)
	}
	for i, n := range raw.PhoneNumbers {
		it := &tenancy.PhoneNumber{Number: n.Number, ServiceID: n.ServiceID, Label: n.Label}
		if norm, ok := tenancy.NormalizeNumber(n.Number); ok {
			it.Number = norm
		}
		if err := f.add(tenancy.KindNumber, i, it, doc); err != nil {
			return err
		}
		f.PhoneNumbers = append(f.PhoneNumbers, it)
	}
	for i, t := range raw.Trunks {
		it := &tenancy.Trunk{ID: t.ID, Name: t.Name, AllowedCIDRs: t.AllowedCIDRs,
			DefaultCountryCode: t.DefaultCountryCode, MaxRequestsPerSecond: t.MaxRequestsPerSecond, AcceptsRefer: t.AcceptsRefer,
			MediaEncryption: t.MediaEncryption, RTPLatching: t.RTPLatching}
		var err error
		field := fmt.Sprintf("trunks[%d]", i)
		line := itemLine(doc, "trunks", i)
		it.Username = t.Username // never expanded: checkReferences refused any ${...}
		if it.Password, err = expandEnv(t.Password, lookup, f.env, f.Name, field+".password", line); err != nil {
			return err
		}
		if err := f.add(tenancy.KindTrunk, i, it, doc); err != nil {
			return err
		}
		f.Trunks = append(f.Trunks, it)
	}
	if err := f.buildOutbound(raw, doc, lookup); err != nil {
		return err
	}
	for i, p := range raw.SafetyPolicies {
		it := &tenancy.SafetyPolicy{ID: p.ID, Name: p.Name, Description: p.Description, RegulationTemplates: p.RegulationTemplates}
		for _, c := range p.MonitorConcepts {
			it.MonitorConcepts = append(it.MonitorConcepts, tenancy.MonitorConcept(c))
		}
		for _, r := range p.EscalationRules {
			it.EscalationRules = append(it.EscalationRules, tenancy.EscalationRule(r))
		}
		if err := f.add(tenancy.KindSafetyPolicy, i, it, doc); err != nil {
			return err
		}
		f.SafetyPolicies = append(f.SafetyPolicies, it)
	}
	if f.Declares(tenancy.KindVoiceSettings) {
		v := raw.VoiceSettings
		if v == nil {
			v = &fileVoice{}
		}
		it := &tenancy.VoiceSettings{TTSVoice: v.TTSVoice, Speed: v.Speed, Keyterms: v.Keyterms, SensitiveTopics: v.SensitiveTopics}
		if err := f.add(tenancy.KindVoiceSettings, -1, it, doc); err != nil {
			return err
		}
		f.VoiceSettings = it
	}
	if f.Declares(tenancy.KindOperatorConfig) {
		o := raw.OperatorConfig
		if o == nil {
			o = &fileOperators{}
		}
		it := &tenancy.OperatorConfig{Operators: o.Operators, Modes: o.Modes}
		var err error
		if it.Escalation, err = nodeJSON(f.Name, &o.Escalation, "operator_config.escalation"); err != nil {
			return err
		}
		if err := f.add(tenancy.KindOperatorConfig, -1, it, doc); err != nil {
			return err
		}
		f.OperatorConfig = it
	}
	return nil
}

// add records where item i of kind is, validates it with the tenancy
// validators and refuses a duplicate id.
func (f *File) add(kind tenancy.Kind, i int, it tenancy.Item, doc *yaml.Node) error {
	sec := sectionName(kind)
	loc := location{field: sec, line: lineOf(doc, sec)}
	if i >= 0 {
		loc = location{field: fmt.Sprintf("%s[%d]", sec, i), line: itemLine(doc, sec, i)}
	}
	if err := it.Validate(); err != nil {
		var ve *tenancy.ValidationError
		if errors.As(err, &ve) {
			return &FileError{File: f.Name, Line: loc.line, Field: loc.field + "." + ve.Field, Reason: ve.Reason}
		}
		return &FileError{File: f.Name, Line: loc.line, Field: loc.field, Reason: err.Error()}
	}
	key := kind.Name + "/" + it.ItemID()
	if prev, dup := f.where[key]; dup {
		idField := "id"
		if kind.Name == tenancy.KindNumber.Name {
			idField = "number"
		}
		return &FileError{File: f.Name, Line: loc.line, Field: loc.field + "." + idField,
			Reason: fmt.Sprintf("%q is declared twice (also %s)", it.ItemID(), prev.field)}
	}
	f.where[key] = loc
	return nil
}

// expandEnv replaces ${NAME} references in s with environment variables;
// "$${" stands for a literal "${". A name the file does not declare
// (declared) and an unset or empty variable are errors.
func expandEnv(s string, lookup LookupEnv, declared map[string]bool, file, field string, line int) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", &FileError{File: file, Line: line, Field: field, Reason: "unterminated ${ reference"}
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", &FileError{File: file, Line: line, Field: field, Reason: fmt.Sprintf("${%s} is not an environment variable reference", name)}
		}
		if !declared[name] {
			return "", &FileError{File: file, Line: line, Field: field, Reason: fmt.Sprintf("${%s} is not declared in the file's env list (env: [%s])", name, name)}
		}
		v, ok := lookup(name)
		if !ok || v == "" {
			return "", &FileError{File: file, Line: line, Field: field, Reason: fmt.Sprintf("environment variable %s is not set", name)}
		}
		b.WriteString(s[:i] + v)
		s = s[i+end+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// nodeJSON converts a free-form YAML value (context graphs, agent config,
// escalation) to JSON; an absent or null value is nil.
func nodeJSON(file string, n *yaml.Node, field string) (json.RawMessage, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	v, err := nodeValue(file, n, field, 0, new(int))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &FileError{File: file, Line: n.Line, Field: field, Reason: err.Error()}
	}
	return b, nil
}
