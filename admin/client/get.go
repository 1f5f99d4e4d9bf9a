package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// resource is a kind "get" shows.
type resource struct {
	name    string
	aliases []string
	// segment is the path below /v1/workspaces/{ws} ("" for the workspace).
	segment string
	// single resources have no list: one object.
	single bool
	// items can be fetched by id.
	items bool
	// limit is the default number of list entries shown (0: all).
	limit int
	// columns of the table output.
	columns []column
}

// column is a column of a table: its header and the dotted JSON path of
// its value.
type column struct{ header, path string }

// resources are what "get" shows, with their table columns.
var resources = []resource{
	{name: "workspace", aliases: []string{"workspaces", "ws"}, single: true, columns: []column{
		{"ID", "id"}, {"NAME", "name"}, {"ENVIRONMENT", "environment"}, {"STATUS", "status"},
		{"MAX_CALLS", "limits.max_concurrent_calls"}, {"MAX_CPS", "limits.max_cps"},
		{"DIRECT_CHANGES", "settings.allow_direct_changes"}, {"TIMEZONE", "settings.timezone"}}},
	{name: "services", aliases: []string{"service", "svc"}, segment: "services", items: true, columns: []column{
		{"ID", "id"}, {"NAME", "name"}, {"TARGET", "target"}}},
	{name: "phone-numbers", aliases: []string{"phone-number", "numbers", "number"}, segment: "phone-numbers", items: true, columns: []column{
		{"NUMBER", "number"}, {"SERVICE", "service_id"}, {"LABEL", "label"}}},
	{name: "trunks", aliases: []string{"trunk"}, segment: "trunks", items: true, columns: []column{
		{"ID", "id"}, {"NAME", "name"}, {"ALLOWED_CIDRS", "allowed_cidrs"}, {"USERNAME", "username"}}},
	{name: "voice-settings", aliases: []string{"voice"}, segment: "voice-settings", single: true, columns: []column{
		{"TTS_VOICE", "tts_voice"}, {"SPEED", "speed"}, {"KEYTERMS", "keyterms"}, {"SENSITIVE_TOPICS", "sensitive_topics"}}},
	{name: "operator-config", aliases: []string{"operators"}, segment: "operator-config", single: true, columns: []column{
		{"OPERATORS", "operators"}, {"MODES", "modes"}, {"ESCALATION", "escalation"}}},
	{name: "safety-policies", aliases: []string{"safety-policy", "policies"}, segment: "safety-policies", items: true, columns: []column{
		{"ID", "id"}, {"NAME", "name"}, {"TEMPLATES", "regulation_templates"}, {"CONCEPTS", "monitor_concepts"}, {"RULES", "escalation_rules"}}},
	{name: "data-sources", aliases: []string{"data-source"}, segment: "data-sources", items: true, columns: []column{
		{"ID", "id"}, {"KIND", "kind"}, {"BASE_URL", "base_url"}, {"CREDENTIALS", "credentials"}}},
	{name: "accounts", aliases: []string{"account"}, segment: "accounts", items: true, columns: []column{
		{"ID", "id"}, {"NAME", "name"}, {"EMAIL", "email"}, {"ROLE", "role"}, {"CREATED", "created_at"}}},
	{name: "api-keys", aliases: []string{"api-key", "keys"}, segment: "api-keys", items: true, columns: []column{
		{"ID", "id"}, {"ACCOUNT", "account_id"}, {"NAME", "name"}, {"PREFIX", "prefix"}, {"CREATED", "created_at"}}},
	{name: "calls", aliases: []string{"call"}, segment: "calls", items: true, limit: 100, columns: []column{
		{"ID", "id"}, {"STATE", "state"}, {"FROM", "from"}, {"TO", "to"}, {"SERVICE", "service_id"},
		{"STARTED", "started_at"}, {"ENDED", "ended_at"}, {"REASON", "end_reason"}, {"NODE", "node_id"}}},
	{name: "callers", aliases: []string{"caller"}, segment: "entities/callers", items: true, columns: []column{
		{"ID", "id"}, {"CALLS", "calls"}, {"LAST_CALL", "last_call_at"}, {"TALK_S", "talk_time_seconds"},
		{"ESCALATIONS", "escalations"}, {"TRANSFERS", "transfers"}, {"LAST_SERVICE", "last_service_id"}}},
	{name: "service-stats", aliases: []string{"service-stat"}, segment: "entities/services", items: true, columns: []column{
		{"ID", "id"}, {"CALLS", "calls"}, {"ANSWER_RATE", "answer_rate"}, {"AVG_DURATION_S", "average_duration_seconds"}, {"ESCALATIONS", "escalations"}}},
	{name: "number-stats", aliases: []string{"number-stat"}, segment: "entities/numbers", items: true, columns: []column{
		{"ID", "id"}, {"CALLS", "calls"}, {"BY_HOUR", "by_hour"}, {"TIMEZONE", "timezone"}}},
	{name: "events", aliases: []string{"event"}, segment: "events", limit: 100, columns: []column{
		{"ID", "id"}, {"TIME", "time"}, {"TYPE", "type"}, {"CALL", "call_id"}, {"DATA", "data"}}},
}

// resourceByName finds resources by name and alias.
var resourceByName = func() map[string]*resource {
	m := map[string]*resource{}
	for i := range resources {
		r := &resources[i]
		m[r.name] = r
		for _, a := range r.aliases {
			m[a] = r
		}
	}
	return m
}()

// getOptions are the flags of "get" lists.
type getOptions struct {
	active bool
	limit  int
	cursor string
}

// get runs "get KIND [ID]".
func (c *CLI) get(ctx context.Context, args []string) error {
	fs, cm := c.flagSet("get", true, "table", "json")
	var o getOptions
	fs.BoolVar(&o.active, "active", false, "calls: only calls in progress")
	fs.IntVar(&o.limit, "limit", 0, "lists: at most this many entries (default: all; calls and events 100)")
	fs.StringVar(&o.cursor, "cursor", "", "lists: start after this cursor (events: an event id)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(cm, "table", "json"); err != nil {
		return err
	}
	if len(pos) == 0 || len(pos) > 2 {
		return usage("get: expected KIND [ID], KIND one of %s", kindNames())
	}
	r, ok := resourceByName[pos[0]]
	if !ok {
		return usage("get: unknown kind %q, expected one of %s", pos[0], kindNames())
	}
	id := ""
	if len(pos) == 2 {
		if !r.items {
			return usage("get %s takes no id", r.name)
		}
		id = pos[1]
	}
	if o.limit < 0 {
		return usage("get: --limit must not be negative")
	}
	if err := needWorkspace(cm); err != nil {
		return err
	}
	cl, err := c.client(cm)
	if err != nil {
		return err
	}
	return c.show(ctx, cl, cm, r, id, o)
}

func kindNames() string {
	names := make([]string, 0, len(resources))
	for _, r := range resources {
		names = append(names, r.name)
	}
	return strings.Join(names, ", ")
}

// show fetches a resource (one item with id) and writes it as a table or
// JSON.
func (c *CLI) show(ctx context.Context, cl *Client, cm *common, r *resource, id string, o getOptions) error {
	segs := []string{"workspaces", cm.workspace}
	if r.segment != "" {
		segs = append(segs, strings.Split(r.segment, "/")...)
	}
	if id != "" {
		segs = append(segs, id)
	}
	var rows []json.RawMessage
	next := ""
	if r.single || id != "" {
		var one json.RawMessage
		if err := cl.do(ctx, request{method: http.MethodGet, path: pathOf(segs...), out: &one}); err != nil {
			return err
		}
		if cm.output == "json" {
			return writeRawJSON(c.stdout(), one)
		}
		rows = []json.RawMessage{one}
	} else {
		q := url.Values{}
		if o.active {
			q.Set("active", "true")
		}
		limit := o.limit
		if limit == 0 {
			limit = r.limit
		}
		var err error
		rows, next, err = listAll[json.RawMessage](ctx, cl, pathOf(segs...), q, o.cursor, limit)
		if err != nil {
			return err
		}
		if cm.output == "json" {
			if rows == nil {
				rows = []json.RawMessage{}
			}
			b, err := json.Marshal(rows)
			if err != nil {
				return fmt.Errorf("encode output: %w", err)
			}
			return writeRawJSON(c.stdout(), b)
		}
	}
	if err := writeTable(c.stdout(), r.columns, rows); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.stderr(), "more entries: add --cursor %s\n", next)
	}
	return nil
}

// writeRawJSON writes a JSON value indented.
func writeRawJSON(w io.Writer, raw []byte) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return fmt.Errorf("server answered malformed JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// cellWidth bounds a table cell (free-form JSON is cut).
const cellWidth = 60

// cell formats the value at a dotted path of a JSON object for a table.
func cell(obj map[string]any, path string) string {
	var v any = obj
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "-"
		}
		v = m[p]
	}
	var s string
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = fmt.Sprint(x)
	case []any:
		parts := make([]string, 0, len(x))
		scalar := true
		for _, e := range x {
			switch es := e.(type) {
			case string:
				parts = append(parts, es)
			case json.Number:
				parts = append(parts, es.String())
			default:
				scalar = false
			}
		}
		if !scalar {
			b, _ := json.Marshal(x)
			s = string(b)
		} else {
			s = strings.Join(parts, ",")
		}
	case map[string]any:
		if len(x) > 0 && path == "credentials" {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			s = strings.Join(keys, ",")
			break
		}
		b, _ := json.Marshal(x)
		s = string(b)
	default:
		s = fmt.Sprint(x)
	}
	s = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > cellWidth {
		s = string(r[:cellWidth-3]) + "..."
	}
	return s
}
