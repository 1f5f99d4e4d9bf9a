package tenancy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// The routing hash {ws:<id>}:routing is what edges load: a projection of
// the workspace hash holding only what routing needs, written in the same
// MULTI/EXEC as the workspace hash (tx.commit), so the two never disagree.
//
//	workspace        the workspace (id, name, environment, status, limits, settings)
//	version          the routing version: bumped only by routing changes
//	service:<id>     {id, name, target}: no context graph, no agent config
//	number:<e164>    the phone number
//	trunk:<id>       the trunk with its digest HA1s, never a password
//	outbound_trunk:<id>  the outbound trunk without its password
//	voice_settings, operator_config
//
// Accounts, API keys, billing, safety policies, data sources, context
// graphs and agent configs never enter it; a write of those does not move
// the routing version, so edges do not reload for it. The edge's Redis ACL
// user reads this hash and not the secrets hash (README, "Redis ACL").
func keyRouting(ws string) string { return wsTag(ws) + ":routing" }

// routingValue returns what field of the workspace hash, holding value,
// becomes in the routing hash; ok is false for fields routing does not
// read.
func (s *Store) routingValue(field string, value []byte) (out []byte, ok bool, err error) {
	switch {
	case field == fieldWorkspace, field == KindVoiceSettings.field, field == KindOperatorConfig.field,
		strings.HasPrefix(field, KindNumber.field):
		return value, true, nil
	case strings.HasPrefix(field, KindService.field):
		var sv Service
		if err := json.Unmarshal(value, &sv); err != nil {
			return nil, false, fmt.Errorf("decode %s: %w", field, err)
		}
		out, err := json.Marshal(Service{ID: sv.ID, Name: sv.Name, Target: sv.Target})
		return out, true, err
	case strings.HasPrefix(field, KindTrunk.field):
		var tr Trunk
		if err := json.Unmarshal(value, &tr); err != nil {
			return nil, false, fmt.Errorf("decode %s: %w", field, err)
		}
		if tr.Password != "" { // written before passwords were kept as HA1
			tr.HA1 = NewDigestHA1(s.policy.Realm, tr.Username, tr.Password)
			tr.Password = ""
		}
		out, err := json.Marshal(tr)
		return out, true, err
	case strings.HasPrefix(field, KindOutboundTrunk.field):
		var ot OutboundTrunk
		if err := json.Unmarshal(value, &ot); err != nil {
			return nil, false, fmt.Errorf("decode %s: %w", field, err)
		}
		out, err := json.Marshal(ot.Redacted()) // never the password
		return out, true, err
	}
	return nil, false, nil
}

// isRoutingField reports whether field of the workspace hash is projected
// into the routing hash.
func isRoutingField(field string) bool {
	return field == fieldWorkspace || field == KindVoiceSettings.field || field == KindOperatorConfig.field ||
		strings.HasPrefix(field, KindNumber.field) || strings.HasPrefix(field, KindService.field) ||
		strings.HasPrefix(field, KindTrunk.field) || strings.HasPrefix(field, KindOutboundTrunk.field)
}

// RebuildRouting writes the routing hash of every workspace that has
// none (a workspace stored before the routing hash existed). edge-admin
// runs it at start; it is idempotent and safe beside live writers (each
// rebuild is one transaction on the workspace).
func (s *Store) RebuildRouting(ctx context.Context) (rebuilt int, err error) {
	ids, err := s.ListWorkspaceIDs(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		has, err := s.rdb.HExists(ctx, keyRouting(id), fieldWorkspace).Result()
		if err != nil {
			return rebuilt, unavailable("check routing", err)
		}
		if has {
			continue
		}
		_, err = s.update(ctx, id, func(t *tx) error {
			all, err := t.rtx.HGetAll(ctx, keyCfg(id)).Result()
			if err != nil {
				return err
			}
			if _, ok := all[fieldWorkspace]; !ok {
				return nil // deleted meanwhile
			}
			t.rebuild = all
			t.audit(PlatformPrincipal, "workspace", id, "rebuild_routing")
			return nil
		})
		if err != nil {
			return rebuilt, err
		}
		rebuilt++
	}
	return rebuilt, nil
}
