package admin

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// errorBody is the body of every error response.
type errorBody struct {
	Error apiError `json:"error"`
}

// schemaTypes names the Go types of request and response bodies; the
// route table refers to them by name and the OpenAPI document describes
// them from the types themselves, so the two cannot drift apart.
var schemaTypes = map[string]any{
	"Status":             statusBody{},
	"Error":              errorBody{},
	"NewWorkspace":       newWorkspaceBody{},
	"CreatedWorkspace":   createdWorkspace{},
	"Workspace":          tenancy.Workspace{},
	"WorkspacePatch":     workspacePatch{},
	"Account":            tenancy.Account{},
	"NewAccount":         newAccountBody{},
	"AccountUpdate":      accountUpdate{},
	"CreatedAccount":     createdAccount{},
	"APIKey":             tenancy.APIKey{},
	"NewAPIKey":          newKeyBody{},
	"CreatedAPIKey":      createdKey{},
	"Service":            tenancy.Service{},
	"PhoneNumber":        phoneNumberView{},
	"Trunk":              tenancy.Trunk{},
	"OutboundTrunk":      tenancy.OutboundTrunk{},
	"SafetyPolicy":       tenancy.SafetyPolicy{},
	"RegulationTemplate": tenancy.RegulationTemplate{},
	"DataSource":         tenancy.DataSource{},
	"VoiceSettings":      tenancy.VoiceSettings{},
	"OperatorConfig":     tenancy.OperatorConfig{},
	"Billing":            tenancy.Billing{},
	"Call":               tenancy.CallRecord{},
	"Event":              tenancy.Event{},
	"NewEvent":           newEventBody{},
	"Entity":             json.RawMessage{},
	"RebuildResult":      rebuildResult{},
	"CallContext":        tenancy.CallContext{},
	"HangupRequest":      hangupBody{},
	"DialRequest":        dialBody{},
	"HangupAccepted":     hangupAccepted{},
	"PromotionRequest":   promotionBody{},
	"PromotionResult":    promotionResult{},
}

// writeOnly are fields accepted on writes and never returned.
var writeOnly = map[string]bool{"password": true, "credentials": true}

// storeOnly are fields the store sets and the API neither returns nor
// takes (a trunk's digest HA1s: what a client sends there is ignored).
var storeOnly = map[string]bool{"ha1": true}

var (
	timeType = reflect.TypeFor[time.Time]()
	// agentDataSourceType returns the credentials a data source releases
	// to agents: not write-only there.
	agentDataSourceType = reflect.TypeFor[tenancy.AgentDataSource]()
	rawType             = reflect.TypeFor[json.RawMessage]()
	enums               = map[reflect.Type][]string{
		reflect.TypeFor[tenancy.Role]():        {"owner", "admin", "member", "viewer"},
		reflect.TypeFor[tenancy.Environment](): {"production", "staging", "development"},
		reflect.TypeFor[tenancy.Status]():      {"active", "suspended"},
	}
)

// jsonSchema describes how encoding/json renders values of t.
func jsonSchema(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawType:
		return map[string]any{"type": "object"}
	}
	if e, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": e}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": jsonSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": jsonSchema(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		structFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

// structFields adds the JSON fields of struct t to props, flattening
// embedded structs as encoding/json does (outer fields win).
func structFields(t reflect.Type, props map[string]any) {
	var direct []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, props)
				continue
			}
		}
		if f.IsExported() {
			direct = append(direct, f)
		}
	}
	for _, f := range direct {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if storeOnly[name] {
			continue
		}
		s := jsonSchema(f.Type)
		if writeOnly[name] && t != agentDataSourceType {
			s["writeOnly"] = true
		}
		props[name] = s
	}
}
