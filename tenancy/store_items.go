package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// PutMode says what a Put expects to find.
type PutMode int

// The put modes.
const (
	// Create fails with ErrConflict when the item exists.
	Create PutMode = iota
	// Upsert creates or replaces.
	Upsert
)

// PutResult says what a Put did.
type PutResult struct {
	Created bool
	Changed bool
}

// Put validates item and writes it into workspace ws, enforcing the
// production guard, the global uniqueness of phone numbers and references
// between items. An item equal to the stored one is not written again.
func (s *Store) Put(ctx context.Context, actor Principal, ws string, kind Kind, item Item, mode PutMode) (PutResult, error) {
	return s.put(ctx, actor, ws, kind, item, mode, nil)
}

// put is Put; pick, when not nil, chooses the item's id inside the
// transaction (Create of an item without id).
func (s *Store) put(ctx context.Context, actor Principal, ws string, kind Kind, item Item, mode PutMode, pick func(t *tx) error) (PutResult, error) {
	if !ValidWorkspaceID(ws) {
		return PutResult{}, ErrNotFound
	}
	if n, ok := item.(*PhoneNumber); ok {
		norm, valid := NormalizeNumber(n.Number)
		if valid {
			n.Number = norm
		}
	}
	tr, isTrunk := item.(*Trunk)
	if isTrunk {
		tr.HA1 = nil // only the store sets it, from the password
	}
	ot, isOutbound := item.(*OutboundTrunk)
	if isOutbound {
		ot.PasswordSealed = "" // only the store seals (outbound_secret.go)
	}
	// A replace may omit write-only fields (what GET shows), which it then
	// takes from the stored item: such an item is validated again after
	// that, inside the transaction.
	revalidate := false
	if err := item.Validate(); err != nil {
		if _, ok := item.(secretKeeper); !ok || mode != Upsert || item.ItemID() == "" {
			return PutResult{}, err
		}
		revalidate = true
	}
	if err := s.checkPolicy(item); err != nil {
		return PutResult{}, err
	}
	id := item.ItemID()
	field := kind.fieldOf(id)
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	if kind.Name == KindNumber.Name {
		if err := s.mayAddNumber(ctx, actor, ws, id); err != nil {
			return PutResult{}, err
		}
		r, err := s.claimNumber(ctx, ws, id)
		if err != nil {
			return PutResult{}, err
		}
		releases = append(releases, r)
	}
	cidrClaimed := false
	var res PutResult
	_, err := s.update(ctx, ws, func(t *tx) error {
		res = PutResult{}
		t.extra = nil
		w, err := t.workspace()
		if err != nil {
			return err
		}
		if kind.Behaviour && w.Guarded() {
			return ErrPromotionRequired
		}
		if pick != nil {
			if err := pick(t); err != nil {
				return err
			}
			id = item.ItemID()
			field = kind.fieldOf(id)
		}
		if isTrunk {
			// In the global CIDR index before the commit, as numbers are;
			// the first claim's release undoes it if the write fails.
			r, err := s.claimCIDRs(ctx, ws, tr)
			if err != nil {
				return err
			}
			if !cidrClaimed {
				cidrClaimed = true
				releases = append(releases, r)
			}
		}
		old, exists, err := t.get(field)
		if err != nil {
			return err
		}
		if exists && mode == Create {
			if kind.Name == KindNumber.Name {
				return errNumberTaken(id)
			}
			return conflict("%s %q already exists", kind.Name, id)
		}
		if !exists && !kind.Singleton {
			if err := t.checkCountQuota(kind); err != nil {
				return err
			}
		}
		ds, isDS := item.(*DataSource)
		if isDS && exists {
			if old, err = t.fullDataSource(old); err != nil {
				return err
			}
			if err := ds.credentialsFollowURL(old); err != nil {
				return err
			}
		}
		if isOutbound && exists {
			if old, err = t.openOutboundTrunk(old); err != nil {
				return err
			}
		}
		if sk, ok := item.(secretKeeper); ok && exists {
			sk.keepSecrets(old)
		}
		if revalidate {
			if err := item.Validate(); err != nil {
				return err
			}
		}
		if isTrunk && tr.Password != "" {
			tr.HA1 = NewDigestHA1(s.policy.Realm, tr.Username, tr.Password)
			tr.Password = ""
		}
		if err := t.checkRefs(kind, item); err != nil {
			return err
		}
		b, err := json.Marshal(item)
		if err != nil {
			return fmt.Errorf("encode %s: %w", kind.Name, err)
		}
		if exists && string(b) == string(old) {
			return nil
		}
		if isDS {
			if b, err = t.sealDataSource(ds); err != nil {
				return err
			}
		}
		if isOutbound {
			if b, err = t.sealOutboundTrunk(ot); err != nil {
				return err
			}
		}
		res = PutResult{Created: !exists, Changed: true}
		op := "update"
		if !exists {
			op = "create"
		}
		t.audit(actor, kind.Name, id, op)
		t.sets = append(t.sets, field, b)
		return nil
	})
	if err != nil {
		release()
	}
	if isTrunk {
		tr.Password = ""
	}
	if isOutbound {
		ot.Password = ""
	}
	return res, err
}

// checkCountQuota fails when the workspace already holds its quota of kind.
func (t *tx) checkCountQuota(kind Kind) error {
	limit, name := t.s.policy.Quotas.of(kind)
	if limit < 0 || name == "" {
		return nil
	}
	// Counted where the values are small: services, numbers and trunks in
	// the routing hash (no context graphs), which changes only together
	// with the watched workspace hash.
	key := keyCfg(t.ws)
	if isRoutingField(kind.field) {
		key = keyRouting(t.ws)
	}
	have, err := scanFields(t.ctx, t.rtx, key, kind.field)
	if err != nil {
		return err
	}
	return checkQuota(name, limit, len(have))
}

// mayAddNumber refuses a workspace key adding a number when the platform
// assigns numbers; it asks only whether ws itself holds the number, before
// the claim, so the answer never depends on another workspace.
func (s *Store) mayAddNumber(ctx context.Context, actor Principal, ws, number string) error {
	if !s.policy.PlatformAssignsNumbers || actor.Platform {
		return nil
	}
	held, err := s.rdb.HExists(ctx, keyCfg(ws), KindNumber.fieldOf(number)).Result()
	if err != nil {
		return unavailable("check number", err)
	}
	if !held {
		return fmt.Errorf("%w: phone numbers are assigned by the platform", ErrForbidden)
	}
	return nil
}

// errNumberTaken is the one answer to a claim of a number that some
// workspace, this one or another, holds: the same code and message either
// way, so that a claim never tells whether another workspace has it.
func errNumberTaken(number string) error {
	return conflict("phone number %s is not available", number)
}

// checkRefs enforces references between items: a number routes to an
// existing service of its own workspace.
func (t *tx) checkRefs(kind Kind, item Item) error {
	if ot, ok := item.(*OutboundTrunk); ok {
		return t.checkCallerID(ot)
	}
	n, ok := item.(*PhoneNumber)
	if !ok || kind.Name != KindNumber.Name {
		return nil
	}
	if _, ok, err := t.get(KindService.fieldOf(n.ServiceID)); err != nil || !ok {
		if err == nil {
			err = invalid("service_id", "no service %q in this workspace", n.ServiceID)
		}
		return err
	}
	return nil
}

// claimNumber takes number in the global index for workspace ws before the
// workspace transaction: a number belongs to at most one workspace, and
// HSETNX decides between racing writers. The returned release undoes a new
// claim when the transaction then fails; it does nothing for a number the
// workspace already held.
func (s *Store) claimNumber(ctx context.Context, ws, number string) (release func(), err error) {
	noop := func() {}
	var ok bool
	err = s.durably(ctx, keyNumbers, func(c redis.Cmdable) (err error) {
		ok, err = c.HSetNX(ctx, keyNumbers, number, ws).Result()
		return err
	})
	if err != nil {
		return noop, unavailable("claim number", err)
	}
	if ok {
		return func() {
			// A concurrent writer of the same workspace may have stored the
			// number under this claim meanwhile: then the claim stays.
			ctx := context.WithoutCancel(ctx)
			held, err := s.rdb.HExists(ctx, keyCfg(ws), KindNumber.fieldOf(number)).Result()
			if err == nil && !held {
				_ = compareAndDelete(ctx, s.rdb, keyNumbers, number, ws)
			}
		}, nil
	}
	owner, err := s.rdb.HGet(ctx, keyNumbers, number).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return noop, unavailable("claim number", err)
	}
	if owner != ws {
		return noop, errNumberTaken(number)
	}
	return noop, nil // held already, or a stale claim of our own from an interrupted write
}

// Get reads one item of kind from workspace ws into a new value of the kind.
func (s *Store) Get(ctx context.Context, ws string, kind Kind, id string) (Item, error) {
	if !ValidWorkspaceID(ws) {
		return nil, ErrNotFound
	}
	vals, err := s.rdb.HMGet(ctx, keyCfg(ws), fieldWorkspace, kind.fieldOf(id)).Result()
	if err != nil {
		return nil, unavailable("get "+kind.Name, err)
	}
	if vals[0] == nil {
		return nil, ErrNotFound
	}
	item := kind.New()
	if vals[1] == nil {
		if kind.Singleton {
			return item, nil // a singleton not yet set reads as its zero value
		}
		return nil, ErrNotFound
	}
	if err := json.Unmarshal([]byte(vals[1].(string)), item); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", kind.Name, id, err)
	}
	if d, ok := item.(*DataSource); ok {
		if err := s.withCredentials(ctx, s.rdb, ws, d); err != nil {
			return nil, err
		}
	}
	return item, nil
}

// List returns the items of kind of workspace ws sorted by id, at most limit
// of them after the id cursor after; next is the cursor of the next page or
// "".
func (s *Store) List(ctx context.Context, ws string, kind Kind, after string, limit int) (items []Item, next string, err error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return nil, "", err
	}
	raw, err := s.scanFields(ctx, keyCfg(ws), kind.field)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, 0, len(raw))
	for id := range raw {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if limit > 0 && len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	for _, id := range ids {
		item := kind.New()
		if err := json.Unmarshal([]byte(raw[id]), item); err != nil {
			return nil, "", fmt.Errorf("decode %s %s: %w", kind.Name, id, err)
		}
		items = append(items, item)
	}
	return items, next, nil
}

// scanFields returns the fields of hash key starting with prefix, keyed by
// the rest of the field name.
func (s *Store) scanFields(ctx context.Context, key, prefix string) (map[string]string, error) {
	out, err := scanFields(ctx, s.rdb, key, prefix)
	if err != nil {
		return nil, unavailable("scan "+key, err)
	}
	return out, nil
}

func scanFields(ctx context.Context, rdb redis.Cmdable, key, prefix string) (map[string]string, error) {
	out := map[string]string{}
	iter := rdb.HScan(ctx, key, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		f := iter.Val()
		if !iter.Next(ctx) {
			break
		}
		if id, ok := cutPrefix(f, prefix); ok {
			out[id] = iter.Val()
		}
	}
	return out, iter.Err()
}

// Delete removes one item of kind from workspace ws. A service that numbers
// still route to cannot be deleted.
func (s *Store) Delete(ctx context.Context, actor Principal, ws string, kind Kind, id string) error {
	if !ValidWorkspaceID(ws) {
		return ErrNotFound
	}
	field := kind.fieldOf(id)
	_, err := s.update(ctx, ws, func(t *tx) error {
		w, err := t.workspace()
		if err != nil {
			return err
		}
		if _, ok, err := t.get(field); err != nil || !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		if kind.Behaviour && w.Guarded() {
			return ErrPromotionRequired
		}
		if kind.Name == KindService.Name {
			if err := t.serviceUnused(id); err != nil {
				return err
			}
		}
		switch kind.Name {
		case KindNumber.Name:
			number := id
			t.after = append(t.after, func(ctx context.Context) {
				_ = compareAndDelete(ctx, s.rdb, keyNumbers, number, ws)
			})
		case KindTrunk.Name:
			t.after = append(t.after, func(ctx context.Context) { s.releaseCIDRs(ctx, ws, id) })
		case KindDataSource.Name:
			t.extra = append(t.extra, func(p redis.Pipeliner) { p.HDel(ctx, keySecrets(ws), field) })
		}
		t.del(field)
		t.audit(actor, kind.Name, id, "delete")
		return nil
	})
	return err
}

func (t *tx) serviceUnused(id string) error {
	numbers, err := t.fields(KindNumber.field)
	if err != nil {
		return err
	}
	for number, v := range numbers {
		var n PhoneNumber
		if json.Unmarshal([]byte(v), &n) == nil && n.ServiceID == id {
			return conflict("service %q is still the route of %s", id, number)
		}
	}
	return nil
}

// checkCallerID enforces that an outbound trunk's fixed presentation number
// is one of the workspace's own numbers: a workspace never presents
// another's caller id. The answer names the field, whatever the number's
// owner, so it tells nothing about other workspaces.
func (t *tx) checkCallerID(ot *OutboundTrunk) error {
	if ot.CallerID.Mode != CallerIDFixed {
		return nil
	}
	_, ok, err := t.get(KindNumber.fieldOf(ot.CallerID.Number))
	if err != nil {
		return err
	}
	if !ok {
		return invalid("caller_id.number", "must be a phone number of this workspace")
	}
	return nil
}
