package tenancy_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func owner(t *testing.T, s *tenancy.Store, c tenancy.Created) tenancy.Principal {
	t.Helper()
	p, err := s.Authenticate(context.Background(), c.Secret)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

func putService(t *testing.T, s *tenancy.Store, p tenancy.Principal, ws, id string) {
	t.Helper()
	svc := &tenancy.Service{ID: id, Name: id, Target: "sip:agent@127.0.0.2:5070"}
	if _, err := s.Put(context.Background(), p, ws, tenancy.KindService, svc, tenancy.Upsert); err != nil {
		t.Fatalf("put service: %v", err)
	}
}

// TestRacingNumberClaim: many writers of two workspaces claim one number at
// once; exactly one wins, and the global index agrees with the winner.
func TestRacingNumberClaim(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	s := r.Store(t)
	wa, ca := newWorkspace(t, s, tenancy.EnvDevelopment)
	wb, cb := newWorkspace(t, s, tenancy.EnvDevelopment)
	pa, pb := owner(t, s, ca), owner(t, s, cb)
	putService(t, s, pa, wa.ID, "svc")
	putService(t, s, pb, wb.ID, "svc")

	var wins, conflicts int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, p := wa.ID, pa
			if i%2 == 1 {
				ws, p = wb.ID, pb
			}
			_, err := s.Put(ctx, p, ws, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15550001111", ServiceID: "svc"}, tenancy.Create)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, tenancy.ErrConflict):
				conflicts++
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != 19 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and 19", wins, conflicts)
	}
	owners := 0
	for _, ws := range []string{wa.ID, wb.ID} {
		snap, err := s.LoadSnapshot(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := snap.Numbers["+15550001111"]; ok {
			owners++
			got, _ := r.Client(t).HGet(ctx, "edge:numbers", "+15550001111").Result()
			if got != ws {
				t.Errorf("global index says %q, owner is %q", got, ws)
			}
		}
	}
	if owners != 1 {
		t.Fatalf("%d workspaces hold the number", owners)
	}
}

func TestRedisDownWritesNothing(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	s := r.Store(t)
	w, c := newWorkspace(t, s, tenancy.EnvDevelopment)
	p := owner(t, s, c)
	r.Stop()
	err := func() error {
		_, err := s.Put(ctx, p, w.ID, tenancy.KindService, &tenancy.Service{ID: "a", Name: "a", Target: "sip:a@b"}, tenancy.Create)
		return err
	}()
	if !errors.Is(err, tenancy.ErrUnavailable) {
		t.Fatalf("put with redis down: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, tenancy.ErrUnavailable) {
		t.Fatalf("ping: %v", err)
	}
	if _, err := s.Authenticate(ctx, c.Secret); !errors.Is(err, tenancy.ErrUnavailable) {
		t.Fatalf("authenticate with redis down: %v, want ErrUnavailable (not 401)", err)
	}
}

func TestDemotionAndDeletionActAtOnce(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	w, c := newWorkspace(t, s, tenancy.EnvDevelopment)
	p := owner(t, s, c)
	admin, err := s.CreateAccount(ctx, p, w.ID, tenancy.Account{Name: "Ada", Email: "ada@example.org", Role: tenancy.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Authenticate(ctx, admin.Secret); got.Role != tenancy.RoleAdmin {
		t.Fatalf("role %q", got.Role)
	}
	a := admin.Account
	a.Role = tenancy.RoleViewer
	if _, err := s.UpdateAccount(ctx, p, w.ID, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Authenticate(ctx, admin.Secret); got.Role != tenancy.RoleViewer {
		t.Fatalf("after demotion role %q", got.Role)
	}
	if err := s.DeleteAccount(ctx, p, w.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, admin.Secret); !errors.Is(err, tenancy.ErrUnauthenticated) {
		t.Fatalf("deleted account's key: %v", err)
	}
	o := c.Account
	o.Role = tenancy.RoleAdmin
	if _, err := s.UpdateAccount(ctx, p, w.ID, o); !errors.Is(err, tenancy.ErrConflict) {
		t.Fatalf("demoting the last owner: %v", err)
	}
}

func TestProductionGuardAndPromotion(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	prod, cp := newWorkspace(t, s, tenancy.EnvProduction)
	stg, cs := newWorkspace(t, s, tenancy.EnvStaging)
	pp, ps := owner(t, s, cp), owner(t, s, cs)

	_, err := s.Put(ctx, pp, prod.ID, tenancy.KindService, &tenancy.Service{ID: "a", Name: "a", Target: "sip:a@b"}, tenancy.Create)
	if !errors.Is(err, tenancy.ErrPromotionRequired) {
		t.Fatalf("direct write to production: %v", err)
	}
	putService(t, s, ps, stg.ID, "front-desk")
	if _, err := s.Put(ctx, ps, stg.ID, tenancy.KindVoiceSettings, &tenancy.VoiceSettings{TTSVoice: "alloy", Speed: 1.1}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, ps, stg.ID, tenancy.KindTrunk, &tenancy.Trunk{ID: "t", Name: "t", AllowedCIDRs: []string{"127.0.0.1"}}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	diff, err := s.Promote(ctx, pp, prod.ID, stg.ID, true)
	if err != nil || len(diff) != 2 {
		t.Fatalf("dry run: %+v %v", diff, err)
	}
	if snap, _ := s.LoadSnapshot(ctx, prod.ID); len(snap.Services) != 0 {
		t.Fatal("dry run wrote")
	}
	if _, err := s.Promote(ctx, pp, prod.ID, stg.ID, false); err != nil {
		t.Fatal(err)
	}
	snap, _ := s.LoadSnapshot(ctx, prod.ID)
	if len(snap.Services) != 1 || snap.VoiceSettings.TTSVoice != "alloy" || len(snap.Trunks) != 0 {
		t.Fatalf("promoted snapshot: %+v", snap)
	}
	if diff, _ := s.Promote(ctx, pp, prod.ID, stg.ID, true); len(diff) != 0 {
		t.Fatalf("second promotion not empty: %+v", diff)
	}
	if _, err := s.Promote(ctx, pp, stg.ID, prod.ID, false); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("promoting from production: %v", err)
	}
}

func TestDeleteWorkspaceReleasesEverything(t *testing.T) {
	ctx := context.Background()
	s := tenancytest.StartRedis(t).Store(t)
	w, c := newWorkspace(t, s, tenancy.EnvDevelopment)
	p := owner(t, s, c)
	putService(t, s, p, w.ID, "svc")
	if _, err := s.Put(ctx, p, w.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15550002222", ServiceID: "svc"}, tenancy.Create); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWorkspace(ctx, p, w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetWorkspace(ctx, w.ID); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("deleted workspace: %v", err)
	}
	if _, err := s.Authenticate(ctx, c.Secret); !errors.Is(err, tenancy.ErrUnauthenticated) {
		t.Fatalf("key of deleted workspace: %v", err)
	}
	w2, c2 := newWorkspace(t, s, tenancy.EnvDevelopment)
	p2 := owner(t, s, c2)
	putService(t, s, p2, w2.ID, "svc")
	if _, err := s.Put(ctx, p2, w2.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15550002222", ServiceID: "svc"}, tenancy.Create); err != nil {
		t.Fatalf("number of a deleted workspace not released: %v", err)
	}
}
