package tenancy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestOutboundPasswordSealedAtRest: an outbound trunk's password is in no
// Redis value in clear (workspace hash, routing hash); the edge's store,
// holding only EDGE_CREDENTIALS_KEY, opens it for a dial, a store with
// another key or none cannot, and a ciphertext moved to another
// workspace's trunk does not open there. A client's password_sealed is
// discarded; without the key a password is refused naming the field.
func TestOutboundPasswordSealedAtRest(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	other, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	for _, ws := range []string{w.ID, other.ID} {
		o := validOutbound()
		o.CallerID = tenancy.CallerIDPolicy{Mode: tenancy.CallerIDOwnNumbers}
		if _, err := admin.Put(ctx, tenancy.PlatformPrincipal, ws, tenancy.KindOutboundTrunk, o, tenancy.Create); err != nil {
			t.Fatal(err)
		}
	}
	rdb := r.Client(t)
	field := "outbound_trunk:carrier-out"
	for _, key := range []string{"{ws:" + w.ID + "}:cfg", "{ws:" + w.ID + "}:routing"} {
		v, err := rdb.HGet(ctx, key, field).Result()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if strings.Contains(v, "carrier-secret-1") || strings.Contains(v, `"password"`) {
			t.Fatalf("%s holds the password in clear: %s", key, v)
		}
		if sealed := strings.Contains(v, "password_sealed"); sealed != strings.HasSuffix(key, ":cfg") {
			t.Fatalf("%s: password_sealed present %v: %s", key, sealed, v)
		}
	}

	edge := r.Store(t, tenancy.WithPolicy(tenancy.Policy{Credentials: tenancytest.CredentialsBox(t)}))
	if u, p, err := edge.OutboundCredentials(ctx, w.ID, "carrier-out"); err != nil || u != "clinic-01" || p != "carrier-secret-1" {
		t.Fatalf("the edge opens %q %q %v", u, p, err)
	}
	wrong, _ := tenancy.NewSecretBox("b3RoZXItdGVzdC1rZXktb2YtdGhpcnR5LXR3by1ieXQ=")
	for name, st := range map[string]*tenancy.Store{
		"no key":    r.Store(t),
		"wrong key": r.Store(t, tenancy.WithPolicy(tenancy.Policy{Credentials: wrong})),
	} {
		if _, p, err := st.OutboundCredentials(ctx, w.ID, "carrier-out"); !errors.Is(err, tenancy.ErrSecretKey) || p != "" {
			t.Errorf("%s: %q %v, want ErrSecretKey", name, p, err)
		}
	}

	// The ciphertext of w's trunk, copied into other's, does not open.
	mine, _ := rdb.HGet(ctx, "{ws:"+w.ID+"}:cfg", field).Result()
	if err := rdb.HSet(ctx, "{ws:"+other.ID+"}:cfg", field, mine).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := edge.OutboundCredentials(ctx, other.ID, "carrier-out"); !errors.Is(err, tenancy.ErrSecretKey) {
		t.Fatalf("a ciphertext moved across workspaces opened: %v", err)
	}

	// A client's password_sealed is discarded: the stored password stays.
	shown := validOutbound()
	shown.Password, shown.PasswordSealed, shown.Name = "", "v1:00000000:bogus", "Renamed"
	if _, err := admin.Put(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.KindOutboundTrunk, shown, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	if _, p, err := edge.OutboundCredentials(ctx, w.ID, "carrier-out"); err != nil || p != "carrier-secret-1" {
		t.Fatalf("after a replace carrying password_sealed: %q %v", p, err)
	}

	keyless := r.Store(t)
	o := validOutbound()
	o.ID = "second"
	_, err := keyless.Put(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.KindOutboundTrunk, o, tenancy.Create)
	var ve *tenancy.ValidationError
	if !errors.As(err, &ve) || ve.Field != "password" || !strings.Contains(err.Error(), "EDGE_CREDENTIALS_KEY") {
		t.Fatalf("a password without the key: %v", err)
	}
	if ok, _ := rdb.HExists(ctx, "{ws:"+w.ID+"}:cfg", "outbound_trunk:second").Result(); ok {
		t.Fatal("the refused trunk was written")
	}
}

// TestOutboundPasswordInClearSealedByReencrypt: a password an older
// version stored in clear still dials, and "edge-admin reencrypt" seals it.
func TestOutboundPasswordInClearSealedByReencrypt(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	admin := r.Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	w, _ := newWorkspace(t, admin, tenancy.EnvDevelopment)
	o := validOutbound()
	o.CallerID = tenancy.CallerIDPolicy{Mode: tenancy.CallerIDOwnNumbers}
	if _, err := admin.Put(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.KindOutboundTrunk, o, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	rdb := r.Client(t)
	legacy := `{"id":"carrier-out","name":"Termination","gateways":[{"host":"127.0.0.1","port":5090,"priority":0,"weight":0}],` +
		`"username":"clinic-01","password":"carrier-secret-1","caller_id":{"mode":"own_numbers"},"max_cps":5,"allowed_prefixes":["+1312"]}`
	if err := rdb.HSet(ctx, "{ws:"+w.ID+"}:cfg", "outbound_trunk:carrier-out", legacy).Err(); err != nil {
		t.Fatal(err)
	}
	edge := r.Store(t, tenancy.WithPolicy(tenancy.Policy{Credentials: tenancytest.CredentialsBox(t)}))
	if _, p, err := edge.OutboundCredentials(ctx, w.ID, "carrier-out"); err != nil || p != "carrier-secret-1" {
		t.Fatalf("legacy clear password: %q %v", p, err)
	}
	n, err := admin.ReencryptSecrets(ctx)
	if err != nil || n < 1 {
		t.Fatalf("reencrypt: %d %v", n, err)
	}
	v, _ := rdb.HGet(ctx, "{ws:"+w.ID+"}:cfg", "outbound_trunk:carrier-out").Result()
	if strings.Contains(v, "carrier-secret-1") || !strings.Contains(v, "password_sealed") {
		t.Fatalf("after reencrypt: %s", v)
	}
	if _, p, err := edge.OutboundCredentials(ctx, w.ID, "carrier-out"); err != nil || p != "carrier-secret-1" {
		t.Fatalf("after reencrypt: %q %v", p, err)
	}
}
