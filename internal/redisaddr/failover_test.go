package redisaddr_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// TestMasterKilledMidTrafficReplicaTakesOverWritesAndAdmissionsResumeWithinSecondsNoAckedWriteLost
// runs configuration writes through the programs' own client
// (redisaddr.NewClient, as edge-admin builds it, with WithReplicaAck) while
// the master of the workspace is SIGKILLed (or SIGSTOPped: a hung host), on
// a real Redis Cluster and on a real Sentinel setup: the replica takes over, the client finds it by
// itself, writes and call admissions succeed again within seconds, and
// every configuration write that reported success is there afterwards.
func TestMasterKilledMidTrafficReplicaTakesOverWritesAndAdmissionsResumeWithinSecondsNoAckedWriteLost(t *testing.T) {
	cases := []struct {
		name string
		// start returns EDGE_REDIS_ADDR and, for a workspace, a func that
		// kills its master and waits for the promotion.
		start func(t *testing.T) (addr string, failover func(ws string) time.Duration)
	}{
		{"cluster", func(t *testing.T) (string, func(string) time.Duration) {
			cl := tenancytest.StartCluster(t)
			return cl.Addrs(), func(ws string) time.Duration {
				slot := cl.Slot("{ws:" + ws + "}:cfg")
				m := cl.MasterOf(slot)
				m.Kill()
				_, took := cl.WaitNewMaster(slot, m, 20*time.Second)
				return took
			}
		}},
		{"cluster, master hung (SIGSTOP)", func(t *testing.T) (string, func(string) time.Duration) {
			cl := tenancytest.StartCluster(t)
			return cl.Addrs(), func(ws string) time.Duration {
				slot := cl.Slot("{ws:" + ws + "}:cfg")
				m := cl.MasterOf(slot)
				m.Pause() // connections stay open and unanswered
				_, took := cl.WaitNewMaster(slot, m, 20*time.Second)
				return took
			}
		}},
		{"sentinel", func(t *testing.T) (string, func(string) time.Duration) {
			s := tenancytest.StartSentinel(t)
			return s.Addr(), func(string) time.Duration {
				m := s.Master()
				m.Kill()
				_, took := s.WaitNewMaster(m, 30*time.Second)
				return took
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, failover := tc.start(t)
			a, err := redisaddr.Parse(addr)
			if err != nil {
				t.Fatal(err)
			}
			rdb := redisaddr.NewClient(a, "failover-test")
			t.Cleanup(func() { rdb.Close() })
			// Hundreds of writes of one workspace: above the default quotas.
			store := tenancy.NewStore(rdb, tenancy.WithReplicaAck(500*time.Millisecond),
				tenancy.WithPolicy(tenancy.Policy{Quotas: tenancy.Quotas{Services: -1}}))
			ctx := context.Background()
			w, c, err := store.CreateWorkspace(ctx, tenancy.PlatformPrincipal, tenancy.NewWorkspace{
				Name: "Failover clinic", Environment: tenancy.EnvDevelopment,
				Owner: tenancy.Account{Name: "Olive Owner", Email: "owner@example.org"},
			})
			if err != nil {
				t.Fatal(err)
			}
			p, err := store.Authenticate(ctx, c.Secret)
			if err != nil {
				t.Fatal(err)
			}

			// One writer, one write at a time, as the control plane's
			// handlers do; every write that succeeded is remembered.
			var mu sync.Mutex
			var acked []string
			var lastOK time.Time
			failed := 0
			errs := map[string]int{}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("svc-%04d", i)
					wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					_, err := store.Put(wctx, p, w.ID, tenancy.KindService,
						&tenancy.Service{ID: id, Name: id, Target: "sip:agent@127.0.0.1:5070"}, tenancy.Upsert)
					cancel()
					mu.Lock()
					if err == nil {
						acked, lastOK = append(acked, id), time.Now()
					} else {
						failed++
						errs[err.Error()]++
					}
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
				}
			}()
			// And call admission, as the edge does it (admission script in the
			// workspace's slot, then the end transaction).
			var lastAdmit time.Time
			go func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					rec := tenancy.CallRecord{ID: fmt.Sprintf("call-%05d", i), WorkspaceID: w.ID, ServiceID: "svc",
						State: "ringing", StartedAt: time.Now(), NodeID: "node-1"}
					actx, cancel := context.WithTimeout(ctx, 2*time.Second)
					err := store.AdmitCall(actx, rec, tenancy.Limits{}, time.Minute)
					if err == nil {
						rec.State = tenancy.CallEnded
						err = store.EndCall(actx, rec)
					}
					cancel()
					if err == nil {
						mu.Lock()
						lastAdmit = time.Now()
						mu.Unlock()
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			ackedNow := func() (int, time.Time) {
				mu.Lock()
				defer mu.Unlock()
				return len(acked), lastOK
			}
			waitFor(t, 10*time.Second, "20 writes before the failure", func() bool { n, _ := ackedNow(); return n >= 20 })

			killed := time.Now()
			promoted := failover(w.ID)
			waitFor(t, 20*time.Second, "a write that succeeds after the failover", func() bool {
				_, last := ackedNow()
				return last.After(killed.Add(promoted))
			})
			waitFor(t, 20*time.Second, "a call admitted after the failover", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return lastAdmit.After(killed.Add(promoted))
			})
			mu.Lock()
			admitted := lastAdmit.Sub(killed.Add(promoted))
			mu.Unlock()
			t.Logf("%s: calls admitted again %v after the promotion", tc.name, admitted.Round(time.Millisecond))
			if admitted > 5*time.Second {
				t.Errorf("calls admitted again %v after the promotion; want a few seconds at most", admitted)
			}
			_, last := ackedNow()
			t.Logf("%s: master killed; replica promoted after %v; writes succeed again %v after the kill (%v after the promotion)",
				tc.name, promoted.Round(time.Millisecond), last.Sub(killed).Round(time.Millisecond), last.Sub(killed.Add(promoted)).Round(time.Millisecond))
			if d := last.Sub(killed.Add(promoted)); d > 5*time.Second {
				t.Errorf("writes resumed %v after the promotion; want a few seconds at most", d)
			}
			n0, _ := ackedNow()
			waitFor(t, 10*time.Second, "10 more writes", func() bool { n, _ := ackedNow(); return n >= n0+10 }, func() string {
				mu.Lock()
				defer mu.Unlock()
				return fmt.Sprint(errs)
			})
			close(stop)
			<-done

			mu.Lock()
			defer mu.Unlock()
			t.Logf("%s: %d writes acknowledged, %d failed during the failover: %v", tc.name, len(acked), failed, errs)
			items, _, err := store.List(ctx, w.ID, tenancy.KindService, "", 100000)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, it := range items {
				have[it.(*tenancy.Service).ID] = true
			}
			for _, id := range acked {
				if !have[id] {
					t.Errorf("acknowledged write %s lost in the failover", id)
				}
			}
		})
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool, why ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			for _, f := range why {
				what += ": " + f()
			}
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
