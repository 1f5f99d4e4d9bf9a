package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestWriteOnlyRoundTrip checks that what the API shows (write-only fields
// removed or masked) can be written back without losing the secrets.
func TestWriteOnlyRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	p := tenancy.PlatformPrincipal

	t.Run("trunk without its password", func(t *testing.T) {
		tr := &tenancy.Trunk{ID: "t1", Name: "Carrier", AllowedCIDRs: []string{"203.0.113.0/24"}, Username: "carrier", Password: "secret-password-1"}
		if _, err := s.Put(ctx, p, w.ID, tenancy.KindTrunk, tr, tenancy.Create); err != nil {
			t.Fatal(err)
		}
		shown := tr.Redacted()
		shown.Name = "Renamed"
		if _, err := s.Put(ctx, p, w.ID, tenancy.KindTrunk, &shown, tenancy.Upsert); err != nil {
			t.Fatalf("replace without password: %v", err)
		}
		got, _ := s.Get(ctx, w.ID, tenancy.KindTrunk, "t1")
		if g := got.(*tenancy.Trunk); g.Password != "" || g.HA1 == nil || *g.HA1 != *tenancy.NewDigestHA1("edge", "carrier", "secret-password-1") || g.Name != "Renamed" {
			t.Fatalf("stored %+v", g)
		}
		fresh := &tenancy.Trunk{ID: "t2", Name: "New", AllowedCIDRs: []string{"203.0.113.0/24"}, Username: "carrier"}
		if _, err := s.Put(ctx, p, w.ID, tenancy.KindTrunk, fresh, tenancy.Upsert); !errors.Is(err, tenancy.ErrInvalid) {
			t.Fatalf("new trunk without password: %v", err)
		}
	})
	t.Run("data source with masked credentials", func(t *testing.T) {
		ds := &tenancy.DataSource{ID: "d1", Kind: "fhir", BaseURL: "https://ehr.example.org", Credentials: map[string]string{"token": "s3cret", "user": "u"}}
		if _, err := s.Put(ctx, p, w.ID, tenancy.KindDataSource, ds, tenancy.Create); err != nil {
			t.Fatal(err)
		}
		shown := ds.Redacted()
		shown.Credentials["user"] = "u2"
		if _, err := s.Put(ctx, p, w.ID, tenancy.KindDataSource, &shown, tenancy.Upsert); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, w.ID, tenancy.KindDataSource, "d1")
		if c := got.(*tenancy.DataSource).Credentials; c["token"] != "s3cret" || c["user"] != "u2" {
			t.Fatalf("stored credentials %v", c)
		}
	})
}
