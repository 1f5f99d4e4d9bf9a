package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// CallContext is what the service of a call reads with its call token
// (GET /v1/call-context, design section 12): its call, its workspace's
// agent-behaviour configuration and the data sources it may connect to.
type CallContext struct {
	CallID      string      `json:"call_id"`
	WorkspaceID string      `json:"workspace_id"`
	Environment Environment `json:"environment"`
	Call        CallRecord  `json:"call"`
	// Service is the call's service with its context graph and agent
	// config; null when it was deleted during the call.
	Service        *Service       `json:"service"`
	VoiceSettings  VoiceSettings  `json:"voice_settings"`
	SafetyPolicies []SafetyPolicy `json:"safety_policies"`
	// RegulationTemplates are the templates the safety policies
	// reference, in full.
	RegulationTemplates []RegulationTemplate `json:"regulation_templates"`
	OperatorConfig      OperatorConfig       `json:"operator_config"`
	DataSources         []AgentDataSource    `json:"data_sources"`
	// Caller is the world model's entity of the caller (a CallerEntity,
	// with this call among its recent calls once projected); null for an
	// anonymous or not yet projected caller.
	Caller json.RawMessage `json:"caller"`
}

// AgentDataSource is a data source as an agent sees it: the credentials
// only when the data source has agent_access.
type AgentDataSource struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	Kind        string            `json:"kind"`
	BaseURL     string            `json:"base_url"`
	AgentAccess bool              `json:"agent_access"`
	Credentials map[string]string `json:"credentials,omitempty"`
}

// ForAgent is d as an agent of its workspace sees it.
func (d DataSource) ForAgent() AgentDataSource {
	a := AgentDataSource{ID: d.ID, Name: d.Name, Kind: d.Kind, BaseURL: d.BaseURL, AgentAccess: d.AgentAccess}
	if d.AgentAccess && len(d.Credentials) > 0 {
		a.Credentials = d.Credentials
	}
	return a
}

// CallContext reads the context of call callID of workspace ws, whose
// service is serviceID, in one read of the workspace's configuration.
func (s *Store) CallContext(ctx context.Context, ws, callID, serviceID string) (*CallContext, error) {
	rec, err := s.GetCall(ctx, ws, callID)
	if err != nil {
		return nil, err
	}
	all, err := s.rdb.HGetAll(ctx, keyCfg(ws)).Result()
	if err != nil {
		return nil, unavailable("read call context", err)
	}
	raw, ok := all[fieldWorkspace]
	if !ok {
		return nil, ErrNotFound
	}
	var w Workspace
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		return nil, fmt.Errorf("decode workspace %s: %w", ws, err)
	}
	cc := &CallContext{
		CallID: callID, WorkspaceID: ws, Environment: w.Environment, Call: rec,
		SafetyPolicies: []SafetyPolicy{}, RegulationTemplates: []RegulationTemplate{}, DataSources: []AgentDataSource{},
	}
	decode := func(field string, v any) error {
		b, ok := all[field]
		if !ok {
			return nil
		}
		if err := json.Unmarshal([]byte(b), v); err != nil {
			return fmt.Errorf("decode %s of %s: %w", field, ws, err)
		}
		return nil
	}
	if _, ok := all[KindService.fieldOf(serviceID)]; ok {
		cc.Service = new(Service)
		if err := decode(KindService.fieldOf(serviceID), cc.Service); err != nil {
			return nil, err
		}
	}
	if err := decode(KindVoiceSettings.field, &cc.VoiceSettings); err != nil {
		return nil, err
	}
	if err := decode(KindOperatorConfig.field, &cc.OperatorConfig); err != nil {
		return nil, err
	}
	templates := map[string]bool{}
	for _, f := range sortedKeys(all) {
		switch {
		case hasPrefix(f, KindSafetyPolicy.field):
			var p SafetyPolicy
			if err := decode(f, &p); err != nil {
				return nil, err
			}
			cc.SafetyPolicies = append(cc.SafetyPolicies, p)
			for _, ref := range p.RegulationTemplates {
				if t, ok := LookupRegulationTemplate(ref); ok && !templates[t.Ref] {
					templates[t.Ref] = true
					cc.RegulationTemplates = append(cc.RegulationTemplates, t)
				}
			}
		case hasPrefix(f, KindDataSource.field):
			var d DataSource
			if err := decode(f, &d); err != nil {
				return nil, err
			}
			d.Credentials = nil
			if d.AgentAccess {
				if err := s.withCredentials(ctx, s.rdb, ws, &d); err != nil {
					return nil, err
				}
			}
			cc.DataSources = append(cc.DataSources, d.ForAgent())
		}
	}
	sort.Slice(cc.RegulationTemplates, func(i, j int) bool { return cc.RegulationTemplates[i].Ref < cc.RegulationTemplates[j].Ref })
	cc.Caller = json.RawMessage("null")
	if n, ok := NormalizeNumber(rec.From); ok && n == rec.From {
		caller, err := s.Entity(ctx, ws, EntityCallers, n)
		switch {
		case err == nil:
			cc.Caller = caller
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	return cc, nil
}

func hasPrefix(s, prefix string) bool { _, ok := cutPrefix(s, prefix); return ok }
