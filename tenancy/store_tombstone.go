package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// {ws:<id>}:deleted is a deleted workspace's tombstone: the only key of it
// that outlives DeleteWorkspace, holding nothing but "1", for
// TombstoneTTL. The edge's call-state writes (admission, record updates,
// the end of a call, events, operator presence) check it atomically in
// their script and write nothing when it is there, so a call that was
// still running when its workspace was deleted cannot bring its records
// or its event stream back.
func keyTombstone(ws string) string { return wsTag(ws) + ":deleted" }

// TombstoneTTL is how long a deleted workspace's tombstone stays: longer
// than any call lasts (the edge's maximum call duration defaults to 4h) and
// than its lease.
const TombstoneTTL = 48 * time.Hour

// ErrDeleted is what a call-state write of a deleted workspace returns;
// it matches ErrNotFound.
var ErrDeleted = fmt.Errorf("workspace deleted: %w", ErrNotFound)

// updateCallScript rewrites a call record unless the workspace is gone.
//
//	KEYS: tombstone, calls
//	ARGV: call id, record
var updateCallScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`)

// endCallScript writes a call's final record and frees its slot unless
// the workspace is gone.
//
//	KEYS: tombstone, calls, active
//	ARGV: call id, record
var endCallScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`)

// appendEventScript appends an event unless the workspace is gone.
//
//	KEYS: tombstone, events
//	ARGV: max length, field, value, ...
var appendEventScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*'}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
return redis.call(unpack(args))`)

// putOperatorScript records an operator's presence unless the workspace
// is gone.
//
//	KEYS: tombstone, operators
//	ARGV: operator id, record
var putOperatorScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`)

// guardedAppendEvent is AppendEvent's write: ErrDeleted for a deleted
// workspace.
func (s *Store) guardedAppendEvent(ctx context.Context, ws string, e Event) (string, error) {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	args := []any{s.eventsMaxLen, "type", e.Type, "time", e.Time.UTC().Format(time.RFC3339Nano), "call_id", e.CallID, "data", string(e.Data)}
	if len(e.Actor) > 0 {
		args = append(args, "actor", string(e.Actor))
	}
	id, err := appendEventScript.Run(ctx, s.rdb, []string{keyTombstone(ws), keyEvents(ws)}, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrDeleted
	}
	if err != nil {
		return "", unavailable("append event", err)
	}
	return id, nil
}
