package tenancy

import (
	"context"
	"encoding/json"
	"sort"
)

// DiffEntry is one change a promotion makes to the target workspace.
type DiffEntry struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	// Op is "create", "update" or "delete".
	Op string `json:"op"`
}

// promotedKinds is what a promotion copies (design section 5): the
// agent-behaviour configuration. Numbers, trunks, data sources, accounts
// and keys are never copied.
var promotedKinds = []Kind{KindService, KindSafetyPolicy, KindVoiceSettings, KindOperatorConfig}

// Promote copies the agent-behaviour configuration of staging workspace
// source into production workspace target and returns the diff. With dryRun
// nothing is written. The operator config's account list stays the
// target's own (accounts are per workspace); its modes and escalation are
// copied. A service the target's numbers still route to is not deleted: the
// promotion fails with ErrConflict naming it, and nothing is written.
func (s *Store) Promote(ctx context.Context, actor Principal, target, source string, dryRun bool) ([]DiffEntry, error) {
	src, err := s.GetWorkspace(ctx, source)
	if err != nil {
		return nil, err
	}
	if src.Environment != EnvStaging {
		return nil, invalid("from_workspace", "only a staging workspace can be promoted")
	}
	srcFields, err := s.rdb.HGetAll(ctx, keyCfg(source)).Result()
	if err != nil {
		return nil, unavailable("read source", err)
	}
	var diff []DiffEntry
	_, err = s.update(ctx, target, func(t *tx) error {
		diff = diff[:0]
		w, err := t.workspace()
		if err != nil {
			return err
		}
		if w.Environment != EnvProduction {
			return conflict("promotion goes into a production workspace; %s is %s", target, w.Environment)
		}
		for _, k := range promotedKinds {
			cur, err := t.fields(k.field)
			if err != nil {
				return err
			}
			want := map[string]string{}
			for f, v := range srcFields {
				if id, ok := cutPrefix(f, k.field); ok && (id == "" || !k.Singleton) {
					want[id] = v
				}
			}
			if k.Name == KindOperatorConfig.Name {
				if v, ok := want[""]; ok {
					want[""] = mergeOperatorConfig(v, cur[""])
				}
			}
			for _, id := range sortedKeys(want) {
				old, exists := cur[id]
				switch {
				case !exists:
					diff = append(diff, DiffEntry{Kind: k.Name, ID: id, Op: "create"})
				case !jsonEqual(old, want[id]):
					diff = append(diff, DiffEntry{Kind: k.Name, ID: id, Op: "update"})
				default:
					continue
				}
				t.sets = append(t.sets, k.fieldOf(id), want[id])
				t.audit(actor, k.Name, id, "promote")
			}
			for _, id := range sortedKeys(cur) {
				if _, ok := want[id]; ok || k.Singleton {
					continue
				}
				if k.Name == KindService.Name {
					if err := t.serviceUnused(id); err != nil {
						return err
					}
				}
				diff = append(diff, DiffEntry{Kind: k.Name, ID: id, Op: "delete"})
				t.del(k.fieldOf(id))
				t.audit(actor, k.Name, id, "promote")
			}
		}
		if dryRun {
			t.sets, t.dels, t.audits = nil, nil, nil
		}
		return nil
	})
	if diff == nil {
		diff = []DiffEntry{}
	}
	return diff, err
}

func mergeOperatorConfig(src, cur string) string {
	var s, c OperatorConfig
	_ = json.Unmarshal([]byte(src), &s)
	_ = json.Unmarshal([]byte(cur), &c)
	s.Operators = c.Operators
	b, _ := json.Marshal(s)
	return string(b)
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
