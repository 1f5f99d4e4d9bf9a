package tenancy_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestDeleteWorkspaceLeavesNothing deletes a workspace with configuration,
// credentials, an active call, events, a call token, an operator and
// projections: its call is asked to hang up, a scan of Redis then finds
// nothing of it but its tombstone, the late writes of its ending call (as
// the edge makes them) bring nothing back, and another workspace's call
// and configuration are untouched.
func TestDeleteWorkspaceLeavesNothing(t *testing.T) {
	ctx := context.Background()
	p := tenancy.PlatformPrincipal
	s := tenancytest.StartRedis(t).Store(t, tenancy.WithPolicy(tenancytest.Policy(t)))
	rdb := s.Client()
	a, ownerA := newWorkspace(t, s, tenancy.EnvDevelopment)
	b, ownerB := newWorkspace(t, s, tenancy.EnvDevelopment)
	populate := func(ws, number, cidr string) tenancy.CallRecord {
		t.Helper()
		for _, ki := range []struct {
			kind tenancy.Kind
			item tenancy.Item
		}{
			{tenancy.KindService, &tenancy.Service{ID: "svc", Name: "S", Target: "sip:a@127.0.0.2"}},
			{tenancy.KindNumber, &tenancy.PhoneNumber{Number: number, ServiceID: "svc"}},
			{tenancy.KindTrunk, &tenancy.Trunk{ID: "carrier", Name: "C", AllowedCIDRs: []string{cidr}, Username: "carrier", Password: "carrier-password-1"}},
			{tenancy.KindDataSource, &tenancy.DataSource{ID: "ehr", Kind: "fhir", BaseURL: "https://ehr.example.org", Credentials: map[string]string{"token": "t0ken"}}},
		} {
			if _, err := s.Put(ctx, p, ws, ki.kind, ki.item, tenancy.Create); err != nil {
				t.Fatalf("%s: %v", ki.kind.Name, err)
			}
		}
		rec := tenancy.CallRecord{ID: "call-" + ws, WorkspaceID: ws, ServiceID: "svc", From: "+15557770000", To: number,
			State: tenancy.CallAnswered, StartedAt: time.Now(), NodeID: "node-1"}
		if err := s.AdmitCall(ctx, rec, tenancy.Limits{}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendEvent(ctx, ws, tenancy.Event{Type: tenancy.EventCallStarted, CallID: rec.ID, Data: []byte(`{"from":"+15557770000","to":"` + number + `","service_id":"svc"}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.IssueCallToken(ctx, ws, rec.ID, "svc", time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.PutOperator(ctx, ws, tenancy.OperatorRecord{ID: "op-1", CallID: rec.ID}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Project(ctx, ws); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	recA := populate(a.ID, "+15551230001", "192.0.2.0/24")
	recB := populate(b.ID, "+15551230002", "198.51.100.0/24")
	before := dumpWorkspace(t, s, b.ID)

	if err := s.DeleteWorkspace(ctx, p, a.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("its call is hung up", func(t *testing.T) {
		ctl, err := s.ReadControl(ctx, "node-1", "0", 0)
		if err != nil || len(ctl) != 1 || ctl[0].CallID != recA.ID || ctl[0].WorkspaceID != a.ID || ctl[0].Op != "hangup" {
			t.Fatalf("control requests %+v %v, want one hangup of %s", ctl, err, recA.ID)
		}
	})
	// The edge ends the call late, as it would after the hangup.
	ended := recA
	now := time.Now()
	ended.State, ended.EndedAt, ended.EndReason = tenancy.CallEnded, &now, "hangup"
	late := map[string]error{
		"update call": s.UpdateCall(ctx, ended),
		"end call":    s.EndCall(ctx, ended),
		"operator":    s.PutOperator(ctx, a.ID, tenancy.OperatorRecord{ID: "op-1", CallID: recA.ID}, time.Hour),
		"admit":       s.AdmitCall(ctx, tenancy.CallRecord{ID: "call-new", WorkspaceID: a.ID, StartedAt: time.Now(), NodeID: "node-1"}, tenancy.Limits{}, time.Hour),
	}
	_, late["event"] = s.AppendEvent(ctx, a.ID, tenancy.Event{Type: tenancy.EventCallEnded, CallID: recA.ID})
	_, late["call token"] = s.IssueCallToken(ctx, a.ID, recA.ID, "svc", time.Hour)
	for what, err := range late {
		if !errors.Is(err, tenancy.ErrDeleted) || !errors.Is(err, tenancy.ErrNotFound) {
			t.Errorf("late %s of a deleted workspace: %v, want ErrDeleted", what, err)
		}
	}
	t.Run("nothing of it remains", func(t *testing.T) {
		var left []string
		iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			if strings.Contains(iter.Val(), a.ID) {
				left = append(left, iter.Val())
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		tomb := "{ws:" + a.ID + "}:deleted"
		if len(left) != 1 || left[0] != tomb {
			t.Fatalf("keys of the deleted workspace: %v, want only its tombstone", left)
		}
		if v, _ := rdb.Get(ctx, tomb).Result(); v != "1" {
			t.Fatalf("tombstone holds %q", v)
		}
		if ttl, _ := rdb.PTTL(ctx, tomb).Result(); ttl <= 0 || ttl > tenancy.TombstoneTTL {
			t.Fatalf("tombstone TTL %v", ttl)
		}
		if members, _ := rdb.ZRange(ctx, "{edgecidrs}:index", 0, -1).Result(); strings.Contains(strings.Join(members, " "), a.ID) {
			t.Errorf("the trunk CIDR index still holds %v", members)
		}
		for _, key := range []string{"edge:numbers", "edge:apikeys", "{edgecidrs}:owners"} {
			all, _ := rdb.HGetAll(ctx, key).Result()
			for f, v := range all {
				if strings.Contains(f, a.ID) || strings.Contains(v, a.ID) {
					t.Errorf("%s still holds %s -> %s", key, f, v)
				}
			}
		}
		if in, _ := rdb.SIsMember(ctx, "edge:workspaces", a.ID).Result(); in {
			t.Error("still in edge:workspaces")
		}
		if _, err := s.Authenticate(ctx, ownerA.Secret); !errors.Is(err, tenancy.ErrUnauthenticated) {
			t.Errorf("A's owner key after the deletion: %v", err)
		}
	})
	t.Run("the other workspace is untouched", func(t *testing.T) {
		if after := dumpWorkspace(t, s, b.ID); after != before {
			t.Fatalf("B changed when A was deleted:\n%s\n---\n%s", before, after)
		}
		if _, err := s.Authenticate(ctx, ownerB.Secret); err != nil {
			t.Fatalf("B's key: %v", err)
		}
		recB.State = tenancy.CallEnded
		if err := s.EndCall(ctx, recB); err != nil {
			t.Fatalf("B's call end: %v", err)
		}
		if got, err := s.GetCall(ctx, b.ID, recB.ID); err != nil || got.State != tenancy.CallEnded {
			t.Fatalf("B's call record: %+v %v", got, err)
		}
		if d, err := s.Get(ctx, b.ID, tenancy.KindDataSource, "ehr"); err != nil || d.(*tenancy.DataSource).Credentials["token"] != "t0ken" {
			t.Fatalf("B's credentials: %+v %v", d, err)
		}
	})
}

// dumpWorkspace is every key of ws with its type, sorted.
func dumpWorkspace(t *testing.T, s *tenancy.Store, ws string) string {
	t.Helper()
	ctx := context.Background()
	keys, err := s.Client().Keys(ctx, "{ws:"+ws+"}*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		typ, _ := s.Client().Type(ctx, k).Result()
		b.WriteString(k + " " + typ + "\n")
	}
	return b.String()
}
