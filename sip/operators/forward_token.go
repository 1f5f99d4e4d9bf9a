package operators

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// ForwardTokenHeader carries the proof with which one edge node forwards an
// operator's request to the node holding the call (forward.go). The
// caller's bearer key never leaves the node it reached: node-to-node
// traffic may cross a network where a key would be captured and kept.
//
// The token is a signed, short-lived statement "node N authenticated key K
// of workspace W for METHOD PATH", made with a secret all nodes share
// (Config.ForwardSecret). It names the key, not its role: the holding node
// resolves the key's account and role itself, as of now, so a key revoked
// or demoted in between is refused there too. It is bound to the request's
// method and path (with the query, the mode of a join), lives ForwardTTL,
// and is accepted once (its id is remembered until it expires), so a
// captured token replays nothing.
const ForwardTokenHeader = "X-Edge-Forward-Token"

// ForwardTTL is how long a forward token is valid.
const ForwardTTL = 30 * time.Second

// forwardClaims is what a forward token says.
type forwardClaims struct {
	Workspace string `json:"ws"`
	Key       string `json:"key"`
	Method    string `json:"m"`
	Path      string `json:"p"`
	From      string `json:"from"`
	Expires   int64  `json:"exp"`
	ID        string `json:"jti"`
}

// errForwardToken is every way a forward token can be wrong: the request
// is then unauthenticated (401), never told which check failed.
var errForwardToken = fmt.Errorf("%w: bad forward token", tenancy.ErrUnauthenticated)

// forwardSigner makes and checks forward tokens.
type forwardSigner struct {
	secret []byte
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // token id -> expiry
}

func newForwardSigner(secret []byte) *forwardSigner {
	return &forwardSigner{secret: secret, now: time.Now, seen: make(map[string]time.Time)}
}

// sign returns the token for p's request r, forwarded by node from.
func (f *forwardSigner) sign(p tenancy.Principal, r *http.Request, from string) (string, error) {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	c := forwardClaims{
		Workspace: p.WorkspaceID, Key: p.KeyID, Method: r.Method, Path: r.URL.RequestURI(), From: from,
		Expires: f.now().Add(ForwardTTL).Unix(), ID: base64.RawURLEncoding.EncodeToString(id[:]),
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	return payload + "." + base64.RawURLEncoding.EncodeToString(f.mac(payload)), nil
}

func (f *forwardSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, f.secret)
	m.Write([]byte("edge-forward-v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// verify checks a token against the request carrying it and returns its
// claims; each token is accepted once.
func (f *forwardSigner) verify(token string, r *http.Request) (forwardClaims, error) {
	var c forwardClaims
	if len(token) > 2048 {
		return c, errForwardToken
	}
	payload, sig, ok := strings.Cut(token, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(mac, f.mac(payload)) {
		return c, errForwardToken
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, errForwardToken
	}
	now := f.now()
	exp := time.Unix(c.Expires, 0)
	if !now.Before(exp) || exp.Sub(now) > ForwardTTL+5*time.Second ||
		c.Method != r.Method || c.Path != r.URL.RequestURI() || c.ID == "" || c.Workspace == "" || c.Key == "" {
		return c, errForwardToken
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, e := range f.seen {
		if !now.Before(e) {
			delete(f.seen, id)
		}
	}
	if _, replayed := f.seen[c.ID]; replayed {
		return c, errForwardToken
	}
	f.seen[c.ID] = exp
	return c, nil
}

// forwardedPrincipal authenticates a request another node forwarded: its
// token, then the key it names and that key's account and role now.
func (h *Handler) forwardedPrincipal(ctx context.Context, r *http.Request, token string) (tenancy.Principal, error) {
	if h.signer == nil {
		return tenancy.Principal{}, errForwardToken
	}
	c, err := h.signer.verify(token, r)
	if err != nil {
		h.metrics.forwarded.WithLabelValues("refused").Inc()
		return tenancy.Principal{}, err
	}
	key, err := h.store.GetAPIKey(ctx, c.Workspace, c.Key)
	if errors.Is(err, tenancy.ErrNotFound) {
		return tenancy.Principal{}, fmt.Errorf("%w: the forwarded key is gone", tenancy.ErrUnauthenticated)
	}
	if err != nil {
		return tenancy.Principal{}, err
	}
	acct, err := h.store.GetAccount(ctx, c.Workspace, key.AccountID)
	if errors.Is(err, tenancy.ErrNotFound) {
		return tenancy.Principal{}, fmt.Errorf("%w: the forwarded key's account is gone", tenancy.ErrUnauthenticated)
	}
	if err != nil {
		return tenancy.Principal{}, err
	}
	return tenancy.Principal{WorkspaceID: c.Workspace, AccountID: acct.ID, KeyID: key.ID, Role: acct.Role}, nil
}
