package tenancy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The edge-node registry and the operators on calls, both call state the
// edge writes (design section 3):
//
//	edge:node:<id>:http   string  the node's HTTP address, with a TTL the node renews
//	edge:node-secret      string  the secret nodes sign forwarded requests with
//	{ws:<id>}:operators   hash    operator id -> OperatorRecord JSON (with its lease)
const keyNodeSecret = "edge:node-secret"

func keyNodeHTTP(node string) string { return "edge:node:" + node + ":http" }
func keyOperators(ws string) string  { return wsTag(ws) + ":operators" }
func validNodeID(node string) bool   { return node != "" && len(node) <= 128 }
func validOperatorID(id string) bool { return id != "" && len(id) <= 64 }

// RegisterNode records that edge node node serves HTTP at addr
// ("host:port"), for ttl; the node renews it well within ttl. Another node
// forwards an operator's request for a call of node there.
func (s *Store) RegisterNode(ctx context.Context, node, addr string, ttl time.Duration) error {
	if !validNodeID(node) || addr == "" || len(addr) > 256 || ttl <= 0 {
		return invalid("node", "node id 1-128 characters, address 1-256 characters and a positive ttl")
	}
	if err := s.rdb.Set(ctx, keyNodeHTTP(node), addr, ttl).Err(); err != nil {
		return unavailable("register node", err)
	}
	return nil
}

// UnregisterNode removes node's HTTP address (the node stops).
func (s *Store) UnregisterNode(ctx context.Context, node string) error {
	if !validNodeID(node) {
		return nil
	}
	if err := s.rdb.Del(ctx, keyNodeHTTP(node)).Err(); err != nil {
		return unavailable("unregister node", err)
	}
	return nil
}

// NodeHTTPAddr returns the HTTP address node registered, or ErrNotFound
// when it has none (never registered, or its registration expired).
func (s *Store) NodeHTTPAddr(ctx context.Context, node string) (string, error) {
	if !validNodeID(node) {
		return "", ErrNotFound
	}
	addr, err := s.rdb.Get(ctx, keyNodeHTTP(node)).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", unavailable("node address", err)
	}
	return addr, nil
}

// OperatorRecord is an operator on a call of a workspace, written by the
// edge node that carries the call, so that every node can say who is on
// a call.
type OperatorRecord struct {
	ID        string    `json:"id"`
	CallID    string    `json:"call_id"`
	AccountID string    `json:"account_id"`
	Mode      string    `json:"mode"`
	Muted     bool      `json:"muted"`
	NodeID    string    `json:"node_id"`
	JoinedAt  time.Time `json:"joined_at"`
	// Expires (Unix ms) is the lease of the record: a node that dies stops
	// renewing it and it disappears from ListOperators.
	Expires int64 `json:"expires"`
}

// PutOperator writes (or renews) operator rec of workspace ws with a lease.
func (s *Store) PutOperator(ctx context.Context, ws string, rec OperatorRecord, lease time.Duration) error {
	if !ValidWorkspaceID(ws) || !validOperatorID(rec.ID) {
		return ErrNotFound
	}
	rec.Expires = s.now().Add(lease).UnixMilli()
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode operator: %w", err)
	}
	n, err := putOperatorScript.Run(ctx, s.rdb, []string{keyTombstone(ws), keyOperators(ws)}, rec.ID, b).Int()
	if err != nil {
		return unavailable("put operator", err)
	}
	if n == 0 {
		return ErrDeleted
	}
	return nil
}

// RemoveOperator forgets operator id of workspace ws (it left).
func (s *Store) RemoveOperator(ctx context.Context, ws, id string) error {
	if !ValidWorkspaceID(ws) || !validOperatorID(id) {
		return nil
	}
	if err := s.rdb.HDel(ctx, keyOperators(ws), id).Err(); err != nil {
		return unavailable("remove operator", err)
	}
	return nil
}

// ListOperators returns the operators on calls of workspace ws whose
// lease holds, and removes the expired ones.
func (s *Store) ListOperators(ctx context.Context, ws string) ([]OperatorRecord, error) {
	if !ValidWorkspaceID(ws) {
		return nil, ErrNotFound
	}
	all, err := s.rdb.HGetAll(ctx, keyOperators(ws)).Result()
	if err != nil {
		return nil, unavailable("list operators", err)
	}
	now := s.now().UnixMilli()
	out := make([]OperatorRecord, 0, len(all))
	var expired []string
	for id, v := range all {
		var rec OperatorRecord
		if json.Unmarshal([]byte(v), &rec) != nil || rec.Expires < now {
			expired = append(expired, id)
			continue
		}
		out = append(out, rec)
	}
	if len(expired) > 0 {
		_ = s.rdb.HDel(ctx, keyOperators(ws), expired...).Err()
	}
	return out, nil
}

// NodeSecret returns the secret the edge nodes sharing this Redis sign the
// requests they forward each other with, creating it (32 random bytes) on
// first use: the first node to start sets it, every other reads it.
func (s *Store) NodeSecret(ctx context.Context) ([]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	fresh := hex.EncodeToString(b[:])
	if err := s.rdb.SetNX(ctx, keyNodeSecret, fresh, 0).Err(); err != nil {
		return nil, unavailable("node secret", err)
	}
	v, err := s.rdb.Get(ctx, keyNodeSecret).Result()
	if err != nil {
		return nil, unavailable("node secret", err)
	}
	if len(v) < 32 {
		return nil, invalid("node secret", "the stored secret is shorter than 32 bytes")
	}
	return []byte(v), nil
}
