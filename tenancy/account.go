package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
)

// Account is a person or system of a workspace, with one role.
type Account struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	Role        Role      `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
}

// Validate checks every field of a.
func (a *Account) Validate() error {
	if err := validName("name", a.Name); err != nil {
		return err
	}
	if len(a.Email) > 254 {
		return invalid("email", "longer than 254 characters")
	}
	if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email {
		return invalid("email", "not an e-mail address")
	}
	if !a.Role.Valid() {
		return invalid("role", "must be owner, admin, member or viewer")
	}
	return nil
}

// APIKey is the stored side of an API key: never the secret itself, only
// its SHA-256. It authenticates to exactly one workspace and acts with its
// account's role at the time of use.
type APIKey struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	AccountID   string    `json:"account_id"`
	Name        string    `json:"name,omitempty"`
	Prefix      string    `json:"prefix"`
	Hash        string    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
}

// storedKey is how an APIKey is kept in Redis: the hash is stored, the
// secret never.
type storedKey struct {
	APIKey
	Hash string `json:"hash"`
}

// keyPrefix marks a secret as an edge API key, for secret scanners.
const keyPrefix = "edk_"

// NewKeySecret returns a new random API key secret (shown once) and the hash
// under which it is stored.
func NewKeySecret() (secret, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	secret = keyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, HashKey(secret)
}

// HashKey returns the stored form of a key secret.
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Principal is who a request acts as: an API key with its account's role as
// of now.
type Principal struct {
	WorkspaceID string
	AccountID   string
	KeyID       string
	Role        Role
	// Platform is the platform token, outside every workspace.
	Platform bool
	// Agent is a call token: the service of call CallID (service
	// ServiceID) of WorkspaceID, with no role; it reaches only the routes
	// open to agents.
	Agent     bool
	CallID    string
	ServiceID string
}

// PlatformPrincipal is the platform token's principal.
var PlatformPrincipal = Principal{AccountID: "platform", Platform: true}

// newID returns prefix + 16 random base32 characters.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(base32.StdEncoding.EncodeToString(b))
}
