package client

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/voiceedge/edge/tenancy"
)

// Op is what apply does with one item; its string is the mark apply
// prints.
type Op string

// The ops.
const (
	OpCreate    Op = "+"
	OpUpdate    Op = "~"
	OpUnchanged Op = "="
	OpDelete    Op = "-"
)

// Change is one item of a plan.
type Change struct {
	// Op is what is done with the item.
	Op Op
	// Kind is the item's kind.
	Kind tenancy.Kind
	// ID is the item's id ("" for a singleton).
	ID string
	// Fields are the top-level fields an update changes.
	Fields []string
	// Item is what is written (create and update).
	Item tenancy.Item
}

// String is the line apply prints: "+ services/front-desk",
// "~ voice-settings (speed)", "= trunks/carrier-a", "- phone-numbers/+1...".
func (c Change) String() string {
	s := string(c.Op) + " " + c.Kind.Name
	if c.ID != "" {
		s += "/" + c.ID
	}
	if c.Op == OpUpdate && len(c.Fields) > 0 {
		s += " (" + strings.Join(c.Fields, ", ") + ")"
	}
	return s
}

// Plan is what an apply does to a workspace, in the order it does it.
type Plan struct {
	// Workspace is the target workspace id.
	Workspace string
	// Changes holds every declared item (unchanged ones too) and every
	// deletion, in the order apply runs them.
	Changes []Change
}

// Counts returns how many items are created, updated, unchanged and
// deleted.
func (p *Plan) Counts() (created, updated, unchanged, deleted int) {
	for _, c := range p.Changes {
		switch c.Op {
		case OpCreate:
			created++
		case OpUpdate:
			updated++
		case OpUnchanged:
			unchanged++
		case OpDelete:
			deleted++
		}
	}
	return
}

// HasChanges reports whether the plan writes anything.
func (p *Plan) HasChanges() bool {
	c, u, _, d := p.Counts()
	return c+u+d > 0
}

// Summary is the plan's last line: "2 created, 1 updated, 5 unchanged,
// 0 deleted", or "no changes (5 unchanged)".
func (p *Plan) Summary() string {
	c, u, n, d := p.Counts()
	if c+u+d == 0 {
		return fmt.Sprintf("no changes (%d unchanged)", n)
	}
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d deleted", c, u, n, d)
}

// ApplyOptions change what apply does.
type ApplyOptions struct {
	// Prune deletes items of a declared section that the file does not
	// list. Sections absent from the file are never pruned.
	Prune bool
	// DryRun plans and prints without writing.
	DryRun bool
	// ResendSecrets sends trunks' write-only passwords even when nothing
	// else of the trunk changed (the server stores them only if they
	// differ); without it such trunks are unchanged, since a password
	// cannot be read back to compare.
	ResendSecrets bool
}

// phases orders the writes: trunks, services and policies before the
// numbers that route to them; numbers removed before the services they
// routed to.
var phases = []struct {
	kind   tenancy.Kind
	delete bool
}{
	{tenancy.KindTrunk, false},
	{tenancy.KindService, false},
	{tenancy.KindSafetyPolicy, false},
	{tenancy.KindVoiceSettings, false},
	{tenancy.KindOperatorConfig, false},
	{tenancy.KindNumber, false},
	// Outbound trunks after numbers (a fixed caller id is a number of the
	// workspace), deleted before them.
	{tenancy.KindOutboundTrunk, false},
	{tenancy.KindOutboundTrunk, true},
	{tenancy.KindNumber, true},
	{tenancy.KindService, true},
	{tenancy.KindSafetyPolicy, true},
	{tenancy.KindTrunk, true},
}

// Plan reads workspace ws through the API and returns what applying f
// would do. It refuses, before anything is written, a file that routes a
// number to a service that would not exist, a prune that would delete a
// service still routed to, and agent-behaviour changes to a guarded
// production workspace.
func (c *Client) Plan(ctx context.Context, f *File, ws string, opts ApplyOptions) (*Plan, error) {
	w, err := c.Workspace(ctx, ws)
	if err != nil {
		return nil, err
	}
	current := map[string]map[string]tenancy.Item{}
	for _, s := range sections {
		if !f.Declares(s.kind) && s.kind.Name != tenancy.KindService.Name && s.kind.Name != tenancy.KindNumber.Name {
			continue
		}
		items, err := c.Items(ctx, ws, s.kind)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.kind.Name, err)
		}
		m := make(map[string]tenancy.Item, len(items))
		for _, it := range items {
			m[it.ItemID()] = it
		}
		current[s.kind.Name] = m
	}
	p := &Plan{Workspace: ws}
	byPhase := map[string][]Change{}
	for _, s := range sections {
		if !f.Declares(s.kind) {
			continue
		}
		cur := current[s.kind.Name]
		listed := map[string]bool{}
		for _, it := range f.Items(s.kind) {
			id := it.ItemID()
			listed[id] = true
			byPhase[phaseKey(s.kind, false)] = append(byPhase[phaseKey(s.kind, false)], diffItem(s.kind, it, cur[id], opts))
		}
		if !opts.Prune || s.kind.Singleton {
			continue
		}
		for _, id := range sortedIDs(cur) {
			if !listed[id] {
				byPhase[phaseKey(s.kind, true)] = append(byPhase[phaseKey(s.kind, true)], Change{Op: OpDelete, Kind: s.kind, ID: id})
			}
		}
	}
	for _, ph := range phases {
		p.Changes = append(p.Changes, byPhase[phaseKey(ph.kind, ph.delete)]...)
	}
	if err := checkRoutes(f, p, current, ws); err != nil {
		return nil, err
	}
	if err := checkGuard(f, p, w); err != nil {
		return nil, err
	}
	return p, nil
}

func phaseKey(k tenancy.Kind, del bool) string { return fmt.Sprint(k.Name, del) }

// diffItem compares a declared item with the current one (nil: absent).
func diffItem(kind tenancy.Kind, want, cur tenancy.Item, opts ApplyOptions) Change {
	ch := Change{Kind: kind, ID: want.ItemID(), Item: want}
	if cur == nil && !kind.Singleton {
		ch.Op = OpCreate
		return ch
	}
	if cur == nil {
		cur = kind.New()
	}
	// Write-only fields cannot be read back: compare what the API shows.
	ch.Fields = changedFields(tenancy.Redacted(want), cur)
	ch.Op = OpUpdate
	if len(ch.Fields) == 0 {
		ch.Op = OpUnchanged
		if t, ok := want.(*tenancy.Trunk); ok && opts.ResendSecrets && t.Password != "" {
			ch.Op, ch.Fields = OpUpdate, []string{"password"}
		}
		if t, ok := want.(*tenancy.OutboundTrunk); ok && opts.ResendSecrets && t.Password != "" {
			ch.Op, ch.Fields = OpUpdate, []string{"password"}
		}
	}
	return ch
}

// changedFields returns the top-level JSON fields that differ between a
// and b, treating null, "", [] and {} as absent (what the API omits or
// defaults).
func changedFields(a, b tenancy.Item) []string {
	ma, mb := canonical(a), canonical(b)
	var out []string
	for k, va := range ma {
		if vb, ok := mb[k]; !ok || !jsonEqual(va, vb) {
			out = append(out, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// canonical is an item's JSON object with empty values dropped.
func canonical(it tenancy.Item) map[string]any {
	b, err := json.Marshal(it)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	out, _ := dropEmpty(m).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// dropEmpty removes null, "", [] and {} values from maps, recursively; an
// empty result is nil.
func dropEmpty(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
		for i := range x {
			x[i] = dropEmpty(x[i])
		}
	case map[string]any:
		for k, e := range x {
			if e = dropEmpty(e); e == nil {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		if len(x) == 0 {
			return nil
		}
	}
	return v
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// checkRoutes refuses a plan after which a number would route to a
// service that does not exist: a number of the file whose service is
// neither in the file nor in the workspace, or a pruned service that a
// remaining number still routes to.
func checkRoutes(f *File, p *Plan, current map[string]map[string]tenancy.Item, ws string) error {
	services := map[string]bool{}
	for id := range current[tenancy.KindService.Name] {
		services[id] = true
	}
	numbers := map[string]string{} // number -> service
	for id, it := range current[tenancy.KindNumber.Name] {
		numbers[id] = it.(*tenancy.PhoneNumber).ServiceID
	}
	for _, c := range p.Changes {
		switch {
		case c.Op == OpDelete && c.Kind.Name == tenancy.KindService.Name:
			delete(services, c.ID)
		case c.Op == OpDelete && c.Kind.Name == tenancy.KindNumber.Name:
			delete(numbers, c.ID)
		case c.Kind.Name == tenancy.KindService.Name:
			services[c.ID] = true
		case c.Kind.Name == tenancy.KindNumber.Name:
			numbers[c.ID] = c.Item.(*tenancy.PhoneNumber).ServiceID
		}
	}
	for _, n := range f.PhoneNumbers {
		if !services[n.ServiceID] {
			return f.errorAt(tenancy.KindNumber, n.Number, "service_id",
				"no service %q in the file or in workspace %s (a production workspace gets its services by promotion from staging: run edge-admin promote first)", n.ServiceID, ws)
		}
	}
	for _, number := range sortedIDs(numbers) {
		if svc := numbers[number]; !services[svc] {
			return f.errorAt(tenancy.KindService, "", "", "pruning service %q would leave %s without a route: list the service, or route or remove the number", svc, number)
		}
	}
	return nil
}

// checkGuard refuses agent-behaviour changes to a production workspace
// that does not allow direct changes, before anything is written (the
// server refuses them too, one write too late for an all-or-nothing
// apply).
func checkGuard(f *File, p *Plan, w tenancy.Workspace) error {
	if !w.Guarded() {
		return nil
	}
	var refused []string
	for _, c := range p.Changes {
		if c.Kind.Behaviour && c.Op != OpUnchanged {
			refused = append(refused, c.String())
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("%w: workspace %s is a production workspace and these are agent-behaviour configuration: %s. "+
		"Change them in a staging workspace and promote it (edge-admin promote --workspace %s --from <staging workspace> --source-key <staging key>), "+
		"or have the owner set settings.allow_direct_changes; the file %s was not applied, nothing was written",
		ErrPromotionRequired, w.ID, strings.Join(refused, "; "), w.ID, f.Name)
}
