package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// The world model's keys, beside the entity hashes of the storage
// contract ({ws:<id>}:entities:<kind>):
//
//	{ws:<id>}:projection:cursor  string  id of the last event applied
//	{ws:<id>}:projection:open    hash    call id -> openCall JSON, calls in progress
func keyEntities(ws, kind string) string { return wsTag(ws) + ":entities:" + kind }
func keyProjCursor(ws string) string     { return wsTag(ws) + ":projection:cursor" }
func keyProjOpen(ws string) string       { return wsTag(ws) + ":projection:open" }

// projectionKeys are every key of a workspace's world model but its
// event stream.
func projectionKeys(ws string) []string {
	return []string{keyEntities(ws, EntityCallers), keyEntities(ws, EntityServices), keyEntities(ws, EntityNumbers), keyProjCursor(ws), keyProjOpen(ws)}
}

// Bounds of one pass over an event stream.
const (
	projectBatch      = 500
	projectMaxBatches = 400 // 200000 events, above the stream's length bound
)

// Project applies the events of workspace ws that its projections have
// not seen yet, in batches; each batch is one optimistic transaction with
// the cursor, so that followers on several control-plane nodes, and a
// rebuild, never apply an event twice. It returns how many events it
// applied.
func (s *Store) Project(ctx context.Context, ws string) (int, error) {
	if !ValidWorkspaceID(ws) {
		return 0, ErrNotFound
	}
	total := 0
	for range projectMaxBatches {
		n, err := s.projectBatch(ctx, ws)
		total += n
		if err != nil || n < projectBatch {
			return total, err
		}
	}
	return total, nil
}

// projectBatch applies up to projectBatch new events of ws.
func (s *Store) projectBatch(ctx context.Context, ws string) (int, error) {
	for range maxTxRetries {
		applied := 0
		err := s.rdb.Watch(ctx, func(rtx *redis.Tx) error {
			applied = 0
			loc, err := workspaceLocation(ctx, rtx, ws)
			if err != nil {
				return err
			}
			cursor, err := rtx.Get(ctx, keyProjCursor(ws)).Result()
			if errors.Is(err, redis.Nil) {
				cursor = "0-0"
			} else if err != nil {
				return err
			}
			msgs, err := rtx.XRangeN(ctx, keyEvents(ws), "("+cursor, "+", projectBatch).Result()
			if err != nil || len(msgs) == 0 {
				return err
			}
			p := newProjection(storedLoader(ctx, rtx, ws), loc)
			for _, e := range decodeEvents(msgs) {
				if err := p.apply(e); err != nil {
					return err
				}
			}
			_, err = rtx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				return writeProjection(ctx, pipe, ws, p, msgs[len(msgs)-1].ID, false)
			})
			applied = len(msgs)
			return err
		}, keyProjCursor(ws), keyCfg(ws))
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			if isDomainError(err) {
				return 0, err
			}
			return 0, unavailable("project "+ws, err)
		}
		return applied, nil
	}
	return 0, conflict("too much contention on the projections of %s, try again", ws)
}

// RebuildProjections recomputes the projections of workspace ws from its
// event stream (as far as retention keeps it) and replaces them at once;
// events appended meanwhile are applied by the next Project. It returns
// how many events it read.
func (s *Store) RebuildProjections(ctx context.Context, ws string) (int, error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return 0, err
	}
	loc, err := workspaceLocation(ctx, s.rdb, ws)
	if err != nil {
		return 0, unavailable("rebuild "+ws, err)
	}
	p := newProjection(func(string, string) ([]byte, bool, error) { return nil, false, nil }, loc)
	last, n := "0-0", 0
	for range projectMaxBatches {
		msgs, err := s.rdb.XRangeN(ctx, keyEvents(ws), "("+last, "+", projectBatch).Result()
		if err != nil {
			return 0, unavailable("rebuild "+ws, err)
		}
		for _, e := range decodeEvents(msgs) {
			if err := p.apply(e); err != nil {
				return 0, err
			}
		}
		if len(msgs) > 0 {
			last, n = msgs[len(msgs)-1].ID, n+len(msgs)
		}
		if len(msgs) < projectBatch {
			break
		}
	}
	// Written only if the workspace still exists: a rebuild racing its
	// deletion leaves nothing behind.
	err = s.rdb.Watch(ctx, func(rtx *redis.Tx) error {
		if ok, err := rtx.HExists(ctx, keyCfg(ws), fieldWorkspace).Result(); err != nil || !ok {
			if err == nil {
				err = ErrNotFound
			}
			return err
		}
		_, err := rtx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			return writeProjection(ctx, pipe, ws, p, last, true)
		})
		return err
	}, keyCfg(ws))
	if errors.Is(err, redis.TxFailedErr) {
		return 0, conflict("workspace %s changed during the rebuild, try again", ws)
	}
	if err != nil {
		if isDomainError(err) {
			return 0, err
		}
		return 0, unavailable("rebuild "+ws, err)
	}
	return n, nil
}

// writeProjection queues the entities and open calls p holds and the new
// cursor; replace drops what was stored first.
func writeProjection(ctx context.Context, pipe redis.Pipeliner, ws string, p *projection, cursor string, replace bool) error {
	ents, open, err := p.encoded()
	if err != nil {
		return err
	}
	if replace {
		pipe.Del(ctx, projectionKeys(ws)...)
	}
	for kind, byID := range ents {
		if len(byID) == 0 {
			continue
		}
		args := make([]any, 0, 2*len(byID))
		for id, b := range byID {
			args = append(args, id, b)
		}
		pipe.HSet(ctx, keyEntities(ws, kind), args...)
	}
	var ended []string
	var live []any
	for id, b := range open {
		if b == nil {
			ended = append(ended, id)
		} else {
			live = append(live, id, b)
		}
	}
	if len(ended) > 0 && !replace {
		pipe.HDel(ctx, keyProjOpen(ws), ended...)
	}
	if len(live) > 0 {
		pipe.HSet(ctx, keyProjOpen(ws), live...)
	}
	pipe.Set(ctx, keyProjCursor(ws), cursor, 0)
	return nil
}

// storedLoader reads entities and open calls of ws through rdb.
func storedLoader(ctx context.Context, rdb redis.Cmdable, ws string) loader {
	return func(kind, id string) ([]byte, bool, error) {
		key := keyEntities(ws, kind)
		if kind == "open" {
			key = keyProjOpen(ws)
		}
		b, err := rdb.HGet(ctx, key, id).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
}

// workspaceLocation is the time zone of workspace ws (UTC when it sets
// none); ErrNotFound when the workspace does not exist.
func workspaceLocation(ctx context.Context, rdb redis.Cmdable, ws string) (*time.Location, error) {
	b, err := rdb.HGet(ctx, keyCfg(ws), fieldWorkspace).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var w Workspace
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode workspace %s: %w", ws, err)
	}
	if w.Settings.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(w.Settings.Timezone)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// ListEntities returns entities of kind of workspace ws sorted by id, at
// most limit after the id cursor after, and the cursor of the next page
// ("" at the end).
func (s *Store) ListEntities(ctx context.Context, ws, kind, after string, limit int) ([]json.RawMessage, string, error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return nil, "", err
	}
	if !ValidEntityKind(kind) {
		return nil, "", ErrNotFound
	}
	raw, err := s.scanFields(ctx, keyEntities(ws, kind), "")
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
	next := ""
	if limit > 0 && len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	out := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		out = append(out, json.RawMessage(raw[id]))
	}
	return out, next, nil
}
