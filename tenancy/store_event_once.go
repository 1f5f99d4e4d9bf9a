package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Events the edge writes are written once, even when a write is sent
// again: a write Redis applied but whose answer never came back (Redis
// shut down or hung with it in flight) is spooled and replayed, and the
// replay finds its key already there. The keys of the latest writes are
// kept per workspace,
//
//	{ws:<id>}:evonce  zset  key -> time (ms) of the event written under it
//
// bounded to the newest eventOnceKeep: a replay comes right after the
// outage that made it, before any newer write of its workspace.
func keyEventOnce(ws string) string { return wsTag(ws) + ":evonce" }

// eventOnceKeep bounds the keys kept per workspace.
const eventOnceKeep = 10_000

// appendEventOnceScript appends an event unless the workspace is gone or
// an event was already written under the same key (then it returns "").
//
//	KEYS: tombstone, events, once keys
//	ARGV: key, keep, max length, field, value, ...
var appendEventOnceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return '' end
local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*'}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call(unpack(args))
local t = redis.call('TIME')
redis.call('ZADD', KEYS[3], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[2]) + 1))
return id`)

// AppendEventOnce is AppendEvent for a write that may be sent again: once
// names it (1-64 characters), and an event already written under once is
// not written again (the id returned is then ""). ErrDeleted once the
// workspace is deleted.
func (s *Store) AppendEventOnce(ctx context.Context, ws, once string, e Event) (string, error) {
	if !ValidWorkspaceID(ws) {
		return "", ErrNotFound
	}
	if once == "" || len(once) > 64 {
		return "", invalid("once", "1 to 64 characters")
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	args := []any{once, eventOnceKeep, s.eventsMaxLen, "type", e.Type, "time", e.Time.UTC().Format(time.RFC3339Nano), "call_id", e.CallID, "data", string(e.Data)}
	if len(e.Actor) > 0 {
		args = append(args, "actor", string(e.Actor))
	}
	id, err := appendEventOnceScript.Run(ctx, s.rdb, []string{keyTombstone(ws), keyEvents(ws), keyEventOnce(ws)}, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrDeleted
	}
	if err != nil {
		return "", unavailable("append event", err)
	}
	return id, nil
}
