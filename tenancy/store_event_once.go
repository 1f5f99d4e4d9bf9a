package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
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
// bounded to about the newest eventOnceKeep (those and a few more,
// eventOnceTrimEvery): a replay comes right after the outage that made
// it, before any newer write of its workspace.
func keyEventOnce(ws string) string { return wsTag(ws) + ":evonce" }

// eventOnceKeep bounds the keys kept per workspace.
const eventOnceKeep = 10_000

// eventOnceTrimEvery: one write in this many (at random) trims the keys
// to the newest eventOnceKeep, so a workspace keeps its newest
// eventOnceKeep keys and a few more, as its events stream keeps about
// its maximum length (XADD MAXLEN ~); a trim on every write was one more
// command per event.
const eventOnceTrimEvery = 16

// eventOnceLua defines event_once(events, evonce, once, keep, maxlen,
// first): the write of an event under a once key that every script
// writing a call's events runs (appendEventOnceScript, recordEventScript,
// admitScript). Unless once is among the keys kept it appends the event
// whose fields and values are ARGV[first:], trimmed to about maxlen,
// records once at the event's time (the ms of its id: Redis's clock) and,
// unless keep is 0, trims the keys to keep; it returns the event's id, or
// "" when once was written already. xadd_once is the same for a caller
// that has checked once itself.
const eventOnceLua = `
local function xadd_once(events, evonce, once, keep, maxlen, first)
  local args = {'XADD', events, 'MAXLEN', '~', maxlen, '*'}
  for i = first, #ARGV do args[#args + 1] = ARGV[i] end
  local id = redis.call(unpack(args))
  redis.call('ZADD', evonce, string.match(id, '^%d+'), once)
  if keep ~= '0' then redis.call('ZREMRANGEBYRANK', evonce, 0, -(tonumber(keep) + 1)) end
  return id
end

local function event_once(events, evonce, once, keep, maxlen, first)
  if redis.call('ZSCORE', evonce, once) then return '' end
  return xadd_once(events, evonce, once, keep, maxlen, first)
end
`

// appendEventOnceScript appends an event unless the workspace is gone or
// an event was already written under the same key (then it returns "").
//
//	KEYS: tombstone, events, once keys
//	ARGV: key, keep, max length, field, value, ...
var appendEventOnceScript = redis.NewScript(eventOnceLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
return event_once(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], 4)`)

// AppendEventOnce is AppendEvent for a write that may be sent again: once
// names it (1-64 characters), and an event already written under once is
// not written again (the id returned is then ""). ErrDeleted once the
// workspace is deleted.
func (s *Store) AppendEventOnce(ctx context.Context, ws, once string, e Event) (string, error) {
	if !ValidWorkspaceID(ws) {
		return "", ErrNotFound
	}
	args, err := s.eventOnceArgs(once, e)
	if err != nil {
		return "", err
	}
	id, err := appendEventOnceScript.Run(ctx, s.calls, []string{keyTombstone(ws), keyEvents(ws), keyEventOnce(ws)}, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrDeleted
	}
	if err != nil {
		return "", unavailable("append event", err)
	}
	return id, nil
}

// eventOnceArgs are the ARGV of event_once from its once argument on:
// once, keep (eventOnceKeep one write in eventOnceTrimEvery, else 0: no
// trim), max length, then e's fields and values.
func (s *Store) eventOnceArgs(once string, e Event) ([]any, error) {
	if once == "" || len(once) > 64 {
		return nil, invalid("once", "1 to 64 characters")
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	keep := 0
	if rand.IntN(eventOnceTrimEvery) == 0 {
		keep = eventOnceKeep
	}
	args := []any{once, keep, s.eventsMaxLen, "type", e.Type, "time", e.Time.UTC().Format(time.RFC3339Nano), "call_id", e.CallID, "data", string(e.Data)}
	if len(e.Actor) > 0 {
		args = append(args, "actor", string(e.Actor))
	}
	return args, nil
}
