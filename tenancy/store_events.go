package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// AppendEvent adds e to workspace ws's event stream and returns its id;
// ErrDeleted (nothing written) once the workspace is deleted.
func (s *Store) AppendEvent(ctx context.Context, ws string, e Event) (string, error) {
	if !ValidWorkspaceID(ws) {
		return "", ErrNotFound
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return s.guardedAppendEvent(ctx, ws, e)
}

// AppendDomainEvent validates a domain event (ValidateEventType,
// ValidateEventData) and appends it to workspace ws's stream; nothing is
// written when it is invalid or the workspace does not exist. It returns
// the event as stored.
func (s *Store) AppendDomainEvent(ctx context.Context, ws string, e Event) (Event, error) {
	if err := ValidateEventType(e.Type); err != nil {
		return Event{}, err
	}
	if err := ValidateEventData(e.Data); err != nil {
		return Event{}, err
	}
	if len(e.Data) == 0 || string(e.Data) == "null" {
		e.Data = json.RawMessage("{}")
	}
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return Event{}, err
	}
	e.Time = s.now().UTC()
	id, err := s.AppendEvent(ctx, ws, e)
	if err != nil {
		return Event{}, err
	}
	e.ID = id
	return e, nil
}

// ValidEventCursor reports whether c is a stream id cursor ("" or ms-seq).
func ValidEventCursor(c string) bool {
	if c == "" {
		return true
	}
	ms, seq, ok := strings.Cut(c, "-")
	return ok && isDigits(ms) && isDigits(seq) && len(c) <= 41
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ListEvents returns up to limit events of workspace ws after cursor after
// (exclusive; "" from the start), oldest first, and the cursor of the next
// page ("" at the end).
func (s *Store) ListEvents(ctx context.Context, ws, after string, limit int) ([]Event, string, error) {
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		return nil, "", err
	}
	if !ValidEventCursor(after) {
		return nil, "", invalid("cursor", "not a cursor of this list")
	}
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := s.rdb.XRangeN(ctx, keyEvents(ws), start, "+", int64(limit)+1).Result()
	if err != nil {
		return nil, "", unavailable("list events", err)
	}
	next := ""
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	return decodeEvents(msgs), next, nil
}

// WaitEvents blocks up to wait for events of workspace ws after cursor after
// ("$" for only new ones) and returns them; a wait of zero or less does not
// block.
func (s *Store) WaitEvents(ctx context.Context, ws, after string, wait time.Duration) ([]Event, error) {
	if after == "" {
		after = "0-0"
	}
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{keyEvents(ws), after}, Count: 100, Block: xreadBlock(wait)}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailable("wait events", err)
	}
	var out []Event
	for _, st := range res {
		out = append(out, decodeEvents(st.Messages)...)
	}
	return out, nil
}

// LastEventID returns the id of the newest event of ws, or "0-0".
func (s *Store) LastEventID(ctx context.Context, ws string) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, keyEvents(ws), "+", "-", 1).Result()
	if err != nil {
		return "", unavailable("last event", err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

func decodeEvents(msgs []redis.XMessage) []Event {
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		e := Event{ID: m.ID}
		e.Type, _ = m.Values["type"].(string)
		e.CallID, _ = m.Values["call_id"].(string)
		if t, ok := m.Values["time"].(string); ok {
			e.Time, _ = time.Parse(time.RFC3339Nano, t)
		}
		if d, ok := m.Values["data"].(string); ok && json.Valid([]byte(d)) {
			e.Data = json.RawMessage(d)
		} else {
			e.Data = json.RawMessage("{}")
		}
		if a, ok := m.Values["actor"].(string); ok && json.Valid([]byte(a)) {
			e.Actor = json.RawMessage(a)
		}
		out = append(out, e)
	}
	return out
}

// TrimEvents drops the events of workspace ws older than its
// settings.event_retention_days (nothing when it is 0), and the
// projection's memory of calls that started before then and never ended
// (their edge died). It returns how many events it dropped.
func (s *Store) TrimEvents(ctx context.Context, ws string) (int64, error) {
	w, err := s.GetWorkspace(ctx, ws)
	if err != nil || w.Settings.EventRetentionDays == 0 {
		return 0, err
	}
	cutoff := s.now().Add(-time.Duration(w.Settings.EventRetentionDays) * 24 * time.Hour)
	n, err := s.rdb.XTrimMinID(ctx, keyEvents(ws), strconv.FormatInt(cutoff.UnixMilli(), 10)+"-0").Result()
	if err != nil {
		return 0, unavailable("trim events", err)
	}
	open, err := s.rdb.HGetAll(ctx, keyProjOpen(ws)).Result()
	if err != nil {
		return n, unavailable("trim open calls", err)
	}
	var stale []string
	for id, v := range open {
		var oc openCall
		if json.Unmarshal([]byte(v), &oc) != nil || oc.StartedAt.Before(cutoff) {
			stale = append(stale, id)
		}
	}
	if len(stale) > 0 {
		if err := s.rdb.HDel(ctx, keyProjOpen(ws), stale...).Err(); err != nil {
			return n, unavailable("trim open calls", err)
		}
	}
	return n, nil
}
