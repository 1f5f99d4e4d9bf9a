package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Snapshot is the routing-relevant configuration of one workspace at one
// routing version, read from its routing hash in one round trip: services
// without context graph or agent config, trunks with HA1s and no password,
// and nothing of accounts, keys, billing, policies or data sources.
type Snapshot struct {
	Workspace Workspace
	Version   int64
	Services  map[string]Service
	Numbers   map[string]PhoneNumber
	Trunks    map[string]Trunk
	// OutboundTrunks are without their passwords (OutboundCredentials).
	OutboundTrunks map[string]OutboundTrunk
	VoiceSettings  VoiceSettings
	OperatorConfig OperatorConfig
}

// LoadSnapshot reads workspace ws's configuration; ErrNotFound if it is gone.
func (s *Store) LoadSnapshot(ctx context.Context, ws string) (*Snapshot, error) {
	all, err := s.rdb.HGetAll(ctx, keyRouting(ws)).Result()
	if err != nil {
		return nil, unavailable("load workspace "+ws, err)
	}
	raw, ok := all[fieldWorkspace]
	if !ok {
		return nil, ErrNotFound
	}
	snap := &Snapshot{
		Version:  parseInt(all[fieldVersion]),
		Services: map[string]Service{}, Numbers: map[string]PhoneNumber{}, Trunks: map[string]Trunk{},
		OutboundTrunks: map[string]OutboundTrunk{},
	}
	if err := json.Unmarshal([]byte(raw), &snap.Workspace); err != nil {
		return nil, fmt.Errorf("decode workspace %s: %w", ws, err)
	}
	for f, v := range all {
		var err error
		switch {
		case f == KindVoiceSettings.field:
			err = json.Unmarshal([]byte(v), &snap.VoiceSettings)
		case f == KindOperatorConfig.field:
			err = json.Unmarshal([]byte(v), &snap.OperatorConfig)
		default:
			if id, ok := cutPrefix(f, KindService.field); ok {
				var x Service
				err = json.Unmarshal([]byte(v), &x)
				snap.Services[id] = x
			} else if id, ok := cutPrefix(f, KindNumber.field); ok {
				var x PhoneNumber
				err = json.Unmarshal([]byte(v), &x)
				snap.Numbers[id] = x
			} else if id, ok := cutPrefix(f, KindTrunk.field); ok {
				var x Trunk
				err = json.Unmarshal([]byte(v), &x)
				snap.Trunks[id] = x
			} else if id, ok := cutPrefix(f, KindOutboundTrunk.field); ok {
				var x OutboundTrunk
				err = json.Unmarshal([]byte(v), &x)
				snap.OutboundTrunks[id] = x.Redacted()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("decode %s of %s: %w", f, ws, err)
		}
	}
	return snap, nil
}

// WorkspaceVersions returns the current routing version of each workspace
// in ids, in one pipeline; a missing workspace has version 0. Followers use it to
// reconcile with the change stream.
func (s *Store) WorkspaceVersions(ctx context.Context, ids []string) (map[string]int64, error) {
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGet(ctx, keyRouting(id), fieldVersion)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("workspace versions", err)
	}
	out := make(map[string]int64, len(ids))
	for i, id := range ids {
		out[id] = parseInt(cmds[i].Val())
	}
	return out, nil
}

// ChangesHead returns the id and sequence of the newest change-stream entry
// ("0-0", 0 when the stream is empty): a follower that loaded the whole map
// starts reading after it.
func (s *Store) ChangesHead(ctx context.Context) (string, int64, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, keyChanges, "+", "-", 1).Result()
	if err != nil {
		return "", 0, unavailable("changes head", err)
	}
	if len(msgs) == 0 {
		return "0-0", 0, nil
	}
	c := decodeChange(msgs[0])
	return c.StreamID, c.Seq, nil
}

// ReadChanges blocks up to wait for change-stream entries after stream id
// after; a wait of zero or less does not block. A follower checks that Seq
// grows by one; a jump means entries were trimmed before it read them and it
// must reload everything.
func (s *Store) ReadChanges(ctx context.Context, after string, wait time.Duration) ([]Change, error) {
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{keyChanges, after}, Count: 500, Block: xreadBlock(wait)}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailable("read changes", err)
	}
	var out []Change
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, decodeChange(m))
		}
	}
	return out, nil
}

func decodeChange(m redis.XMessage) Change {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	seq, _ := strconv.ParseInt(str("seq"), 10, 64)
	return Change{
		Seq: seq, StreamID: m.ID, WorkspaceID: str("ws"), Version: parseInt(str("version")),
		Kind: str("kind"), ItemID: str("id"), Op: str("op"),
	}
}

// xreadBlock turns a wait into XREAD's BLOCK argument: a wait of zero or
// less does not block (go-redis then sends no BLOCK, as "BLOCK 0" would wait
// forever), and a positive wait is at least a millisecond.
func xreadBlock(wait time.Duration) time.Duration {
	switch {
	case wait <= 0:
		return -1
	case wait < time.Millisecond:
		return time.Millisecond
	}
	return wait
}

// OutboundCredentials returns the digest credentials of outbound trunk id
// of workspace ws, for the edge that dials through it (they are in no
// snapshot): ErrNotFound when there is no such trunk. The edge reads them
// per dial and keeps them no longer than the dial.
func (s *Store) OutboundCredentials(ctx context.Context, ws, id string) (username, password string, err error) {
	if !ValidWorkspaceID(ws) || !ValidID(id) {
		return "", "", ErrNotFound
	}
	raw, err := s.rdb.HGet(ctx, keyCfg(ws), KindOutboundTrunk.fieldOf(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", unavailable("outbound credentials", err)
	}
	var t OutboundTrunk
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", "", fmt.Errorf("decode outbound trunk %s of %s: %w", id, ws, err)
	}
	if t.PasswordSealed == "" {
		return t.Username, t.Password, nil // in clear: written by an older version, until "edge-admin reencrypt"
	}
	pw, _, err := s.openPassword(ws, id, t.PasswordSealed)
	if err != nil {
		return "", "", err
	}
	return t.Username, pw, nil
}

// RoutingItem is one number or trunk of a workspace's routing hash, as a
// change entry names it: Number or Trunk is set, or neither when the item
// is gone; Version is the workspace's routing version at the read.
type RoutingItem struct {
	Version int64
	Number  *PhoneNumber
	Trunk   *Trunk
}

// LoadRoutingItem reads one phone number or trunk of workspace ws from its
// routing hash with the routing version, in one round trip, so that an
// edge applies a number or trunk change without reading the workspace
// again. ErrNotFound when the workspace is gone; kind must be KindNumber or
// KindTrunk.
func (s *Store) LoadRoutingItem(ctx context.Context, ws string, kind Kind, id string) (RoutingItem, error) {
	var it RoutingItem
	if kind.Name != KindNumber.Name && kind.Name != KindTrunk.Name {
		return it, fmt.Errorf("load routing item: %s is not a number or trunk", kind.Name)
	}
	vals, err := s.rdb.HMGet(ctx, keyRouting(ws), fieldWorkspace, fieldVersion, kind.fieldOf(id)).Result()
	if err != nil {
		return it, unavailable("load routing item", err)
	}
	if vals[0] == nil {
		return it, ErrNotFound
	}
	v, _ := vals[1].(string)
	it.Version = parseInt(v)
	raw, ok := vals[2].(string)
	if !ok {
		return it, nil
	}
	if kind.Name == KindNumber.Name {
		it.Number = new(PhoneNumber)
		err = json.Unmarshal([]byte(raw), it.Number)
	} else {
		it.Trunk = new(Trunk)
		err = json.Unmarshal([]byte(raw), it.Trunk)
	}
	if err != nil {
		return RoutingItem{}, fmt.Errorf("decode %s %s of %s: %w", kind.Name, id, ws, err)
	}
	return it, nil
}
