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

// LimitError says why a call was refused by the workspace's limits. It
// matches ErrLimit with errors.Is.
type LimitError struct {
	// Reason is "concurrent" or "cps".
	Reason string
}

// ErrLimit: the workspace is at its concurrent-call or CPS limit.
var ErrLimit = errors.New("workspace limit reached")

func (e *LimitError) Error() string { return "workspace limit reached: " + e.Reason }

// Is reports whether target is ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// maxCallRecords bounds the call records kept per workspace.
const maxCallRecords = 10_000

// admitScript takes a call slot under the workspace's limits and records
// the call, atomically in the workspace's slot. Leases of calls whose edge
// died expire: admission reaps up to a batch of them (reapLua: their
// records end node_lost) and counts only live leases against the limit,
// so their slots come back by themselves. An admitted call's first event
// (call.started), when ARGV[14] names one, is written with it, under that
// once key (event_once), and its token, when ARGV[12] is one's record, is
// stored (KEYS[8], for ARGV[13] ms) as IssueCallToken stores it. The records of the workspace beyond the newest
// max records are dropped, read in one ZRANGE of those beyond (none,
// most of the time). It answers its status ('ok', 'deleted',
// 'concurrent', 'cps'), then what it reaped.
//
//	KEYS: active, cps counter, calls, callidx, tombstone, events, once keys[, token]
//	ARGV: now ms, lease expiry ms, max concurrent, max cps, call id, record, started ms, max records,
//	      ended_at (RFC 3339), events max length, reap batch, token record ('' for none), token ttl ms,
//	      once ('' for no event), keep, events max length, field, value, ...
var admitScript = redis.NewScript(reapLua + eventOnceLua + `
if redis.call('EXISTS', KEYS[5]) == 1 then return {'deleted'} end
local out = reap(KEYS[1], KEYS[3], KEYS[6],
  redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[11])),
  tonumber(ARGV[1]), ARGV[9], ARGV[10])
table.insert(out, 1, 'ok')
local maxc = tonumber(ARGV[3])
if maxc > 0 and redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf') >= maxc then out[1] = 'concurrent' return out end
local maxcps = tonumber(ARGV[4])
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], 2000) end
if maxcps > 0 and n > maxcps then out[1] = 'cps' return out end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[5])
local old = redis.call('ZRANGE', KEYS[4], 0, -(tonumber(ARGV[8]) + 1))
if #old > 0 then
  for i = 1, #old, 500 do redis.call('HDEL', KEYS[3], unpack(old, i, math.min(i + 499, #old))) end
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, #old - 1)
end
if ARGV[12] ~= '' then redis.call('SET', KEYS[8], ARGV[12], 'PX', ARGV[13]) end
if ARGV[14] ~= '' then event_once(KEYS[6], KEYS[7], ARGV[14], ARGV[15], ARGV[16], 17) end
return out`)

// AdmitCall takes a slot for call rec under limits, with a lease the edge
// renews while it carries the call, and records the call. It fails with a
// *LimitError when the workspace is at a limit. Calls of the workspace
// whose leases expired are reaped on the way (store_reap.go).
func (s *Store) AdmitCall(ctx context.Context, rec CallRecord, limits Limits, lease time.Duration) error {
	return s.admitCall(ctx, rec, limits, lease, issuedToken{}, []any{""})
}

// AdmitCallEvent is AdmitCall that also appends e (the call's
// call.started) under once, as AppendEventOnce does, in the same script:
// one round trip, and the event is written only when the call is
// admitted.
func (s *Store) AdmitCallEvent(ctx context.Context, rec CallRecord, limits Limits, lease time.Duration, once string, e Event) error {
	ev, err := s.eventOnceArgs(once, e)
	if err != nil {
		return err
	}
	return s.admitCall(ctx, rec, limits, lease, issuedToken{}, ev)
}

// AdmitCallEventToken is AdmitCallEvent that also issues the call's
// token, as IssueCallToken does (for ttl), in the same script: the token
// is stored, and returned, only when the call is admitted.
func (s *Store) AdmitCallEventToken(ctx context.Context, rec CallRecord, limits Limits, lease time.Duration, once string, e Event, ttl time.Duration) (string, error) {
	t, err := newCallToken(rec.WorkspaceID, rec.ID, rec.ServiceID, ttl)
	if err != nil {
		return "", err
	}
	ev, err := s.eventOnceArgs(once, e)
	if err != nil {
		return "", err
	}
	if err := s.admitCall(ctx, rec, limits, lease, t, ev); err != nil {
		return "", err
	}
	return t.token, nil
}

// admitCall runs admitScript with token t (none when its key is "") and
// ev, the arguments of its event from the once key on.
func (s *Store) admitCall(ctx context.Context, rec CallRecord, limits Limits, lease time.Duration, t issuedToken, ev []any) error {
	now := s.now()
	b, err := encodeCall(rec)
	if err != nil {
		return fmt.Errorf("encode call: %w", err)
	}
	ws := rec.WorkspaceID
	args := append([]any{now.UnixMilli(), now.Add(lease).UnixMilli(), limits.MaxConcurrentCalls, limits.MaxCPS,
		rec.ID, b, rec.StartedAt.UnixMilli(), maxCallRecords,
		now.UTC().Format(time.RFC3339Nano), s.eventsMaxLen, admitReapBatch(s, now), t.rec, t.ttl.Milliseconds()}, ev...)
	keys := []string{keyActive(ws), wsTag(ws) + ":cps:" + strconv.FormatInt(now.Unix(), 10), keyCalls(ws), keyCallIdx(ws), keyTombstone(ws), keyEvents(ws), keyEventOnce(ws)}
	if t.key != "" {
		keys = append(keys, t.key)
	}
	reply, err := admitScript.Run(ctx, s.calls, keys, args...).Slice()
	if err != nil {
		return unavailable("admit call", err)
	}
	res, err := s.admitReply(ws, reply)
	if err != nil {
		return err
	}
	switch res {
	case "ok":
	case "deleted":
		return ErrDeleted
	default:
		return &LimitError{Reason: res}
	}
	return nil
}

// UpdateCall rewrites the record of a call the edge carries (answered);
// nothing once its workspace is deleted (its tombstone, ErrDeleted).
func (s *Store) UpdateCall(ctx context.Context, rec CallRecord) error {
	b, err := encodeCall(rec)
	if err != nil {
		return fmt.Errorf("encode call: %w", err)
	}
	ws := rec.WorkspaceID
	n, err := updateCallScript.Run(ctx, s.calls, []string{keyTombstone(ws), keyCalls(ws)}, rec.ID, b).Int()
	if err != nil {
		return unavailable("update call", err)
	}
	if n == 0 {
		return ErrDeleted
	}
	return nil
}

// EndCall writes the final record of a call and releases its slot, in one
// script that writes nothing once the workspace is deleted (ErrDeleted):
// a call outliving its workspace leaves no record behind.
func (s *Store) EndCall(ctx context.Context, rec CallRecord) error {
	b, err := encodeCall(rec)
	if err != nil {
		return fmt.Errorf("encode call: %w", err)
	}
	ws := rec.WorkspaceID
	n, err := endCallScript.Run(ctx, s.calls, []string{keyTombstone(ws), keyCalls(ws), keyActive(ws)}, rec.ID, b).Int()
	if err != nil {
		return unavailable("end call", err)
	}
	if n == 0 {
		return ErrDeleted
	}
	return nil
}

// ReleaseCall frees a call's slot without a record (a call refused after
// admission, e.g. by a failing service, is ended with EndCall instead).
func (s *Store) ReleaseCall(ctx context.Context, ws, callID string) error {
	if err := s.rdb.ZRem(ctx, keyActive(ws), callID).Err(); err != nil {
		return unavailable("release call", err)
	}
	return nil
}

// RenewLeases extends the leases of the calls an edge carries, grouped by
// workspace, in one pipeline.
func (s *Store) RenewLeases(ctx context.Context, calls map[string][]string, lease time.Duration) error {
	until := float64(s.now().Add(lease).UnixMilli())
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for ws, ids := range calls {
			zs := make([]redis.Z, len(ids))
			for i, id := range ids {
				zs[i] = redis.Z{Score: until, Member: id}
			}
			p.ZAddXX(ctx, keyActive(ws), zs...)
		}
		return nil
	})
	if err != nil {
		return unavailable("renew leases", err)
	}
	return nil
}

// ActiveCalls returns how many calls of ws hold a live lease.
func (s *Store) ActiveCalls(ctx context.Context, ws string) (int64, error) {
	n, err := s.rdb.ZCount(ctx, keyActive(ws), strconv.FormatInt(s.now().UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return 0, unavailable("count calls", err)
	}
	return n, nil
}

// GetCall returns call id of workspace ws.
func (s *Store) GetCall(ctx context.Context, ws, id string) (CallRecord, error) {
	var rec CallRecord
	if !ValidWorkspaceID(ws) || id == "" || len(id) > 128 {
		return rec, ErrNotFound
	}
	b, err := s.rdb.HGet(ctx, keyCalls(ws), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, unavailable("get call", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("decode call: %w", err)
	}
	if rec.WorkspaceID != ws {
		return CallRecord{}, ErrNotFound
	}
	return rec, nil
}

// ListCalls returns calls of ws, newest first, limit a page after the
// cursor (a call id; "" from the newest). With active only calls that hold a
// live lease are listed.
func (s *Store) ListCalls(ctx context.Context, ws string, active bool, after string, limit int) ([]CallRecord, string, error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return nil, "", err
	}
	var ids []string
	var err error
	if active {
		ids, err = s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: keyActive(ws), Start: strconv.FormatInt(s.now().UnixMilli(), 10), Stop: "+inf", ByScore: true}).Result()
	} else {
		ids, err = s.rdb.ZRevRange(ctx, keyCallIdx(ws), 0, -1).Result()
	}
	if err != nil {
		return nil, "", unavailable("list calls", err)
	}
	if after != "" {
		for i, id := range ids {
			if id == after {
				ids = ids[i+1:]
				break
			}
		}
	}
	next := ""
	if limit > 0 && len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	if len(ids) == 0 {
		return []CallRecord{}, "", nil
	}
	vals, err := s.rdb.HMGet(ctx, keyCalls(ws), ids...).Result()
	if err != nil {
		return nil, "", unavailable("list calls", err)
	}
	out := make([]CallRecord, 0, len(vals))
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var rec CallRecord
		if json.Unmarshal([]byte(str), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out, next, nil
}

// Control is a request to the edge node that holds a call.
type Control struct {
	StreamID    string
	Op          string // "hangup"
	WorkspaceID string
	CallID      string
	Reason      string
}

// RequestHangup asks the node that carries call id of ws to hang it up.
// ErrNotFound if the call is not of ws or not active.
func (s *Store) RequestHangup(ctx context.Context, ws, id, reason string) error {
	rec, err := s.GetCall(ctx, ws, id)
	if err != nil {
		return err
	}
	score, err := s.rdb.ZScore(ctx, keyActive(ws), id).Result()
	if errors.Is(err, redis.Nil) || (err == nil && int64(score) < s.now().UnixMilli()) || rec.State == CallEnded {
		return conflict("call %s is not active", id)
	}
	if err != nil {
		return unavailable("hangup", err)
	}
	err = s.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: keyNodeCtl(rec.NodeID), MaxLen: 10_000, Approx: true,
		Values: []any{"op", "hangup", "ws", ws, "call_id", id, "reason", reason},
	}).Err()
	if err != nil {
		return unavailable("hangup", err)
	}
	return nil
}

// ReadControl blocks up to wait for control requests to node after stream
// id after ("$" for new ones only); a wait of zero or less does not block.
func (s *Store) ReadControl(ctx context.Context, node, after string, wait time.Duration) ([]Control, error) {
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{keyNodeCtl(node), after}, Count: 100, Block: xreadBlock(wait)}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailable("read control", err)
	}
	var out []Control
	for _, st := range res {
		for _, m := range st.Messages {
			str := func(k string) string { v, _ := m.Values[k].(string); return v }
			out = append(out, Control{StreamID: m.ID, Op: str("op"), WorkspaceID: str("ws"), CallID: str("call_id"), Reason: str("reason")})
		}
	}
	return out, nil
}

// admitReapBatch is how many expired calls an admission reaps: none while
// reaping is held (HoldReaping), when it counts only live leases still.
func admitReapBatch(s *Store, now time.Time) int {
	if s.reapingHeld(now) {
		return 0
	}
	return reapBatch
}
