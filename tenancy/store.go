package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store keeps the tenant map, accounts, keys, call records and events in
// Redis. It works against a single Redis or a Redis Cluster through go-redis's
// universal client: every transaction stays inside one workspace's slot.
type Store struct {
	policy        Policy
	rdb           redis.UniversalClient
	calls         redis.Scripter // the call path's writes (WithCallClient); rdb by default
	now           func() time.Time
	eventsMaxLen  int64
	changesMaxLen int64
	ackTimeout    time.Duration
	onReap        func(Reaped) // WithReapObserver (store_reap.go)
	reapHeld      atomic.Int64 // Unix ms until which this store reaps nothing (HoldReaping)
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// WithStreamLimits bounds the per-workspace event stream and the global
// change stream (approximate MAXLEN; defaults 100000 and 10000).
func WithStreamLimits(events, changes int64) StoreOption {
	return func(s *Store) { s.eventsMaxLen, s.changesMaxLen = events, changes }
}

// WithReplicaAck makes every configuration write wait (WAIT 1, up to
// timeout) until a replica has it before it reports success, so that a
// write that succeeded survives the failover of its master (Redis
// replication is asynchronous: without it, a master that dies right after
// an acknowledged write can take the write with it). A master with no
// replica connected, as a promoted replica is until its old master comes
// back, is not waited for: the write then has the durability of a single
// Redis. A replica that is connected but does not acknowledge in time fails
// the write with ErrUnavailable (it was applied and may survive: a retry of
// the same write is safe). Off by default (a single Redis has no replica);
// the programs turn it on for Redis Cluster and Sentinel. timeout must be
// below the client's read timeout.
func WithReplicaAck(timeout time.Duration) StoreOption {
	return func(s *Store) { s.ackTimeout = timeout }
}

// WithCallClient makes the writes of a call's life (its admission,
// record and events, and the end of its token) go through c instead of
// the store's client: the edge passes the CallPipeline of that client, so
// that the writes of calls in progress at the same moment share round
// trips and socket writes instead of taking one each. Every other
// operation keeps the store's client.
func WithCallClient(c redis.Scripter) StoreOption { return func(s *Store) { s.calls = c } }

// WithPolicy sets the platform's policy (quotas, trunk CIDR rules, the
// digest realm, the secret box); see Policy for the defaults.
func WithPolicy(p Policy) StoreOption { return func(s *Store) { s.policy = p } }

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient, opts ...StoreOption) *Store {
	s := &Store{rdb: rdb, now: time.Now, eventsMaxLen: 100_000, changesMaxLen: 10_000}
	for _, o := range opts {
		o(s)
	}
	if s.calls == nil {
		s.calls = rdb
	}
	s.policy = s.policy.withDefaults()
	return s
}

// Policy returns the platform policy the store enforces, defaults applied.
func (s *Store) Policy() Policy { return s.policy }

// Client returns the underlying Redis client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// unavailable wraps a Redis failure as ErrUnavailable.
func unavailable(what string, err error) error {
	return fmt.Errorf("%s: %w: %v", what, ErrUnavailable, err)
}

// maxTxRetries bounds optimistic transaction retries under contention.
const maxTxRetries = 20

// tx is one optimistic transaction on a workspace hash: reads go through
// WATCH, writes are queued and run in MULTI/EXEC together with the version
// bump and the audit event.
type tx struct {
	s      *Store
	ctx    context.Context
	ws     string
	rtx    *redis.Tx
	sets   []any // field, value pairs
	dels   []string
	audits []auditEntry
	after  []func(ctx context.Context) // global-index work after commit
	// rebuild, when set, is the whole workspace hash: the routing hash is
	// written again from it (RebuildRouting).
	rebuild map[string]string
	// extra are writes to other keys of the workspace's slot (its secrets
	// hash), queued in the same MULTI/EXEC.
	extra []func(p redis.Pipeliner)
}

type auditEntry struct {
	kind, id, op string
	actor        Principal
}

func (t *tx) get(field string) ([]byte, bool, error) {
	b, err := t.rtx.HGet(t.ctx, keyCfg(t.ws), field).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func (t *tx) workspace() (*Workspace, error) {
	b, ok, err := t.get(fieldWorkspace)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	var w Workspace
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode workspace %s: %w", t.ws, err)
	}
	return &w, nil
}

// fields returns the fields of the workspace hash that start with prefix,
// keyed by the rest of the field name, read under the transaction's WATCH.
func (t *tx) fields(prefix string) (map[string]string, error) {
	return scanFields(t.ctx, t.rtx, keyCfg(t.ws), prefix)
}

func (t *tx) set(field string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", field, err)
	}
	t.sets = append(t.sets, field, b)
	return nil
}

func (t *tx) del(field string) { t.dels = append(t.dels, field) }
func (t *tx) audit(actor Principal, kind, id, op string) {
	t.audits = append(t.audits, auditEntry{kind, id, op, actor})
}

// update runs fn in an optimistic transaction on workspace ws and commits
// what it queued with a version bump, the audit events and a change-stream
// entry. fn may be run more than once. What fn writes to routing fields of
// the workspace hash is projected into the routing hash in the same
// MULTI/EXEC (store_routing.go); the change entries carry the routing
// version, which only routing changes move, so that edges reload a
// workspace only when something they route by changed.
func (s *Store) update(ctx context.Context, ws string, fn func(t *tx) error) (int64, error) {
	key := keyCfg(ws)
	for range maxTxRetries {
		t := &tx{s: s, ctx: ctx, ws: ws}
		var version, rversion int64
		var ackErr error // the write is applied; it is announced all the same
		err := s.rdb.Watch(ctx, func(rtx *redis.Tx) error {
			t.rtx = rtx
			if err := fn(t); err != nil {
				return err
			}
			if len(t.sets) == 0 && len(t.dels) == 0 && t.rebuild == nil && len(t.extra) == 0 {
				return nil
			}
			rsets, rdels, err := t.routingWrites()
			if err != nil {
				return err
			}
			var vcmd, rcmd *redis.IntCmd
			_, err = rtx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if len(t.dels) > 0 {
					p.HDel(ctx, key, t.dels...)
				}
				if len(t.sets) > 0 {
					p.HSet(ctx, key, t.sets...)
				}
				for _, f := range t.extra {
					f(p)
				}
				vcmd = p.HIncrBy(ctx, key, fieldVersion, 1)
				if t.rebuild != nil {
					p.Del(ctx, keyRouting(ws))
				}
				if len(rdels) > 0 {
					p.HDel(ctx, keyRouting(ws), rdels...)
				}
				if len(rsets) > 0 {
					p.HSet(ctx, keyRouting(ws), rsets...)
				}
				bump := int64(0)
				if len(rsets) > 0 || len(rdels) > 0 || t.rebuild != nil {
					bump = 1
				}
				rcmd = p.HIncrBy(ctx, keyRouting(ws), fieldVersion, bump)
				for _, a := range t.audits {
					s.addEvent(ctx, p, ws, auditEvent(s.now(), a))
				}
				return nil
			})
			if err != nil {
				return err
			}
			version, rversion = vcmd.Val(), rcmd.Val()
			ackErr = s.ack(ctx, rtx)
			return nil
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			if isDomainError(err) {
				return 0, err
			}
			return 0, unavailable("write workspace "+ws, err)
		}
		if version == 0 { // nothing to write
			return 0, nil
		}
		for _, f := range t.after {
			f(ctx)
		}
		for _, a := range t.audits {
			if err := s.announce(ctx, Change{WorkspaceID: ws, Version: rversion, Kind: a.kind, ItemID: a.id, Op: a.op}); err != nil {
				return version, err
			}
		}
		if ackErr != nil {
			return version, unavailable("write workspace "+ws, ackErr)
		}
		return version, nil
	}
	return 0, conflict("too much contention on workspace %s, try again", ws)
}

// routingWrites projects the transaction's writes onto the routing hash.
func (t *tx) routingWrites() (sets []any, dels []string, err error) {
	if t.rebuild != nil {
		for f, v := range t.rebuild {
			if !isRoutingField(f) {
				continue
			}
			out, ok, err := t.s.routingValue(f, []byte(v))
			if err != nil {
				return nil, nil, err
			}
			if ok {
				sets = append(sets, f, out)
			}
		}
	}
	for i := 0; i+1 < len(t.sets); i += 2 {
		f, _ := t.sets[i].(string)
		if !isRoutingField(f) {
			continue
		}
		var v []byte
		switch x := t.sets[i+1].(type) {
		case []byte:
			v = x
		case string:
			v = []byte(x)
		case json.RawMessage:
			v = x
		default:
			return nil, nil, fmt.Errorf("routing projection of %s: unexpected %T", f, x)
		}
		out, ok, err := t.s.routingValue(f, v)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			sets = append(sets, f, out)
		}
	}
	for _, f := range t.dels {
		if isRoutingField(f) {
			dels = append(dels, f)
		}
	}
	return sets, dels, nil
}

func isDomainError(err error) bool {
	for _, e := range []error{ErrNotFound, ErrConflict, ErrInvalid, ErrPromotionRequired, ErrForbidden, ErrQuota} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func auditEvent(now time.Time, a auditEntry) Event {
	actor := map[string]any{"account_id": a.actor.AccountID, "key_id": a.actor.KeyID, "role": a.actor.Role}
	if a.actor.Platform {
		actor = map[string]any{"platform": true}
	}
	data, _ := json.Marshal(map[string]any{"actor": actor, "kind": a.kind, "id": a.id, "op": a.op})
	return Event{Type: EventConfigChanged, Time: now, Data: data}
}

func (s *Store) addEvent(ctx context.Context, p redis.Cmdable, ws string, e Event) *redis.StringCmd {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	values := []any{"type", e.Type, "time", e.Time.UTC().Format(time.RFC3339Nano), "call_id", e.CallID, "data", string(e.Data)}
	if len(e.Actor) > 0 {
		values = append(values, "actor", string(e.Actor))
	}
	return p.XAdd(ctx, &redis.XAddArgs{Stream: keyEvents(ws), MaxLen: s.eventsMaxLen, Approx: true, Values: values})
}

// announceScript appends to the change stream with a gap-free sequence, so
// that a follower can tell it missed entries (design section 3).
var announceScript = redis.NewScript(`
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'seq', seq, 'ws', ARGV[2], 'version', ARGV[3], 'kind', ARGV[4], 'id', ARGV[5], 'op', ARGV[6])
return seq`)

func (s *Store) announce(ctx context.Context, c Change) error {
	err := s.durably(ctx, keyChanges, func(rc redis.Cmdable) error {
		return announceScript.Run(ctx, rc, []string{keyChanges, keyChangesSeq},
			s.changesMaxLen, c.WorkspaceID, c.Version, c.Kind, c.ItemID, c.Op).Err()
	})
	if err != nil {
		return unavailable("announce change", err)
	}
	return nil
}

// durably runs fn, a write of keys in key's slot, and with WithReplicaAck
// waits for a replica to have it. WAIT counts what one connection wrote, so
// fn runs on a connection of its own, pinned by WATCH (of key, which
// nothing then uses).
func (s *Store) durably(ctx context.Context, key string, fn func(redis.Cmdable) error) error {
	if s.ackTimeout <= 0 {
		return fn(s.rdb)
	}
	return s.rdb.Watch(ctx, func(rtx *redis.Tx) error {
		if err := fn(rtx); err != nil {
			return err
		}
		return s.ack(ctx, rtx)
	}, key)
}

// ack waits until a replica has what connection c wrote (WithReplicaAck).
// It asks first whether the master has a replica at all, so that a master
// left alone after a failover does not hold every write for the timeout,
// and it bounds the WAIT by the client's read timeout as well as by the
// server's: a Redis 7.0 master promoted from replica was seen to keep a
// WAIT blocked past its timeout.
func (s *Store) ack(ctx context.Context, c *redis.Tx) error {
	if s.ackTimeout <= 0 {
		return nil
	}
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if !hasReplica(info) {
		return nil // no replica to wait for (see WithReplicaAck)
	}
	wait := redis.NewIntCmd(ctx, "wait", 1, s.ackTimeout.Milliseconds())
	if err := c.Process(ctx, wait); err != nil {
		return err
	}
	if wait.Val() < 1 {
		return fmt.Errorf("no replica acknowledged the write within %v", s.ackTimeout)
	}
	return nil
}

// hasReplica reports whether INFO replication shows a connected replica.
func hasReplica(info string) bool {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "connected_slaves:"); ok {
			return v != "0"
		}
	}
	return false
}

func parseInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
