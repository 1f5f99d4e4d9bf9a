package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestQuotas fills workspace A to each of its quotas: the next write is
// refused naming the quota, nothing of it is stored, and workspace B still
// writes every kind.
func TestQuotas(t *testing.T) {
	ctx := context.Background()
	p := tenancy.PlatformPrincipal
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithPolicy(tenancy.Policy{Quotas: tenancy.Quotas{
		Services: 2, Numbers: 2, Trunks: 2, SafetyPolicies: 2, DataSources: 2, Accounts: 3,
		KeysPerAccount: 2, KeysPerWorkspace: 5, ContextGraphBytes: 64, AgentConfigBytes: 32,
	}, Secrets: tenancytest.Policy(t).Secrets}))
	a, ownerA := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, ownerB := newWorkspace(t, s, tenancy.EnvDevelopment)

	type kindItem struct {
		kind  tenancy.Kind
		item  tenancy.Item
		quota string
	}
	third := map[string]int{a.ID: 1, b.ID: 2}
	items := func(ws string, i int) []kindItem {
		return []kindItem{
			{tenancy.KindService, &tenancy.Service{ID: fmt.Sprint("svc-", i), Name: "S", Target: "sip:a@127.0.0.2"}, "services"},
			{tenancy.KindTrunk, &tenancy.Trunk{ID: fmt.Sprint("t-", i), Name: "T", AllowedCIDRs: []string{fmt.Sprintf("10.%d.%d.0/24", third[ws], i)}}, "trunks"},
			{tenancy.KindSafetyPolicy, &tenancy.SafetyPolicy{ID: fmt.Sprint("sp-", i), Name: "P"}, "safety_policies"},
			{tenancy.KindDataSource, &tenancy.DataSource{ID: fmt.Sprint("ds-", i), Kind: "fhir", BaseURL: "https://ehr.example.org"}, "data_sources"},
		}
	}
	numbers := map[string][]string{a.ID: {"+15550001001", "+15550001002", "+15550001003"}, b.ID: {"+15550002001", "+15550002002", "+15550002003"}}
	fill := func(ws string) {
		t.Helper()
		for i := 0; i < 2; i++ {
			for _, ki := range items(ws, i) {
				if _, err := s.Put(ctx, p, ws, ki.kind, ki.item, tenancy.Create); err != nil {
					t.Fatalf("%s %d of %s: %v", ki.kind.Name, i, ws, err)
				}
			}
			n := &tenancy.PhoneNumber{Number: numbers[ws][i], ServiceID: "svc-0"}
			if _, err := s.Put(ctx, p, ws, tenancy.KindNumber, n, tenancy.Create); err != nil {
				t.Fatalf("number %d of %s: %v", i, ws, err)
			}
		}
	}
	fill(a.ID)
	wantQuota := func(t *testing.T, err error, quota string) {
		t.Helper()
		var qe *tenancy.QuotaError
		if !errors.As(err, &qe) || qe.Quota != quota || !strings.Contains(err.Error(), quota) {
			t.Fatalf("err = %v, want the quota %s", err, quota)
		}
	}
	t.Run("collections", func(t *testing.T) {
		for _, ki := range items(a.ID, 2) {
			_, err := s.Put(ctx, p, a.ID, ki.kind, ki.item, tenancy.Create)
			wantQuota(t, err, ki.quota)
			if _, err := s.Get(ctx, a.ID, ki.kind, ki.item.ItemID()); !errors.Is(err, tenancy.ErrNotFound) {
				t.Fatalf("%s over the quota was stored: %v", ki.kind.Name, err)
			}
		}
		// A refused trunk leaves no CIDR claimed.
		if n, _ := s.Client().HLen(ctx, "{edgecidrs}:owners").Result(); n != 2 {
			t.Fatalf("%d trunk CIDR registrations, want A's 2", n)
		}
		_, err := s.Put(ctx, p, a.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: numbers[a.ID][2], ServiceID: "svc-0"}, tenancy.Create)
		wantQuota(t, err, "phone_numbers")
		// A refused number is not left claimed: another workspace can have it.
		if owner, _ := s.Client().HGet(ctx, "edge:numbers", numbers[a.ID][2]).Result(); owner != "" {
			t.Fatalf("a number refused by quota is still claimed by %s", owner)
		}
		// Replacing an existing item is not a new one.
		if _, err := s.Put(ctx, p, a.ID, tenancy.KindService, &tenancy.Service{ID: "svc-1", Name: "Renamed", Target: "sip:a@127.0.0.2"}, tenancy.Upsert); err != nil {
			t.Fatalf("replace at the quota: %v", err)
		}
	})
	t.Run("sizes", func(t *testing.T) {
		big := &tenancy.Service{ID: "svc-0", Name: "S", Target: "sip:a@127.0.0.2", ContextGraph: json.RawMessage(`{"n":"` + strings.Repeat("x", 80) + `"}`)}
		_, err := s.Put(ctx, p, a.ID, tenancy.KindService, big, tenancy.Upsert)
		var ve *tenancy.ValidationError
		if !errors.As(err, &ve) || ve.Field != "context_graph" || !strings.Contains(ve.Reason, "context_graph_bytes") {
			t.Fatalf("oversized context graph: %v, want 422 naming context_graph and its quota", err)
		}
		big.ContextGraph, big.AgentConfig = nil, json.RawMessage(`{"n":"`+strings.Repeat("x", 40)+`"}`)
		if _, err := s.Put(ctx, p, a.ID, tenancy.KindService, big, tenancy.Upsert); !errors.As(err, &ve) || ve.Field != "agent_config" {
			t.Fatalf("oversized agent config: %v", err)
		}
	})
	t.Run("accounts and keys", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			if _, err := s.CreateAccount(ctx, p, a.ID, tenancy.Account{Name: "M", Email: fmt.Sprint("m", i, "@a.example"), Role: tenancy.RoleMember}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.CreateAccount(ctx, p, a.ID, tenancy.Account{Name: "M", Email: "m9@a.example", Role: tenancy.RoleMember})
		wantQuota(t, err, "accounts")
		if _, err := s.CreateAPIKey(ctx, p, a.ID, ownerA.Account.ID, "second"); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateAPIKey(ctx, p, a.ID, ownerA.Account.ID, "third")
		wantQuota(t, err, "api_keys_per_account")
		accounts, _ := s.ListAccounts(ctx, a.ID)
		for _, acc := range accounts {
			if acc.ID != ownerA.Account.ID {
				_, _ = s.CreateAPIKey(ctx, p, a.ID, acc.ID, "more")
			}
		}
		keys, _ := s.ListAPIKeys(ctx, a.ID)
		if len(keys) != 5 {
			t.Fatalf("%d keys, want the workspace quota of 5", len(keys))
		}
		for _, acc := range accounts {
			if _, err := s.CreateAPIKey(ctx, p, a.ID, acc.ID, "over"); err == nil {
				t.Fatal("a key over the workspace quota was created")
			}
		}
	})
	t.Run("other workspace unharmed", func(t *testing.T) {
		fill(b.ID)
		if _, err := s.CreateAPIKey(ctx, p, b.ID, ownerB.Account.ID, "second"); err != nil {
			t.Fatalf("B's key: %v", err)
		}
		if _, err := s.CreateAccount(ctx, p, b.ID, tenancy.Account{Name: "M", Email: "m@b.example", Role: tenancy.RoleMember}); err != nil {
			t.Fatalf("B's account: %v", err)
		}
	})
}

// TestTrunkCIDRs tries the CIDR oracle and the wide trunk: an overlap with
// another workspace's trunk answers exactly as an overlap with any other
// registered trunk, whatever the other trunk is, and leaves nothing behind;
// a CIDR wider than the platform's minimum prefix is refused.
func TestTrunkCIDRs(t *testing.T) {
	ctx := context.Background()
	p := tenancy.PlatformPrincipal
	r := tenancytest.StartRedis(t)
	s := r.Store(t)
	a, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	c, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	trunk := func(id string, cidrs ...string) *tenancy.Trunk {
		return &tenancy.Trunk{ID: id, Name: "T", AllowedCIDRs: cidrs}
	}
	put := func(ws string, tr *tenancy.Trunk) error {
		_, err := s.Put(ctx, p, ws, tenancy.KindTrunk, tr, tenancy.Upsert)
		return err
	}
	if err := put(a.ID, trunk("carrier", "203.0.113.0/24", "2001:db8:a::/48")); err != nil {
		t.Fatal(err)
	}
	if err := put(c.ID, trunk("other", "198.51.100.7")); err != nil {
		t.Fatal(err)
	}
	t.Run("overlaps answer alike", func(t *testing.T) {
		var msgs []string
		for _, cidr := range []string{"203.0.113.0/24", "203.0.113.128/25", "203.0.113.9", "2001:db8:a:1::/64", "198.51.100.0/24"} {
			err := put(b.ID, trunk("carrier", "192.0.2.0/24", cidr))
			if !errors.Is(err, tenancy.ErrConflict) {
				t.Fatalf("B's trunk over %s: %v, want 409", cidr, err)
			}
			msgs = append(msgs, err.Error())
			if _, err := s.Get(ctx, b.ID, tenancy.KindTrunk, "carrier"); !errors.Is(err, tenancy.ErrNotFound) {
				t.Fatalf("a refused trunk was stored: %v", err)
			}
		}
		for _, m := range msgs {
			if m != msgs[0] || strings.Contains(m, a.ID) || strings.Contains(m, c.ID) || strings.Contains(m, "203.0.113") {
				t.Fatalf("answers differ or name the other trunk: %q", msgs)
			}
		}
		// B's own, distinct CIDRs, and a second trunk of A over A's own
		// CIDR (one carrier, two credentials) are fine.
		if err := put(b.ID, trunk("carrier", "192.0.2.0/24")); err != nil {
			t.Fatalf("B's own CIDR: %v", err)
		}
		if err := put(a.ID, trunk("carrier-2", "203.0.113.0/25")); err != nil {
			t.Fatalf("A overlapping itself: %v", err)
		}
	})
	t.Run("released on delete and on change", func(t *testing.T) {
		if err := put(c.ID, trunk("other", "198.51.101.0/24")); err != nil {
			t.Fatal(err)
		}
		if err := put(b.ID, trunk("second", "198.51.100.0/24")); err != nil {
			t.Fatalf("the old CIDR of a changed trunk is still held: %v", err)
		}
		if err := s.Delete(ctx, p, b.ID, tenancy.KindTrunk, "second"); err != nil {
			t.Fatal(err)
		}
		if err := put(c.ID, trunk("other", "198.51.100.0/24")); err != nil {
			t.Fatalf("a deleted trunk's CIDR is still held: %v", err)
		}
	})
	t.Run("too wide", func(t *testing.T) {
		for _, cidr := range []string{"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/15", "::/0", "2001:db8::/32"} {
			err := put(b.ID, trunk("wide", cidr))
			var ve *tenancy.ValidationError
			if !errors.As(err, &ve) || ve.Field != "allowed_cidrs" {
				t.Fatalf("trunk %s: %v, want 422 allowed_cidrs", cidr, err)
			}
		}
		if err := put(b.ID, trunk("wide", "10.0.0.0/16", "2001:db8:b::/48")); err != nil {
			t.Fatalf("at the minimum prefix: %v", err)
		}
	})
	t.Run("platform allows", func(t *testing.T) {
		lax := r.Store(t, tenancy.WithPolicy(tenancy.Policy{AllowWideCIDRs: true, AllowOverlappingCIDRs: true}))
		if _, err := lax.Put(ctx, p, b.ID, tenancy.KindTrunk, trunk("lab", "10.0.0.0/8", "203.0.113.0/24"), tenancy.Upsert); err != nil {
			t.Fatalf("with wide and overlapping CIDRs allowed: %v", err)
		}
	})
}

// TestNumberClaim checks that a claim of a taken number answers the same
// whether the number is another workspace's or already the claimer's.
func TestNumberClaim(t *testing.T) {
	ctx := context.Background()
	p := tenancy.PlatformPrincipal
	s := tenancytest.StartRedis(t).Store(t)
	a, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, _ := newWorkspace(t, s, tenancy.EnvDevelopment)
	for _, ws := range []string{a.ID, b.ID} {
		if _, err := s.Put(ctx, p, ws, tenancy.KindService, &tenancy.Service{ID: "svc", Name: "S", Target: "sip:a@127.0.0.2"}, tenancy.Create); err != nil {
			t.Fatal(err)
		}
	}
	n := func() *tenancy.PhoneNumber { return &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "svc"} }
	if _, err := s.Put(ctx, p, a.ID, tenancy.KindNumber, n(), tenancy.Create); err != nil {
		t.Fatal(err)
	}
	_, theirs := s.Put(ctx, p, b.ID, tenancy.KindNumber, n(), tenancy.Create)
	_, mine := s.Put(ctx, p, a.ID, tenancy.KindNumber, n(), tenancy.Create)
	_, theirsUpsert := s.Put(ctx, p, b.ID, tenancy.KindNumber, n(), tenancy.Upsert)
	for _, err := range []error{theirs, mine, theirsUpsert} {
		if !errors.Is(err, tenancy.ErrConflict) || err.Error() != theirs.Error() {
			t.Fatalf("claims answer %v / %v / %v, want one 409", theirs, mine, theirsUpsert)
		}
	}
}

// TestPlatformAssignsNumbers: with numbers platform-assigned, a workspace
// key cannot add a number, free or another's, and gets the same 403 either
// way; the platform assigns it, and the workspace then routes and deletes
// it.
func TestPlatformAssignsNumbers(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithPolicy(tenancy.Policy{PlatformAssignsNumbers: true}))
	a, ownerA := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, ownerB := newWorkspace(t, s, tenancy.EnvDevelopment)
	admin := func(c tenancy.Created, ws string) tenancy.Principal {
		return tenancy.Principal{WorkspaceID: ws, AccountID: c.Account.ID, KeyID: c.Key.ID, Role: tenancy.RoleOwner}
	}
	for _, ws := range []string{a.ID, b.ID} {
		for _, id := range []string{"svc", "svc-2"} {
			if _, err := s.Put(ctx, tenancy.PlatformPrincipal, ws, tenancy.KindService, &tenancy.Service{ID: id, Name: "S", Target: "sip:a@127.0.0.2"}, tenancy.Create); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Put(ctx, tenancy.PlatformPrincipal, a.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "svc"}, tenancy.Create); err != nil {
		t.Fatalf("platform assigns: %v", err)
	}
	_, free := s.Put(ctx, admin(ownerB, b.ID), b.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551239999", ServiceID: "svc"}, tenancy.Create)
	_, taken := s.Put(ctx, admin(ownerB, b.ID), b.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "svc"}, tenancy.Create)
	if !errors.Is(free, tenancy.ErrForbidden) || free.Error() != taken.Error() {
		t.Fatalf("a workspace adding a free number: %v, another's: %v; want one 403", free, taken)
	}
	if _, err := s.Put(ctx, admin(ownerA, a.ID), a.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "svc-2"}, tenancy.Upsert); err != nil {
		t.Fatalf("the holder reroutes its number: %v", err)
	}
	if err := s.Delete(ctx, admin(ownerA, a.ID), a.ID, tenancy.KindNumber, "+15551230001"); err != nil {
		t.Fatalf("the holder deletes its number: %v", err)
	}
}
