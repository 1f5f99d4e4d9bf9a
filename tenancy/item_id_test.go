package tenancy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Front desk agent", "front-desk-agent"},
		{"  After-hours -- triage!  ", "after-hours-triage"},
		{"Dr. Müller's line", "dr-m-ller-s-line"},
		{"東京", ""},
		{"---", ""},
		{strings.Repeat("a", 80), strings.Repeat("a", 56)},
		{strings.Repeat("ab ", 30), strings.TrimRight(strings.Repeat("ab-", 19), "-")},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := tenancy.Slug(tc.in)
			if got != tc.want || got != "" && !tenancy.ValidID(got) {
				t.Fatalf("Slug(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestCreateDerivesIDs creates items without id: the slug of the name,
// made unique with a suffix, or a generated id; a given id is kept.
func TestCreateDerivesIDs(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	w, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	svc := func(id, name string) *tenancy.Service {
		return &tenancy.Service{ID: id, Name: name, Target: "sip:agent@127.0.0.1"}
	}
	tests := []struct {
		name   string
		kind   tenancy.Kind
		item   tenancy.Item
		wantID string // "prefix*" matches a generated id
	}{
		{"slug of the name", tenancy.KindService, svc("", "Front desk"), "front-desk"},
		{"taken: suffix 2", tenancy.KindService, svc("", "Front  Desk"), "front-desk-2"},
		{"taken twice: suffix 3", tenancy.KindService, svc("", "front desk"), "front-desk-3"},
		{"client id kept", tenancy.KindService, svc("my-own", "Front desk"), "my-own"},
		{"no usable name", tenancy.KindService, svc("", "東京"), "svc-*"},
		{"trunk", tenancy.KindTrunk, &tenancy.Trunk{Name: "Carrier A", AllowedCIDRs: []string{"203.0.113.0/24"}}, "carrier-a"},
		{"policy", tenancy.KindSafetyPolicy, &tenancy.SafetyPolicy{Name: "Emergencies"}, "emergencies"},
		{"data source by name", tenancy.KindDataSource, &tenancy.DataSource{Name: "Main EHR", Kind: "fhir", BaseURL: "https://ehr.example.org"}, "main-ehr"},
		{"data source by kind", tenancy.KindDataSource, &tenancy.DataSource{Kind: "fhir", BaseURL: "https://ehr.example.org"}, "fhir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Create(ctx, tenancy.PlatformPrincipal, w.ID, tc.kind, tc.item)
			if err != nil || !res.Created {
				t.Fatalf("create: %+v %v", res, err)
			}
			id := tc.item.ItemID()
			if p, ok := strings.CutSuffix(tc.wantID, "*"); ok && !strings.HasPrefix(id, p) || !ok && id != tc.wantID {
				t.Fatalf("id %q, want %q", id, tc.wantID)
			}
			if _, err := s.Get(ctx, w.ID, tc.kind, id); err != nil {
				t.Fatalf("get %s: %v", id, err)
			}
		})
	}
	if _, err := s.Create(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.KindService, svc("my-own", "Again")); err == nil {
		t.Fatalf("a taken client id is created again")
	}
}
