package sip

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

func TestLocalShareOfALimit(t *testing.T) {
	cases := []struct {
		limit, nodes, want int
	}{
		{0, 3, 0}, {10, 1, 10}, {10, 3, 3}, {2, 3, 1}, {1, 5, 1}, {10, 0, 10},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d/%d", tc.limit, tc.nodes), func(t *testing.T) {
			l := newLocalAdmission()
			l.nodes.Store(int64(tc.nodes))
			if got := l.share(tc.limit); got != tc.want {
				t.Fatalf("share %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRedisAwayCallsAdmittedFromShareAndWrittenOnceBack: with Redis down
// (shut down with its data), calls are admitted from memory under this
// node's share of the workspace's limits (two live nodes: half the CPS),
// the call over the share gets the limit's own 480, another workspace's
// call is admitted by its own share, and once Redis is back every record
// and event is written, in order, exactly once, and no slot is left.
func TestRedisAwayCallsAdmittedFromShareAndWrittenOnceBack(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) { c.LeaseTTL = 3 * time.Second }
	})
	svc := newBusyService(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: svc.target,
		limits: tenancy.Limits{MaxCPS: 2, MaxConcurrentCalls: 10}})
	other := e.addWorkspace(t, wsSpec{name: "Other", number: "+15551230002", cidr: "127.0.0.1/32", target: svc.target,
		limits: tenancy.Limits{MaxCPS: 2}})
	if _, err := e.store.Heartbeat(context.Background(), "node-ghost", time.Hour); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "two live nodes seen", func() bool { return e.srv.local.nodes.Load() == 2 })

	e.redis.Shutdown()
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	// The other workspace's call finds Redis gone and is admitted by its share.
	if res, raw := trunk.call(t, trunk.newInvite("+15551230002"), 5*time.Second); res == nil || res.StatusCode != 486 {
		t.Fatalf("other workspace's call: %v, want the busy service's 486\n%s", res, raw)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	start := time.Now()
	if res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 3*time.Second); res == nil || res.StatusCode != 486 {
		t.Fatalf("first call: %v, want the busy service's 486\n%s", res, raw)
	}
	res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 3*time.Second)
	if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
		t.Fatalf("the two INVITEs took %v: not one CPS window", elapsed)
	}
	if res == nil || res.StatusCode != 480 {
		t.Fatalf("second call over the share (1 of max_cps 2 on two nodes): %v, want 480\n%s", res, raw)
	}
	if got := e.counter(t, "edge_sip_local_admissions_total", nil); got != 2 {
		t.Errorf("local admissions %v, want 2", got)
	}
	// Per admitted call: admit, call.started, the final record with call.ended.
	waitFor(t, 5*time.Second, "writes spooled", func() bool { return e.srv.spool.Stats().Entries >= 6 })

	e.redis.Restart()
	waitFor(t, 15*time.Second, "spool replayed", e.srv.spool.Up)
	for _, w := range []string{ws, other} {
		calls, _, err := e.store.ListCalls(context.Background(), w, false, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 || calls[0].State != tenancy.CallEnded {
			t.Fatalf("records of %s: %+v, want one ended call", w, calls)
		}
		var types []string
		for _, ev := range e.callEvents(t, w) {
			if ev.CallID == calls[0].ID {
				types = append(types, ev.Type)
			}
		}
		if fmt.Sprint(types) != "[call.started call.ended]" {
			t.Errorf("events of %s's call: %v, want started then ended, once each", w, types)
		}
	}
	if got := e.counter(t, "edge_spool_dropped_total", nil); got != 0 {
		t.Errorf("dropped %v, want 0", got)
	}
	e.checkNoLeaks(t, ws, other)
}

// TestRedisHungCallsAdmittedAndNothingLost: Redis hangs (SIGSTOP: its
// connections stay open, nothing answers). A call waits for its admission
// to time out, is admitted from memory, and once Redis resumes its
// record and events are there. An event whose write timed out while Redis
// hung may be applied by Redis when it resumes and replayed by the spool
// too: duplicates are possible here (README "Redis outages"), losses not.
func TestRedisHungCallsAdmittedAndNothingLost(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) { c.StoreTimeout = 500 * time.Millisecond }
	})
	svc := newBusyService(t)
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: svc.target})
	trunk := newRawTrunk(t, "127.0.0.1", e.udpAddr)
	e.redis.Pause()
	for range 3 {
		// The first waits for the client's read timeout (3 s here).
		if res, raw := trunk.call(t, trunk.newInvite("+15551230001"), 10*time.Second); res == nil || res.StatusCode != 486 {
			e.redis.Resume()
			t.Fatalf("call while redis hangs: %v, want the busy service's 486\n%s", res, raw)
		}
	}
	e.redis.Resume()
	waitFor(t, 15*time.Second, "spool replayed", e.srv.spool.Up)
	calls, _, err := e.store.ListCalls(context.Background(), ws, false, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	ended := map[string]int{}
	for _, ev := range e.callEvents(t, ws) {
		if ev.Type == tenancy.EventCallEnded {
			ended[ev.CallID]++
		}
	}
	if len(calls) != 3 || len(ended) != 3 {
		t.Fatalf("records %d, calls with call.ended %d: want 3 and 3", len(calls), len(ended))
	}
	for _, c := range calls {
		if c.State != tenancy.CallEnded || ended[c.ID] < 1 {
			t.Errorf("call %s: state %s, %d call.ended", c.ID, c.State, ended[c.ID])
		}
	}
	e.checkNoLeaks(t, ws)
}

// TestRedisLosingItsDataGetsTheLiveCallsBack: Redis dies and comes back
// empty while a call is up; the edge re-asserts the call (its slot with a
// lease and its record), which RenewLeases' ZADD XX would not, and the
// call's end then closes both.
func TestRedisLosingItsDataGetsTheLiveCallsBack(t *testing.T) {
	e := newTestEdge(t, func(o *edgeOptions) {
		o.cfg = func(c *Config) { c.LeaseTTL = 3 * time.Second; c.StoreTimeout = 500 * time.Millisecond }
	})
	_, target := startService(t, "uas_answer.xml")
	ws := e.addWorkspace(t, wsSpec{name: "Clinic", number: "+15551230001", cidr: "127.0.0.1/32", target: target})
	uac := e.trunkCall(t, "uac_pcmu.xml", "+15551230001", "-d", "9000")
	ctx := context.Background()
	active := func() int64 { n, _ := e.store.ActiveCalls(ctx, ws); return n }
	waitFor(t, 10*time.Second, "call up", func() bool { return active() == 1 && e.srv.ActiveCalls() == 1 })
	id := e.srv.dialogs.all()[0].id

	e.redis.Stop() // no save: it comes back empty
	waitFor(t, 5*time.Second, "redis seen down", func() bool { return e.srv.Spool().StoreDown })
	e.redis.Restart()
	waitFor(t, 5*time.Second, "call re-asserted", func() bool {
		_, err := e.store.GetCall(ctx, ws, id)
		return err == nil && active() == 1
	})
	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	waitFor(t, 5*time.Second, "call ended", func() bool {
		rec, err := e.store.GetCall(ctx, ws, id)
		return err == nil && rec.State == tenancy.CallEnded && active() == 0
	})
}
