package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Agent-placed calls (design section 11). The control plane records the
// call and appends a dial request to one global stream that every edge
// reads through one consumer group, so exactly one edge places each call
// (whichever is free to read first); the edge then owns the call as if it
// had arrived from a trunk.
//
//	edge:dials   stream  dial requests; consumer group "edges", consumers are node ids
const (
	keyDials   = "edge:dials"
	dialsGroup = "edges"
)

// Call directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// CallDialing is the state of an agent-placed call no edge has picked up
// yet.
const CallDialing = "dialing"

// DialRequest asks an edge to place an agent's call.
type DialRequest struct {
	StreamID    string          `json:"-"`
	WorkspaceID string          `json:"workspace_id"`
	CallID      string          `json:"call_id"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	ServiceID   string          `json:"service_id"`
	TrunkID     string          `json:"outbound_trunk_id"`
	Voice       json.RawMessage `json:"voice_settings,omitempty"`
	RequestedAt time.Time       `json:"requested_at"`
}

// RequestDial records call rec (state dialing, direction outbound) and
// appends its dial request, atomically in the order record-then-request so
// that an edge never reads a request whose call is not recorded.
func (s *Store) RequestDial(ctx context.Context, rec CallRecord, dr DialRequest) error {
	if !ValidWorkspaceID(rec.WorkspaceID) || rec.ID == "" || dr.CallID != rec.ID || dr.WorkspaceID != rec.WorkspaceID {
		return invalid("call", "inconsistent dial request")
	}
	b, err := encodeCall(rec)
	if err != nil {
		return fmt.Errorf("encode call: %w", err)
	}
	d, err := json.Marshal(dr)
	if err != nil {
		return fmt.Errorf("encode dial request: %w", err)
	}
	ws := rec.WorkspaceID
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, keyCalls(ws), rec.ID, b)
		p.ZAdd(ctx, keyCallIdx(ws), redis.Z{Score: float64(rec.StartedAt.UnixMilli()), Member: rec.ID})
		return nil
	})
	if err != nil {
		return unavailable("record call", err)
	}
	if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: keyDials, MaxLen: 10_000, Approx: true, Values: []any{"req", d}}).Err(); err != nil {
		return unavailable("request dial", err)
	}
	return nil
}

// ReadDials blocks up to wait for dial requests no other edge has taken,
// as consumer node, and acknowledges them at once (the group is created on
// first use from the start of the stream: requests made before any edge
// read are not lost; stale ones are refused by the edge's expiry check): a request is placed at
// most once (an edge that dies right after reading loses it; its call
// record stays "dialing" and the caller retries).
func (s *Store) ReadDials(ctx context.Context, node string, wait time.Duration) ([]DialRequest, error) {
	if !validNodeID(node) {
		return nil, invalid("node", "node id 1-128 characters")
	}
	args := &redis.XReadGroupArgs{Group: dialsGroup, Consumer: node, Streams: []string{keyDials, ">"}, Count: 20, Block: xreadBlock(wait)}
	res, err := s.rdb.XReadGroup(ctx, args).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		if err := s.rdb.XGroupCreateMkStream(ctx, keyDials, dialsGroup, "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return nil, unavailable("create dial group", err)
		}
		res, err = s.rdb.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailable("read dials", err)
	}
	var out []DialRequest
	var ids []string
	for _, st := range res {
		for _, m := range st.Messages {
			ids = append(ids, m.ID)
			raw, _ := m.Values["req"].(string)
			var dr DialRequest
			if json.Unmarshal([]byte(raw), &dr) != nil {
				continue
			}
			dr.StreamID = m.ID
			out = append(out, dr)
		}
	}
	if len(ids) > 0 {
		if err := s.rdb.XAck(ctx, keyDials, dialsGroup, ids...).Err(); err != nil {
			return nil, unavailable("ack dials", err)
		}
	}
	return out, nil
}

// NumberOwner returns the workspace that owns E.164 number ("" when none).
func (s *Store) NumberOwner(ctx context.Context, number string) (string, error) {
	ws, err := s.rdb.HGet(ctx, keyNumbers, number).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable("number owner", err)
	}
	return ws, nil
}
