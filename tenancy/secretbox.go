package tenancy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretBox encrypts secrets at rest with AES-256-GCM. Every ciphertext
// carries the id of the key that sealed it ("v1:<key id>:<base64url of
// nonce|ciphertext>"), so a rotated box still opens what an older key
// sealed: New keys seal, old keys only open. The additional data binds a
// ciphertext to the field it was written for, so a ciphertext moved to
// another workspace or data source does not open.
//
// Rotation: start edge-admin with the new key in EDGE_ADMIN_SECRET_KEY and
// the previous one in EDGE_ADMIN_SECRET_KEY_OLD; every write seals with the
// new key, and "edge-admin reencrypt" (Store.ReencryptSecrets) rewrites
// what is left; then drop the old key.
type SecretBox struct {
	current keyed
	old     []keyed
}

type keyed struct {
	id   string
	aead cipher.AEAD
}

// ErrSecretKey: a ciphertext that no configured key opens.
var ErrSecretKey = errors.New("secret sealed with an unknown key or tampered with")

// NewSecretBox returns a box sealing with current and opening with current
// and old; each is a base64 (standard or URL, padded or not) 32-byte key.
func NewSecretBox(current string, old ...string) (*SecretBox, error) {
	return newSecretBox("key", current, old...)
}

// SecretBoxFromEnv builds the box of the key in environment variable name
// (value current) and its rotation companion name_OLD (value old): nil
// when neither is set, an error naming the variable when one is wrong.
func SecretBoxFromEnv(name, current, old string) (*SecretBox, error) {
	switch {
	case current == "" && old == "":
		return nil, nil
	case current == "":
		return nil, fmt.Errorf("%s_OLD without %s", name, name)
	}
	return newSecretBox(name, current, old)
}

// newSecretBox is NewSecretBox; its errors name the key name and name_OLD.
func newSecretBox(name, current string, old ...string) (*SecretBox, error) {
	k, err := newKeyed(current)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b := &SecretBox{current: k}
	for _, o := range old {
		if o == "" {
			continue
		}
		k, err := newKeyed(o)
		if err != nil {
			return nil, fmt.Errorf("%s_OLD: %w", name, err)
		}
		b.old = append(b.old, k)
	}
	return b, nil
}

func newKeyed(s string) (keyed, error) {
	s = strings.TrimSpace(s)
	var raw []byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			raw = b
			break
		}
	}
	if len(raw) != 32 {
		return keyed{}, errors.New("want 32 bytes, base64-encoded (openssl rand -base64 32)")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return keyed{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keyed{}, err
	}
	sum := sha256.Sum256(raw)
	return keyed{id: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// KeyID is the id of the sealing key (the first 8 hex digits of its
// SHA-256), as stored with each ciphertext.
func (b *SecretBox) KeyID() string { return b.current.id }

// Seal encrypts plain for the place named by aad.
func (b *SecretBox) Seal(plain []byte, aad string) string {
	nonce := make([]byte, b.current.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := b.current.aead.Seal(nonce, nonce, plain, []byte(aad))
	return "v1:" + b.current.id + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a Seal result for the place named by aad. stale reports a
// ciphertext of an old key (to be sealed again).
func (b *SecretBox) Open(sealed, aad string) (plain []byte, stale bool, err error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != "v1" {
		return nil, false, ErrSecretKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, false, ErrSecretKey
	}
	for i, k := range append([]keyed{b.current}, b.old...) {
		if k.id != parts[1] || len(raw) < k.aead.NonceSize() {
			continue
		}
		n := k.aead.NonceSize()
		if p, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(aad)); err == nil {
			return p, i > 0, nil
		}
	}
	return nil, false, ErrSecretKey
}
