package tenancy

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Call state an edge writes after Redis was away (its spool, sip/spool):
//
//	edge:node:live   zset  node id -> expiry ms: the nodes alive, which an
//	                       edge divides a workspace's limits by while Redis is away
const keyNodesLive = "edge:node:live"

// restoreCallScript records a call an edge admitted from memory while
// Redis was away: its slot (with a lease) and its record, with no limit
// check (the edge's share decided). Idempotent: a replay writes the same.
// A record already ended (the call's end replayed first) is not reopened.
//
//	KEYS: tombstone, active, calls, callidx
//	ARGV: lease expiry ms, call id, record, started ms
var restoreCallScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local cur = redis.call('HGET', KEYS[3], ARGV[2])
if cur and string.find(cur, '"state":"ended"', 1, true) then return 1 end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
return 1`)

// RestoreCall writes the slot (leased for lease) and the record of call
// rec, admitted by an edge from memory while Redis was away. ErrDeleted
// once its workspace is deleted. The records index is trimmed by the next
// AdmitCall.
func (s *Store) RestoreCall(ctx context.Context, rec CallRecord, lease time.Duration) error {
	b, err := encodeCall(rec)
	if err != nil {
		return fmt.Errorf("encode call: %w", err)
	}
	ws := rec.WorkspaceID
	n, err := restoreCallScript.Run(ctx, s.rdb, []string{keyTombstone(ws), keyActive(ws), keyCalls(ws), keyCallIdx(ws)},
		s.now().Add(lease).UnixMilli(), rec.ID, b, rec.StartedAt.UnixMilli()).Int()
	if err != nil {
		return unavailable("restore call", err)
	}
	if n == 0 {
		return ErrDeleted
	}
	return nil
}

// reassertScript renews the leases of calls an edge still carries and
// recreates what Redis lost of them (a restarted Redis without their slot
// or record): the record only when missing, or when a reaper ended it
// node_lost while this node could not renew its lease (the call's
// call.ended of node_lost then stays in the stream, and its real end
// follows), the slot unless the record is ended.
//
//	KEYS: tombstone, active, calls, callidx
//	ARGV: lease expiry ms, then per call: id, record, started ms
var reassertScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('HSETNX', KEYS[3], id, ARGV[i+1]) == 1 then
    redis.call('ZADD', KEYS[4], 'NX', ARGV[i+2], id)
  end
  local cur = redis.call('HGET', KEYS[3], id)
  if string.find(cur, '"end_reason":"node_lost"', 1, true) then
    -- Reaped while this node, alive, could not reach Redis: the call goes
    -- on, so its record and slot come back (store_reap.go).
    redis.call('HSET', KEYS[3], id, ARGV[i+1])
    cur = ARGV[i+1]
  end
  if not string.find(cur, '"state":"ended"', 1, true) then
    redis.call('ZADD', KEYS[2], ARGV[1], id)
  end
end
return 1`)

// ReassertCalls renews the leases of the calls an edge carries (grouped
// by workspace) after Redis was away, recreating slots and records that
// Redis lost, where RenewLeases (ZADD XX) only extends slots that exist.
func (s *Store) ReassertCalls(ctx context.Context, calls map[string][]CallRecord, lease time.Duration) error {
	until := s.now().Add(lease).UnixMilli()
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		// EVAL, not EVALSHA: a pipeline does not retry NOSCRIPT, and this
		// runs right after a restarted Redis lost its scripts.
		for ws, recs := range calls {
			args := []any{until}
			for _, rec := range recs {
				b, err := encodeCall(rec)
				if err != nil {
					return fmt.Errorf("encode call: %w", err)
				}
				args = append(args, rec.ID, b, rec.StartedAt.UnixMilli())
			}
			reassertScript.Eval(ctx, p, []string{keyTombstone(ws), keyActive(ws), keyCalls(ws), keyCallIdx(ws)}, args...)
		}
		return nil
	})
	if err != nil {
		return unavailable("reassert calls", err)
	}
	return nil
}

// heartbeatScript marks a node alive until an expiry and counts the nodes
// alive.
//
//	KEYS: live nodes
//	ARGV: now ms, expiry ms, node id
var heartbeatScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return redis.call('ZCARD', KEYS[1])`)

// Heartbeat records that edge node node is alive for ttl and returns how
// many nodes are alive (itself included).
func (s *Store) Heartbeat(ctx context.Context, node string, ttl time.Duration) (int, error) {
	if !validNodeID(node) {
		return 0, invalid("node", "node id 1-128 characters")
	}
	now := s.now()
	n, err := heartbeatScript.Run(ctx, s.rdb, []string{keyNodesLive}, now.UnixMilli(), now.Add(ttl).UnixMilli(), node).Int()
	if err != nil {
		return 0, unavailable("heartbeat", err)
	}
	return n, nil
}
