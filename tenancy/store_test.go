package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func newWorkspace(t *testing.T, s *tenancy.Store, env tenancy.Environment) (tenancy.Workspace, tenancy.Created) {
	t.Helper()
	w, c, err := s.CreateWorkspace(context.Background(), tenancy.PlatformPrincipal, tenancy.NewWorkspace{
		Name: "Clinic " + string(env), Environment: env,
		Owner: tenancy.Account{Name: "Olive Owner", Email: "owner@example.org"},
	})
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	return w, c
}

func TestStoreSmoke(t *testing.T) {
	ctx := context.Background()
	r := tenancytest.StartRedis(t)
	s := r.Store(t)
	a, ownerA := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, _ := newWorkspace(t, s, tenancy.EnvDevelopment)

	p, err := s.Authenticate(ctx, ownerA.Secret)
	if err != nil || p.WorkspaceID != a.ID || p.Role != tenancy.RoleOwner {
		t.Fatalf("authenticate owner: %+v %v", p, err)
	}
	svc := &tenancy.Service{ID: "front-desk", Name: "Front desk", Target: "sip:agent@127.0.0.1:5070"}
	if _, err := s.Put(ctx, p, a.ID, tenancy.KindService, svc, tenancy.Create); err != nil {
		t.Fatalf("put service: %v", err)
	}
	num := &tenancy.PhoneNumber{Number: "+1 (555) 123-0001", ServiceID: "front-desk"}
	res, err := s.Put(ctx, p, a.ID, tenancy.KindNumber, num, tenancy.Create)
	if err != nil || !res.Created {
		t.Fatalf("put number: %+v %v", res, err)
	}
	if _, err := s.Put(ctx, p, b.ID, tenancy.KindService, svc, tenancy.Create); err != nil {
		t.Fatalf("put service in b: %v", err)
	}
	_, err = s.Put(ctx, p, b.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "front-desk"}, tenancy.Create)
	if !errors.Is(err, tenancy.ErrConflict) {
		t.Fatalf("number of a claimed in b: got %v, want conflict", err)
	}
	if err := s.Delete(ctx, p, a.ID, tenancy.KindService, "front-desk"); !errors.Is(err, tenancy.ErrConflict) {
		t.Fatalf("delete routed service: got %v, want conflict", err)
	}
	snap, err := s.LoadSnapshot(ctx, a.ID)
	if err != nil || snap.Numbers["+15551230001"].ServiceID != "front-desk" || snap.Version < 3 {
		t.Fatalf("snapshot: %+v %v", snap, err)
	}
	if err := s.Delete(ctx, p, a.ID, tenancy.KindNumber, "+15551230001"); err != nil {
		t.Fatalf("delete number: %v", err)
	}
	if _, err := s.Put(ctx, p, b.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551230001", ServiceID: "front-desk"}, tenancy.Create); err != nil {
		t.Fatalf("released number claimed by b: %v", err)
	}
	changes, err := s.ReadChanges(ctx, "0-0", 0)
	if err != nil || len(changes) == 0 {
		t.Fatalf("changes: %v %v", changes, err)
	}
	for i, c := range changes {
		if c.Seq != int64(i+1) {
			t.Fatalf("change %d has seq %d", i, c.Seq)
		}
	}
	if err := s.RevokeAPIKey(ctx, p, a.ID, ownerA.Key.ID, ""); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := s.Authenticate(ctx, ownerA.Secret); !errors.Is(err, tenancy.ErrUnauthenticated) {
		t.Fatalf("revoked key: %v", err)
	}
	events, _, err := s.ListEvents(ctx, a.ID, "", 100)
	if err != nil || len(events) < 4 {
		t.Fatalf("audit events: %d %v", len(events), err)
	}
}
