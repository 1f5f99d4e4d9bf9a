package tenancytest

import (
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// SecretKey is a fixed EDGE_ADMIN_SECRET_KEY for tests (base64 of 32
// bytes); never use it anywhere else.
const SecretKey = "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMhISE="

// CredentialsKey is a fixed EDGE_CREDENTIALS_KEY for tests; never use it
// anywhere else.
const CredentialsKey = "dGVzdC1vbmx5LWNyZWRlbnRpYWxzLWtleS0zMmJ5dGU="

// Policy returns the platform policy of tests: the defaults, with a
// secret box on SecretKey so that data sources can hold credentials, and
// one on CredentialsKey so that outbound trunks can hold passwords.
func Policy(t testing.TB) tenancy.Policy {
	t.Helper()
	return tenancy.Policy{Secrets: box(t, SecretKey), Credentials: box(t, CredentialsKey)}
}

// CredentialsBox is the box of CredentialsKey, the edges' side.
func CredentialsBox(t testing.TB) *tenancy.SecretBox { return box(t, CredentialsKey) }

func box(t testing.TB, key string) *tenancy.SecretBox {
	t.Helper()
	b, err := tenancy.NewSecretBox(key)
	if err != nil {
		t.Fatalf("secret box: %v", err)
	}
	return b
}
