package admin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// buildOpenAPI renders the OpenAPI 3.1 document of routes.
func buildOpenAPI(routes []route) ([]byte, error) {
	paths := map[string]map[string]any{}
	used := map[string]bool{"Error": true}
	for i := range routes {
		rt := &routes[i]
		op, err := operation(rt, used)
		if err != nil {
			return nil, err
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	schemas := map[string]any{}
	for name := range used {
		v, ok := schemaTypes[name]
		if !ok {
			return nil, fmt.Errorf("schema %q of the route table has no type", name)
		}
		schemas[name] = jsonSchema(reflect.TypeOf(v))
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "edge-admin",
			"version": "1",
			"description": "Control-plane API of the telephony edge. Authenticate with Authorization: Bearer <key>: " +
				"an API key acts in its own workspace with its account's current role; the platform token creates " +
				"workspaces and alone sets their limits. Anything of another workspace answers 404.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// operation describes one route.
func operation(rt *route, used map[string]bool) (map[string]any, error) {
	op := map[string]any{
		"operationId": operationID(rt),
		"summary":     rt.summary,
		"tags":        []string{rt.tag},
	}
	var params []any
	for _, seg := range strings.Split(rt.path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.Trim(seg, "{}")
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	for _, q := range rt.query {
		params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.doc, "schema": map[string]any{"type": q.typ}})
	}
	if rt.stream {
		params = append(params, map[string]any{"name": "Last-Event-ID", "in": "header", "description": "Resume a stream after this event id.", "schema": map[string]any{"type": "string"}})
	}
	if rt.request == "PromotionRequest" {
		params = append(params, map[string]any{"name": SourceAuthorizationHeader, "in": "header", "required": true, "description": "Bearer <key of from_workspace, admin or owner>", "schema": map[string]any{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.request != "" {
		used[rt.request] = true
		op["requestBody"] = map[string]any{
			"required": !rt.optionalBody,
			"content":  map[string]any{"application/json": map[string]any{"schema": ref(rt.request)}},
		}
	}
	ok := map[string]any{"description": "Success"}
	switch {
	case rt.response != "" && rt.list:
		used[rt.response] = true
		content := map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"items":       map[string]any{"type": "array", "items": ref(rt.response)},
				"next_cursor": map[string]any{"type": "string", "description": "Cursor of the next page; empty at the end."},
			},
		}}}
		if rt.stream {
			content["text/event-stream"] = map[string]any{"schema": map[string]any{"type": "string", "description": "Server-Sent Events: id = event id, event = type, data = Event JSON."}}
		}
		ok["content"] = content
	case rt.response != "":
		used[rt.response] = true
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.response)}}
	case rt.path == "/metrics":
		ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
	case rt.path == "/v1/openapi.json":
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
	}
	responses := map[string]any{fmt.Sprint(rt.status): ok}
	for _, code := range errorStatuses(rt) {
		responses[fmt.Sprint(code)] = map[string]any{
			"description": errorText[code],
			"content":     map[string]any{"application/json": map[string]any{"schema": ref("Error")}},
		}
	}
	op["responses"] = responses
	if rt.access == public {
		op["security"] = []any{}
	} else {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
	}
	return op, nil
}

var errorText = map[int]string{
	400: "Malformed JSON or unknown field",
	401: "Missing, unknown or revoked token",
	403: "The role does not allow this",
	404: "Not found, or of another workspace",
	409: "Conflict (code promotion_required: change a production workspace by promotion; code quota_exceeded: a platform quota, error.quota names it)",
	413: "Body over 1 MiB, or a field over its own bound (error.field names it)",
	415: "Body is not application/json",
	422: "A field is invalid (error.field names it)",
	429: "Rate limited (see Retry-After)",
	503: "The store (Redis) is unavailable",
}

// errorStatuses lists the error statuses a route can answer.
func errorStatuses(rt *route) []int {
	if rt.access == public {
		if rt.path == "/readyz" {
			return []int{503}
		}
		return nil
	}
	codes := []int{401, 403, 404, 429, 503}
	if rt.request != "" {
		codes = append(codes, 400, 413, 415, 422)
	}
	if rt.method != "GET" {
		codes = append(codes, 409)
	}
	if rt.query != nil && rt.request == "" {
		codes = append(codes, 422)
	}
	sort.Ints(codes)
	return codes
}

// operationID is a unique, readable id: method and path words.
func operationID(rt *route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, seg := range strings.Split(rt.path, "/") {
		seg = strings.Trim(seg, "{}")
		if seg == "" || seg == "v1" {
			continue
		}
		b.WriteByte('_')
		b.WriteString(strings.NewReplacer("-", "_", ".", "_").Replace(seg))
	}
	return b.String()
}
