package tenancy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Call tokens (design section 12). Each call gives its service a random,
// call-scoped token (X-Edge-Call-Token) with which the service reads its
// call's context from the control plane and posts to its workspace's world
// model. A token is "<workspace id>.<43 base64url characters>" (256 random
// bits): the workspace part finds the slot of its record without a global
// index. It is stored only as its SHA-256, under
//
//	{ws:<id>}:calltoken:<sha256 hex>  string  callToken JSON, with a TTL
//
// and it is valid while its call lasts and CallTokenGrace after: the
// control plane checks the call's record and lease, not only the key, so
// a token outlives neither its call (plus grace) nor a crashed edge's
// lease (plus grace), whatever the key's TTL.
func keyCallToken(ws, hash string) string { return wsTag(ws) + ":calltoken:" + hash }

// CallTokenGrace is how long a call's token works after the call ends.
const CallTokenGrace = 60 * time.Second

// callTokenSecretLen is the length of the random part of a token.
const callTokenSecretLen = 43

// callToken is the stored record of a token.
type callToken struct {
	CallID    string `json:"call_id"`
	ServiceID string `json:"service_id"`
}

// IsCallToken reports whether a bearer token has the form of a call token
// (not whether it is valid).
func IsCallToken(token string) bool {
	ws, secret, ok := strings.Cut(token, ".")
	return ok && ValidWorkspaceID(ws) && len(secret) == callTokenSecretLen
}

// IssueCallToken makes the token of call callID of workspace ws (to
// service serviceID) and stores its hash for ttl, which should cover the
// call's longest possible life; the edge shortens it with EndCallToken.
// The token is returned once and must never be logged.
func (s *Store) IssueCallToken(ctx context.Context, ws, callID, serviceID string, ttl time.Duration) (string, error) {
	t, err := newCallToken(ws, callID, serviceID, ttl)
	if err != nil {
		return "", err
	}
	n, err := issueTokenScript.Run(ctx, s.calls, []string{keyTombstone(ws), t.key}, t.rec, t.ttl.Milliseconds()).Int()
	if err != nil {
		return "", unavailable("issue call token", err)
	}
	if n == 0 {
		return "", ErrDeleted
	}
	return t.token, nil
}

// issuedToken is a new call token and what is stored of it: rec under
// key (its hash's), for ttl.
type issuedToken struct {
	token, key string
	rec        []byte
	ttl        time.Duration
}

// newCallToken makes the token of call callID of workspace ws, to
// service serviceID, to be stored for ttl.
func newCallToken(ws, callID, serviceID string, ttl time.Duration) (issuedToken, error) {
	if !ValidWorkspaceID(ws) || callID == "" || len(callID) > 128 || ttl <= 0 {
		return issuedToken{}, invalid("call", "a workspace id, a call id and a positive ttl")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token := ws + "." + base64.RawURLEncoding.EncodeToString(b)
	rec, err := json.Marshal(callToken{CallID: callID, ServiceID: serviceID})
	if err != nil {
		return issuedToken{}, fmt.Errorf("encode call token: %w", err)
	}
	return issuedToken{token: token, key: keyCallToken(ws, HashKey(token)), rec: rec, ttl: ttl}, nil
}

// issueTokenScript stores a token's record unless its workspace is gone
// (its tombstone), so that a call of a deleted workspace leaves no token
// behind.
//
//	KEYS: tombstone, token
//	ARGV: record, ttl ms
var issueTokenScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`)

// EndCallToken sets the token of an ended call to expire after
// CallTokenGrace (never later than it would have).
func (s *Store) EndCallToken(ctx context.Context, token string) error {
	if !IsCallToken(token) {
		return nil
	}
	ws, _, _ := strings.Cut(token, ".")
	key := keyCallToken(ws, HashKey(token))
	if err := s.rdb.ExpireLT(ctx, key, CallTokenGrace).Err(); err != nil {
		return unavailable("end call token", err)
	}
	return nil
}

// CallTokenHash is what EndCallEventToken takes of a call's token to end
// it: the hash it is stored under (HashKey), not the secret, so that it
// may be kept where the token may not (the edge's spool); "" for what is
// not a call token.
func CallTokenHash(token string) string {
	if !IsCallToken(token) {
		return ""
	}
	return HashKey(token)
}

// validTokenHash reports whether h has the form of a CallTokenHash.
func validTokenHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// AuthenticateCallToken resolves a call token to the principal of its
// call's service: the call's workspace, call and service, as an agent. A
// token that is malformed, unknown (forged), expired, of a call that ended
// more than CallTokenGrace ago, of a call whose lease lapsed that long ago,
// or of a deleted workspace is ErrUnauthenticated; they are not told
// apart.
func (s *Store) AuthenticateCallToken(ctx context.Context, token string) (Principal, error) {
	if !IsCallToken(token) {
		return Principal{}, ErrUnauthenticated
	}
	ws, _, _ := strings.Cut(token, ".")
	b, err := s.rdb.Get(ctx, keyCallToken(ws, HashKey(token))).Bytes()
	if errors.Is(err, redis.Nil) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, unavailable("authenticate call token", err)
	}
	var ct callToken
	if err := json.Unmarshal(b, &ct); err != nil {
		return Principal{}, ErrUnauthenticated
	}
	if err := s.callLive(ctx, ws, ct.CallID); err != nil {
		return Principal{}, err
	}
	if _, err := s.GetWorkspace(ctx, ws); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		return Principal{}, err
	}
	return Principal{WorkspaceID: ws, CallID: ct.CallID, ServiceID: ct.ServiceID, Agent: true}, nil
}

// callLive checks that call id of ws is in progress or ended less than
// CallTokenGrace ago; ErrUnauthenticated otherwise.
func (s *Store) callLive(ctx context.Context, ws, id string) error {
	rec, err := s.GetCall(ctx, ws, id)
	if errors.Is(err, ErrNotFound) {
		return ErrUnauthenticated
	}
	if err != nil {
		return err
	}
	now := s.now()
	if rec.State == CallEnded {
		if rec.EndedAt == nil || now.After(rec.EndedAt.Add(CallTokenGrace)) {
			return ErrUnauthenticated
		}
		return nil
	}
	score, err := s.rdb.ZScore(ctx, keyActive(ws), id).Result()
	if errors.Is(err, redis.Nil) {
		return ErrUnauthenticated
	}
	if err != nil {
		return unavailable("authenticate call token", err)
	}
	if now.After(time.UnixMilli(int64(score)).Add(CallTokenGrace)) {
		return ErrUnauthenticated
	}
	return nil
}
