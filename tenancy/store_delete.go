package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/redis/go-redis/v9"
)

// deleteWorkspaceScript deletes every key of a workspace and sets its
// tombstone, in one step: all of them share the workspace's slot.
//
//	KEYS: tombstone, the workspace's keys...
//	ARGV: tombstone ttl ms
var deleteWorkspaceScript = redis.NewScript(`
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
local n = 0
for i = 2, #KEYS do n = n + redis.call('DEL', KEYS[i]) end
return n`)

// DeleteWorkspace removes workspace id with everything of it. In order:
// its API keys leave the global index (they stop at once); each of its
// active calls is asked to hang up through its edge's control stream; every
// key of its slot (configuration, routing, secrets, calls, events,
// projections, tokens, operators, counters) is deleted in one script that
// also sets its tombstone, so that late call-state writes of calls still
// ending write nothing (store_tombstone.go); then its numbers, trunk CIDRs
// and id leave the global indexes and edges are told to drop it.
func (s *Store) DeleteWorkspace(ctx context.Context, actor Principal, id string) error {
	if _, err := s.GetWorkspace(ctx, id); err != nil {
		return err
	}
	all, err := s.rdb.HGetAll(ctx, keyCfg(id)).Result()
	if err != nil {
		return unavailable("read workspace", err)
	}
	for f, v := range all {
		if _, ok := cutPrefix(f, prefixAPIKey); ok {
			var k storedKey
			if json.Unmarshal([]byte(v), &k) == nil {
				if err := compareAndDelete(ctx, s.rdb, keyAPIKeys, k.Hash, id+"/"+k.ID); err != nil {
					return err
				}
			}
		}
	}
	if err := s.hangupAll(ctx, id); err != nil {
		return err
	}
	// Two sweeps: the first deletes everything under the tombstone; the
	// second catches a key written by a script that ran between the scan
	// and the deletion without a tombstone to see (a CPS counter).
	for range 2 {
		keys, err := s.workspaceKeys(ctx, id)
		if err != nil {
			return err
		}
		err = deleteWorkspaceScript.Run(ctx, s.rdb, append([]string{keyTombstone(id)}, keys...), TombstoneTTL.Milliseconds()).Err()
		if err != nil {
			return unavailable("delete workspace", err)
		}
	}
	for f := range all {
		if n, ok := cutPrefix(f, KindNumber.field); ok {
			if err := compareAndDelete(ctx, s.rdb, keyNumbers, n, id); err != nil {
				return err
			}
		}
		if t, ok := cutPrefix(f, KindTrunk.field); ok {
			s.releaseCIDRs(ctx, id, t)
		}
	}
	if err := s.rdb.SRem(ctx, keyWorkspaces, id).Err(); err != nil {
		return unavailable("unindex workspace", err)
	}
	return s.announce(ctx, Change{WorkspaceID: id, Version: parseInt(all[fieldVersion]) + 1, Kind: "workspace", ItemID: id, Op: "delete_workspace"})
}

// hangupAll asks the edges to end every active call of ws.
func (s *Store) hangupAll(ctx context.Context, ws string) error {
	for after := ""; ; {
		calls, next, err := s.ListCalls(ctx, ws, true, after, 500)
		if err != nil {
			return err
		}
		for _, c := range calls {
			err := s.RequestHangup(ctx, ws, c.ID, "workspace_deleted")
			if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// workspaceKeys lists every key of workspace ws but its tombstone: the keys
// of its hash tag, on every master of a cluster.
func (s *Store) workspaceKeys(ctx context.Context, ws string) ([]string, error) {
	match := wsTag(ws) + ":*"
	var (
		mu   sync.Mutex // ForEachMaster scans the masters in parallel
		keys []string
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, match, 1000).Iterator()
		for iter.Next(ctx) {
			if k := iter.Val(); k != keyTombstone(ws) {
				mu.Lock()
				keys = append(keys, k)
				mu.Unlock()
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.rdb)
	}
	if err != nil {
		return nil, unavailable("list workspace keys", err)
	}
	return keys, nil
}
