package routing

import (
	"context"
	"errors"
	"maps"

	"github.com/voiceedge/edge/tenancy"
)

// ItemSource is what a Source may offer besides: one phone number or trunk
// of a workspace's routing configuration, with the routing version at the
// read. With it the map applies number and trunk changes by reading the
// items they name instead of the whole workspace. *tenancy.Store
// implements it.
type ItemSource interface {
	LoadRoutingItem(ctx context.Context, ws string, kind tenancy.Kind, id string) (tenancy.RoutingItem, error)
}

var _ ItemSource = (*tenancy.Store)(nil)

// patch brings entry e to routing version want by applying changes (those
// of its workspace after e's version, in order) item by item. It applies
// them only when they are all number or trunk writes, one per version from
// e's version up to want, and every item read reflects exactly version
// want: then the result is what a full load at want would give. ok is false
// when it cannot tell, and the caller loads the workspace whole.
func (m *Map) patch(ctx context.Context, e *entry, changes []tenancy.Change, want int64) (next *entry, ok bool, err error) {
	src, isItems := m.src.(ItemSource)
	if !isItems || e.snap == nil || len(changes) == 0 || int64(len(changes)) != want-e.view.Version {
		return nil, false, nil
	}
	for i, c := range changes {
		if c.Version != e.view.Version+int64(i)+1 || (c.Kind != tenancy.KindNumber.Name && c.Kind != tenancy.KindTrunk.Name) ||
			(c.Op != "create" && c.Op != "update" && c.Op != "delete") || c.ItemID == "" {
			return nil, false, nil
		}
	}
	snap := *e.snap
	snap.Numbers, snap.Trunks, snap.Version = maps.Clone(e.snap.Numbers), maps.Clone(e.snap.Trunks), want
	for _, c := range changes {
		kind := tenancy.KindNumber
		if c.Kind == tenancy.KindTrunk.Name {
			kind = tenancy.KindTrunk
		}
		it, err := src.LoadRoutingItem(ctx, c.WorkspaceID, kind, c.ItemID)
		switch {
		case errors.Is(err, tenancy.ErrUnavailable) || ctx.Err() != nil:
			return nil, false, err
		case err != nil, it.Version != want:
			return nil, false, nil // gone, undecodable or moved on: load it whole
		}
		switch {
		case it.Number != nil:
			snap.Numbers[c.ItemID] = *it.Number
		case it.Trunk != nil:
			snap.Trunks[c.ItemID] = *it.Trunk
		case kind.Name == tenancy.KindNumber.Name:
			delete(snap.Numbers, c.ItemID)
		default:
			delete(snap.Trunks, c.ItemID)
		}
	}
	m.loads++
	next, skipped := compile(&snap, m.loads)
	for _, s := range skipped {
		m.met.badItems.Inc()
		m.log.Error("routing: item left out of the map", "workspace_id", snap.Workspace.ID, "item", s)
	}
	m.met.itemChanges.Add(float64(len(changes)))
	return next, true, nil
}
