package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestClusterStoreWorkflowsStayInOneSlotAndIndexesHoldAcrossSlots runs the
// store's workflows on a real 3-master/3-replica Redis Cluster with
// workspaces spread over every master: each Lua script and MULTI/EXEC works
// (a cross-slot one would fail with CROSSSLOT), and the global indexes and
// the change stream stay right across slots.
func TestClusterStoreWorkflowsStayInOneSlotAndIndexesHoldAcrossSlots(t *testing.T) {
	cl := tenancytest.StartCluster(t)
	s := cl.Store(t)
	ctx := context.Background()

	// Workspaces until they sit on all three masters.
	type wsOf struct {
		w tenancy.Workspace
		p tenancy.Principal
	}
	var all []wsOf
	masters := map[string]bool{}
	for i := 0; len(masters) < 3 && i < 60; i++ {
		w, c := newWorkspace(t, s, tenancy.EnvDevelopment)
		all = append(all, wsOf{w, owner(t, s, c)})
		masters[cl.MasterOfKey("{ws:"+w.ID+"}:cfg").Addr] = true
	}
	if len(masters) < 3 {
		t.Fatalf("workspaces landed on %d masters only", len(masters))
	}
	a, b := all[0], all[len(all)-1] // on different masters
	if cl.MasterOfKey("{ws:"+a.w.ID+"}:cfg") == cl.MasterOfKey("{ws:"+b.w.ID+"}:cfg") {
		t.Fatal("first and last workspace share a master")
	}

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"configuration writes, numbers unique across slots", func(t *testing.T) {
			for i, x := range all {
				putService(t, s, x.p, x.w.ID, "svc")
				n := &tenancy.PhoneNumber{Number: fmt.Sprintf("+1555100%04d", i), ServiceID: "svc"}
				if _, err := s.Put(ctx, x.p, x.w.ID, tenancy.KindNumber, n, tenancy.Create); err != nil {
					t.Fatalf("number in %s: %v", x.w.ID, err)
				}
				tr := &tenancy.Trunk{ID: "carrier", Name: "Carrier", AllowedCIDRs: []string{fmt.Sprintf("203.0.%d.0/24", i)}}
				if _, err := s.Put(ctx, x.p, x.w.ID, tenancy.KindTrunk, tr, tenancy.Upsert); err != nil {
					t.Fatalf("trunk in %s: %v", x.w.ID, err)
				}
			}
			_, err := s.Put(ctx, b.p, b.w.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551000000", ServiceID: "svc"}, tenancy.Create)
			if !errors.Is(err, tenancy.ErrConflict) {
				t.Fatalf("a's number claimed by b on another master: %v, want conflict", err)
			}
			snap, err := s.LoadSnapshot(ctx, a.w.ID)
			if err != nil || len(snap.Numbers) != 1 || len(snap.Trunks) != 1 {
				t.Fatalf("snapshot of a: %+v %v", snap, err)
			}
			ids, err := s.ListWorkspaceIDs(ctx)
			if err != nil || len(ids) < len(all) {
				t.Fatalf("workspace index: %d ids, %v", len(ids), err)
			}
		}},
		{"racing number claim across slots has one winner", func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					x := a
					if i%2 == 1 {
						x = b
					}
					_, err := s.Put(ctx, x.p, x.w.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15559990000", ServiceID: "svc"}, tenancy.Create)
					if err != nil && !errors.Is(err, tenancy.ErrConflict) {
						t.Errorf("claim: %v", err)
					}
					mu.Lock()
					if err == nil {
						wins++
					}
					mu.Unlock()
				}()
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d winners, want 1", wins)
			}
		}},
		{"api keys resolve across slots and revoke at once", func(t *testing.T) {
			cr, err := s.CreateAccount(ctx, b.p, b.w.ID, tenancy.Account{Name: "Mia Member", Email: "mia@example.org", Role: tenancy.RoleMember})
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.Authenticate(ctx, cr.Secret)
			if err != nil || p.WorkspaceID != b.w.ID {
				t.Fatalf("authenticate: %+v %v", p, err)
			}
			if err := s.RevokeAPIKey(ctx, b.p, b.w.ID, cr.Key.ID, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Authenticate(ctx, cr.Secret); !errors.Is(err, tenancy.ErrUnauthenticated) {
				t.Fatalf("revoked key: %v", err)
			}
		}},
		{"calls: admission script, end transaction, leases pipelined over masters, hangup", func(t *testing.T) {
			now := time.Now()
			leases := map[string][]string{}
			for _, x := range []wsOf{a, b} {
				for i := range 3 {
					rec := tenancy.CallRecord{ID: fmt.Sprintf("call-%s-%d", x.w.ID, i), WorkspaceID: x.w.ID, ServiceID: "svc",
						State: "ringing", StartedAt: now, NodeID: "node-1"}
					err := s.AdmitCall(ctx, rec, tenancy.Limits{MaxConcurrentCalls: 2}, time.Minute)
					if i < 2 && err != nil {
						t.Fatalf("admit %d: %v", i, err)
					}
					if i == 2 {
						if !errors.Is(err, tenancy.ErrLimit) {
							t.Fatalf("third call over a limit of 2: %v", err)
						}
						continue
					}
					leases[x.w.ID] = append(leases[x.w.ID], rec.ID)
				}
			}
			if err := s.RenewLeases(ctx, leases, time.Minute); err != nil {
				t.Fatalf("renew over two masters: %v", err)
			}
			if err := s.RequestHangup(ctx, a.w.ID, leases[a.w.ID][0], "test"); err != nil {
				t.Fatal(err)
			}
			ctl, err := s.ReadControl(ctx, "node-1", "0-0", 0)
			if err != nil || len(ctl) != 1 || ctl[0].CallID != leases[a.w.ID][0] {
				t.Fatalf("control: %+v %v", ctl, err)
			}
			end := now.Add(time.Second)
			rec := tenancy.CallRecord{ID: leases[b.w.ID][0], WorkspaceID: b.w.ID, State: tenancy.CallEnded, StartedAt: now, EndedAt: &end, NodeID: "node-1"}
			if err := s.EndCall(ctx, rec); err != nil {
				t.Fatal(err)
			}
			if n, err := s.ActiveCalls(ctx, b.w.ID); err != nil || n != 1 {
				t.Fatalf("active in b: %d %v", n, err)
			}
			if calls, _, err := s.ListCalls(ctx, a.w.ID, true, "", 10); err != nil || len(calls) != 2 {
				t.Fatalf("active in a: %d %v", len(calls), err)
			}
		}},
		{"operators and node registry", func(t *testing.T) {
			if err := s.RegisterNode(ctx, "node-1", "127.0.0.1:8080", time.Minute); err != nil {
				t.Fatal(err)
			}
			op := tenancy.OperatorRecord{ID: "op1", CallID: "c1", AccountID: "acc", Mode: "listen", NodeID: "node-1"}
			if err := s.PutOperator(ctx, a.w.ID, op, time.Minute); err != nil {
				t.Fatal(err)
			}
			if ops, err := s.ListOperators(ctx, a.w.ID); err != nil || len(ops) != 1 {
				t.Fatalf("operators: %+v %v", ops, err)
			}
		}},
		{"delete workspace releases its numbers on another slot", func(t *testing.T) {
			x := all[1]
			if err := s.DeleteWorkspace(ctx, x.p, x.w.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(ctx, b.p, b.w.ID, tenancy.KindNumber, &tenancy.PhoneNumber{Number: "+15551000001", ServiceID: "svc"}, tenancy.Create); err != nil {
				t.Fatalf("number of a deleted workspace not released: %v", err)
			}
		}},
		{"change stream is gap-free and agrees with every workspace's version", func(t *testing.T) {
			changes, err := s.ReadChanges(ctx, "0-0", 0)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			last := map[string]int64{}
			for i, c := range changes {
				if c.Seq != int64(i+1) {
					t.Fatalf("change %d has seq %d", i, c.Seq)
				}
				if c.Op != "delete_workspace" {
					last[c.WorkspaceID] = c.Version
				}
			}
			for id := range last {
				ids = append(ids, id)
			}
			vs, err := s.WorkspaceVersions(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			for id, v := range last {
				if id == all[1].w.ID {
					continue
				}
				if vs[id] != v {
					t.Errorf("workspace %s at version %d, its last change says %d", id, vs[id], v)
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}
