package operators

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/tenancy"
)

// registry holds the operators on calls of this node: who joined them
// (workspace, account, key) so that each is checked again every
// RecheckInterval, and a watcher per operator that records its leaving.
type registry struct {
	h       *Handler
	mu      sync.Mutex
	m       map[string]*entry // by operator id
	joining map[string]int    // call id -> joins under way (reserve)
	wg      sync.WaitGroup    // one per watcher
}

// entry is one operator of this node.
type entry struct {
	op        *media.Operator
	ws        string
	callID    string
	keyID     string
	accountID string
	log       *slog.Logger

	mu     sync.Mutex
	reason string // why the edge took it off the call, once set
}

func newRegistry(h *Handler) *registry {
	return &registry{h: h, m: map[string]*entry{}, joining: map[string]int{}}
}

// reserve holds one of the max operator places of a call for a join under
// way, counting the operators on it and the other joins under way, so that
// concurrent joins can't together pass the cap. release gives the place
// back once the join has failed or its operator is added.
func (g *registry) reserve(callID string, max int) (release func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.joining[callID]
	for _, e := range g.m {
		if e.callID == callID {
			n++
		}
	}
	if n >= max {
		return nil, false
	}
	g.joining[callID]++
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.joining[callID]--; g.joining[callID] <= 0 {
			delete(g.joining, callID)
		}
	}, true
}

// add records a new operator, writes its presence and operator.joined, and
// watches it until it leaves.
func (g *registry) add(e *entry) {
	g.mu.Lock()
	g.m[e.op.ID()] = e
	g.wg.Add(1)
	g.mu.Unlock()
	g.h.metrics.active.Inc()
	g.h.putPresence(e)
	g.h.event(e.ws, tenancy.EventOperatorJoined, e.callID, map[string]any{
		"operator_id": e.op.ID(), "account_id": e.accountID, "mode": string(e.op.Mode()),
	})
	go g.watch(e)
}

// watch waits for the operator to leave, for whatever reason, and records
// it: presence removed, operator.left with the reason.
func (g *registry) watch(e *entry) {
	defer g.wg.Done()
	<-e.op.Done()
	reason := e.closedFor()
	if reason == "" {
		reason = reasonDisconnected
		if _, ok := g.h.calls.Call(e.callID); !ok {
			reason = reasonCallEnded
		}
	}
	g.mu.Lock()
	delete(g.m, e.op.ID())
	g.mu.Unlock()
	g.h.metrics.active.Dec()
	g.h.metrics.left.WithLabelValues(reason).Inc()
	ctx, cancel := context.WithTimeout(context.Background(), g.h.cfg.StoreTimeout)
	defer cancel()
	if err := g.h.store.RemoveOperator(ctx, e.ws, e.op.ID()); err != nil {
		e.log.Warn("remove operator presence", "error", err)
	}
	g.h.eventCtx(ctx, e.ws, tenancy.EventOperatorLeft, e.callID, map[string]any{
		"operator_id": e.op.ID(), "account_id": e.accountID, "mode": string(e.op.Mode()), "reason": reason,
	})
	e.log.Info("operator left", "reason", reason)
}

// close takes the operator off its call for reason (the first reason
// given wins).
func (e *entry) close(reason string) {
	e.mu.Lock()
	if e.reason == "" {
		e.reason = reason
	}
	e.mu.Unlock()
	_ = e.op.Close()
}

func (e *entry) closedFor() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reason
}

// get returns operator id if it is on call callID of workspace ws: an
// operator of another call or workspace is not found.
func (g *registry) get(ws, callID, id string) (*entry, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.m[id]
	if !ok || e.ws != ws || e.callID != callID {
		return nil, false
	}
	return e, true
}

func (g *registry) all() []*entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*entry, 0, len(g.m))
	for _, e := range g.m {
		out = append(out, e)
	}
	return out
}

// closeAll takes every operator off its call (shutdown) and waits for
// their leaving to be recorded.
func (g *registry) closeAll() {
	for _, e := range g.all() {
		e.close(reasonShutdown)
	}
	g.wg.Wait()
}

// recheck checks every operator again, as if it joined now: its key still
// exists, its account still exists with a role that may operate, and the
// workspace's operator config still allows the account in its current
// mode. One that fails is dropped. A store that cannot be reached drops
// nobody (the check is repeated at the next tick). Those that pass have
// their presence renewed.
func (g *registry) recheck(ctx context.Context) {
	entries := g.all()
	if len(entries) == 0 {
		return
	}
	configs := map[string]*tenancy.OperatorConfig{}
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, g.h.cfg.StoreTimeout)
		reason, err := g.h.checkOperator(sctx, e, configs)
		cancel()
		switch {
		case err != nil:
			e.log.Warn("recheck operator", "error", err)
		case reason != "":
			e.log.Info("operator no longer allowed on the call", "reason", reason)
			e.close(reason)
		default:
			g.h.putPresence(e)
		}
	}
}

// checkOperator returns why e may no longer be on its call, or "".
// configs caches the operator config of each workspace for one recheck.
func (h *Handler) checkOperator(ctx context.Context, e *entry, configs map[string]*tenancy.OperatorConfig) (string, error) {
	acct, err := h.store.GetAccount(ctx, e.ws, e.accountID)
	if err != nil {
		if errors.Is(err, tenancy.ErrNotFound) {
			return reasonAccountGone, nil
		}
		return "", err
	}
	if _, err := h.store.GetAPIKey(ctx, e.ws, e.keyID); err != nil {
		if errors.Is(err, tenancy.ErrNotFound) {
			return reasonKeyRevoked, nil
		}
		return "", err
	}
	if !acct.Role.Allows(tenancy.ActionOperate) {
		return reasonRoleRevoked, nil
	}
	cfg, ok := configs[e.ws]
	if !ok {
		if cfg, err = h.operatorConfig(ctx, e.ws); err != nil {
			if errors.Is(err, tenancy.ErrNotFound) {
				return reasonNotAllowed, nil
			}
			return "", err
		}
		configs[e.ws] = cfg
	}
	if !cfg.Allows(e.accountID, string(e.op.Mode())) {
		return reasonNotAllowed, nil
	}
	return "", nil
}

// operatorConfig reads the operator config of ws (its zero value, which
// allows nobody, when never set).
func (h *Handler) operatorConfig(ctx context.Context, ws string) (*tenancy.OperatorConfig, error) {
	item, err := h.store.Get(ctx, ws, tenancy.KindOperatorConfig, "")
	if err != nil {
		return nil, err
	}
	cfg, ok := item.(*tenancy.OperatorConfig)
	if !ok {
		return nil, errors.New("operator config of an unexpected type")
	}
	return cfg, nil
}

// putPresence writes (renews) e's presence record, so that every node
// lists who is on the call.
func (h *Handler) putPresence(e *entry) {
	select {
	case <-e.op.Done():
		return // left: its watcher removes the record
	default:
	}
	ctx, cancel := h.storeCtx()
	defer cancel()
	rec := tenancy.OperatorRecord{
		ID: e.op.ID(), CallID: e.callID, AccountID: e.accountID, Mode: string(e.op.Mode()),
		Muted: e.op.Muted(), NodeID: h.cfg.NodeID, JoinedAt: e.op.Stats().JoinedAt.UTC(),
	}
	if err := h.store.PutOperator(ctx, e.ws, rec, h.cfg.OperatorLease); err != nil {
		e.log.Warn("write operator presence", "error", err)
	}
}

// event appends an event to workspace ws's stream.
func (h *Handler) event(ws, typ, callID string, data map[string]any) {
	ctx, cancel := h.storeCtx()
	defer cancel()
	h.eventCtx(ctx, ws, typ, callID, data)
}

func (h *Handler) eventCtx(ctx context.Context, ws, typ, callID string, data map[string]any) {
	b, err := json.Marshal(data)
	if err != nil {
		return
	}
	e := tenancy.Event{Type: typ, Time: time.Now().UTC(), CallID: callID, Data: b}
	if _, err := h.store.AppendEvent(ctx, ws, e); err != nil {
		h.log.Warn("append event", "type", typ, "workspace_id", ws, "call_id", callID, "error", err)
	}
}
