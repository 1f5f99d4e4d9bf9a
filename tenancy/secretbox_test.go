package tenancy_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func TestSecretBox(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	box1, err := tenancy.NewSecretBox(k1)
	if err != nil {
		t.Fatal(err)
	}
	sealed := box1.Seal([]byte("s3cret"), "ws_a/data_source:ehr")
	if !strings.HasPrefix(sealed, "v1:"+box1.KeyID()+":") || strings.Contains(sealed, "s3cret") {
		t.Fatalf("sealed %q", sealed)
	}
	t.Run("bound to its place", func(t *testing.T) {
		if _, _, err := box1.Open(sealed, "ws_b/data_source:ehr"); !errors.Is(err, tenancy.ErrSecretKey) {
			t.Fatalf("opened for another workspace: %v", err)
		}
		// One bit of the ciphertext flipped (replacing its last characters
		// could leave the bytes as they were: the last one's spare bits).
		i := strings.LastIndex(sealed, ":") + 1
		raw, err := base64.RawURLEncoding.DecodeString(sealed[i:])
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 1
		tampered := sealed[:i] + base64.RawURLEncoding.EncodeToString(raw)
		if _, _, err := box1.Open(tampered, "ws_a/data_source:ehr"); !errors.Is(err, tenancy.ErrSecretKey) {
			t.Fatalf("opened a tampered ciphertext: %v", err)
		}
	})
	t.Run("rotation", func(t *testing.T) {
		rotated, err := tenancy.NewSecretBox(k2, k1)
		if err != nil {
			t.Fatal(err)
		}
		plain, stale, err := rotated.Open(sealed, "ws_a/data_source:ehr")
		if err != nil || string(plain) != "s3cret" || !stale {
			t.Fatalf("old key's ciphertext: %q stale=%v %v", plain, stale, err)
		}
		fresh := rotated.Seal([]byte("s3cret"), "x")
		if _, stale, err := rotated.Open(fresh, "x"); err != nil || stale {
			t.Fatalf("new key's ciphertext: stale=%v %v", stale, err)
		}
		if _, _, err := box1.Open(fresh, "x"); !errors.Is(err, tenancy.ErrSecretKey) {
			t.Fatal("the old key alone opened the new key's ciphertext")
		}
	})
	t.Run("bad keys", func(t *testing.T) {
		for _, k := range []string{"", "c2hvcnQ=", "not base64 !!"} {
			if _, err := tenancy.NewSecretBox(k); err == nil {
				t.Errorf("key %q accepted", k)
			}
		}
	})
}

// TestReencryptSecrets rotates the key of stored credentials: readable
// with the old key kept for reads, sealed with the new one after
// ReencryptSecrets, and then readable without the old key.
func TestReencryptSecrets(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	k1, k2 := newKey(t), newKey(t)
	box1, _ := tenancy.NewSecretBox(k1)
	s1 := r.Store(t, tenancy.WithPolicy(tenancy.Policy{Secrets: box1}))
	w, _ := newWorkspace(t, s1, tenancy.EnvDevelopment)
	ds := &tenancy.DataSource{ID: "ehr", Kind: "fhir", BaseURL: "https://ehr.example.org", Credentials: map[string]string{"token": "s3cret"}}
	if _, err := s1.Put(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.KindDataSource, ds, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	both, _ := tenancy.NewSecretBox(k2, k1)
	s2 := r.Store(t, tenancy.WithPolicy(tenancy.Policy{Secrets: both}))
	if got, err := s2.Get(ctx, w.ID, tenancy.KindDataSource, "ehr"); err != nil || got.(*tenancy.DataSource).Credentials["token"] != "s3cret" {
		t.Fatalf("read with the old key kept: %+v %v", got, err)
	}
	// A trunk password stored in clear by an older version.
	legacy := `{"id":"old","name":"Old","allowed_cidrs":["192.0.2.0/24"],"username":"carrier","password":"legacy-password-1"}`
	if err := r.Client(t).HSet(ctx, "{ws:"+w.ID+"}:cfg", "trunk:old", legacy).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s2.ReencryptSecrets(ctx); err != nil || n != 2 {
		t.Fatalf("reencrypt: %d %v, want the data source and the trunk", n, err)
	}
	if raw, _ := r.Client(t).HGet(ctx, "{ws:"+w.ID+"}:cfg", "trunk:old").Result(); strings.Contains(raw, "legacy-password-1") {
		t.Fatalf("the legacy password is still in clear: %s", raw)
	}
	if rt, _ := r.Client(t).HGet(ctx, "{ws:"+w.ID+"}:routing", "trunk:old").Result(); !strings.Contains(rt, tenancy.NewDigestHA1("edge", "carrier", "legacy-password-1").MD5) {
		t.Fatalf("routing trunk after the upgrade: %s", rt)
	}
	if n, err := s2.ReencryptSecrets(ctx); err != nil || n != 0 {
		t.Fatalf("second reencrypt: %d %v, want nothing left", n, err)
	}
	only2, _ := tenancy.NewSecretBox(k2)
	s3 := r.Store(t, tenancy.WithPolicy(tenancy.Policy{Secrets: only2}))
	if got, err := s3.Get(ctx, w.ID, tenancy.KindDataSource, "ehr"); err != nil || got.(*tenancy.DataSource).Credentials["token"] != "s3cret" {
		t.Fatalf("read with the new key alone: %+v %v", got, err)
	}
	if _, err := s1.Get(ctx, w.ID, tenancy.KindDataSource, "ehr"); !errors.Is(err, tenancy.ErrSecretKey) {
		t.Fatalf("the retired key still reads: %v", err)
	}
}
