package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// A call's transitions write its record and its event together: the
// answer (UpdateCallEvent: the record, call.answered) and the end
// (EndCallEvent: the final record, the slot, call.ended; with
// EndCallEventToken the token's end too), each in one script, so one
// round trip, in the call's workspace's slot ({ws:<id>}).
// The event is written under a once key as AppendEventOnce writes it; a
// write sent again whose once key is there (Redis applied it, its answer
// was lost) writes nothing, neither the record nor the event, and the
// record then is what the first write left.

// recordEventScript writes a call's record, frees its slot when ARGV[3]
// is "1", sets the call's token (KEYS[6], when there is one) to expire
// within ARGV[4] ms, and appends its event under a once key, unless the
// workspace is gone (false) or the once key was written already (an empty
// string).
//
//	KEYS: tombstone, calls, events, once keys, active[, token]
//	ARGV: call id, record, free the slot ("1" or "0"), token grace ms, once, keep, events max length, field, value, ...
var recordEventScript = redis.NewScript(eventOnceLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
if redis.call('ZSCORE', KEYS[4], ARGV[5]) then return '' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '1' then redis.call('ZREM', KEYS[5], ARGV[1]) end
if KEYS[6] then redis.call('PEXPIRE', KEYS[6], ARGV[4], 'LT') end
return xadd_once(KEYS[3], KEYS[4], ARGV[5], ARGV[6], ARGV[7], 8)`)

// UpdateCallEvent is UpdateCall then AppendEventOnce(ws, once, e) in one
// script: it rewrites the record of a call the edge carries and appends e
// (call.answered). It returns the event's id, "" when once was written
// already (then nothing is written); ErrDeleted once the workspace is
// deleted.
func (s *Store) UpdateCallEvent(ctx context.Context, rec CallRecord, once string, e Event) (string, error) {
	return s.recordEvent(ctx, "update call", rec, false, "", once, e)
}

// EndCallEvent is EndCall then AppendEventOnce(ws, once, e) in one
// script: it writes the final record of a call, releases its slot and
// appends e (call.ended). Its answers are UpdateCallEvent's.
func (s *Store) EndCallEvent(ctx context.Context, rec CallRecord, once string, e Event) (string, error) {
	return s.recordEvent(ctx, "end call", rec, true, "", once, e)
}

// EndCallEventToken is EndCallEvent that also ends the call's token, as
// EndCallToken does, in the same script: tokenHash is the token's
// CallTokenHash ("", or what is not one: no token to end). Nothing of it
// is written when EndCallEvent writes nothing.
func (s *Store) EndCallEventToken(ctx context.Context, rec CallRecord, once string, e Event, tokenHash string) (string, error) {
	return s.recordEvent(ctx, "end call", rec, true, tokenHash, once, e)
}

func (s *Store) recordEvent(ctx context.Context, what string, rec CallRecord, free bool, tokenHash, once string, e Event) (string, error) {
	ws := rec.WorkspaceID
	if !ValidWorkspaceID(ws) {
		return "", ErrNotFound
	}
	b, err := encodeCall(rec)
	if err != nil {
		return "", fmt.Errorf("encode call: %w", err)
	}
	ev, err := s.eventOnceArgs(once, e)
	if err != nil {
		return "", err
	}
	flag := "0"
	if free {
		flag = "1"
	}
	keys := []string{keyTombstone(ws), keyCalls(ws), keyEvents(ws), keyEventOnce(ws), keyActive(ws)}
	if validTokenHash(tokenHash) {
		keys = append(keys, keyCallToken(ws, tokenHash))
	}
	args := append([]any{rec.ID, b, flag, CallTokenGrace.Milliseconds()}, ev...)
	id, err := recordEventScript.Run(ctx, s.calls, keys, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", ErrDeleted
	}
	if err != nil {
		return "", unavailable(what, err)
	}
	return id, nil
}
