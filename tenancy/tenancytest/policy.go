package tenancytest

import (
	"testing"

	"github.com/voiceedge/edge/tenancy"
)

// SecretKey is a fixed EDGE_ADMIN_SECRET_KEY for tests (base64 of 32
// bytes); never use it anywhere else.
const SecretKey = "dGVzdC1vbmx5LXNlY3JldC1rZXktMzItYnl0ZXMhISE="

// Policy returns the platform policy of tests: the defaults, with a
// secret box on SecretKey so that data sources can hold credentials.
func Policy(t testing.TB) tenancy.Policy {
	t.Helper()
	box, err := tenancy.NewSecretBox(SecretKey)
	if err != nil {
		t.Fatalf("secret box: %v", err)
	}
	return tenancy.Policy{Secrets: box}
}
