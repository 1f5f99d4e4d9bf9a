package multinode

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

const longNumber = "+13125550101" // routed to a service that requires BYE's Reason

// TestDrainOnSIGTERM: SIGTERM to an edge carrying two calls: its public
// /readyz turns 503 at once; OPTIONS and a new INVITE get 503 with
// Retry-After while the other nodes take calls; the short call finishes
// normally; the long one is ended at EDGE_DRAIN_TIMEOUT with BYE carrying
// Reason on both legs (the raw trunk and a SIPp service that fails the
// call without it), its record ending "drain_timeout"; the process exits
// 0 and its node registration is gone.
func TestDrainOnSIGTERM(t *testing.T) {
	const drainTimeout = 3 * time.Second
	s := newStack(t, stackOptions{maxCalls: 10, maxCPS: 100, env: map[string]string{"EDGE_DRAIN_TIMEOUT": drainTimeout.String()}})
	svc, target := startService(t, "service-reason", "testdata/uas_bye_reason.xml", "-m", "1")
	s.admin.Post(t, s.ws, "/services", map[string]any{"id": "long", "name": "Long calls", "target": target}, 201)
	s.admin.Post(t, s.ws, "/phone-numbers", map[string]any{"number": longNumber, "service_id": "long"}, 201)
	e := s.edges[0]
	edgeproc.WaitNumbers(t, e.Metrics, 3, 10*time.Second)

	short, long := newRawCall(t, e.SIP, number), newRawCall(t, e.SIP, longNumber)
	for _, c := range []*rawCall{short, long} {
		if st := c.invite(t, 10*time.Second); st != 200 {
			t.Fatalf("call before the drain: %d", st)
		}
	}
	recs := s.activeCalls(t, s.edges[1], s.ws.OwnerAPIKey)
	if len(recs) != 2 {
		t.Fatalf("%d active calls, want 2", len(recs))
	}

	sent := time.Now()
	e.Signal(syscall.SIGTERM)
	edgeproc.WaitFor(t, 2*time.Second, "public /readyz 503", func() bool { return publicReady(e) == 503 })
	notReady := time.Since(sent)
	t.Logf("public /readyz not ready %v after SIGTERM", notReady.Round(time.Millisecond))
	if notReady > 200*time.Millisecond {
		t.Errorf("/readyz turned not ready %v after SIGTERM, want within 200ms", notReady)
	}

	t.Run("OPTIONS and new INVITEs get 503 with Retry-After", func(t *testing.T) {
		probe := newRawCall(t, e.SIP, number)
		if m := probe.options(t); m.status() != 503 || m.head["retry-after"] == "" {
			t.Fatalf("OPTIONS while draining: %s, Retry-After %q", m.first, m.head["retry-after"])
		}
		if st := probe.invite(t, 5*time.Second); st != 503 || probe.final.head["retry-after"] == "" {
			t.Fatalf("INVITE while draining: %s, Retry-After %q", probe.final.first, probe.final.head["retry-after"])
		}
		other := newRawCall(t, s.edges[1].SIP, number)
		if st := other.invite(t, 5*time.Second); st != 200 {
			t.Fatalf("INVITE to another node while edge-1 drains: %d", st)
		}
		other.hangup(t)
	})

	t.Run("the call in progress finishes normally", func(t *testing.T) {
		time.Sleep(500 * time.Millisecond)
		short.hangup(t)
	})

	t.Run("the call left at the drain timeout is ended with Reason", func(t *testing.T) {
		bye := long.waitBye(t, drainTimeout+5*time.Second)
		t.Logf("BYE to the trunk %v after SIGTERM: Reason: %s", time.Since(sent).Round(time.Millisecond), bye.head["reason"])
		if want := `SIP;cause=503;text="Edge drain timeout"`; bye.head["reason"] != want {
			t.Fatalf("BYE's Reason %q, want %q", bye.head["reason"], want)
		}
	})

	t.Run("the service's BYE carried the Reason too", func(t *testing.T) {
		if code := svc.Wait(t, 10*time.Second); code != 0 {
			t.Fatalf("the SIPp service requiring Reason exited %d:\n%s", code, svc.ErrorLog())
		}
	})

	code := e.Wait(t, 40*time.Second)
	t.Logf("edge-1 exited %d, %v after SIGTERM", code, time.Since(sent).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	ends := map[string]string{}
	for _, r := range recs {
		rec := s.call(t, r.ID)
		if rec.State != tenancy.CallEnded {
			t.Fatalf("call %s still %s", rec.ID, rec.State)
		}
		ends[rec.To] = rec.EndReason
	}
	if ends[number] != "trunk_hangup" || ends[longNumber] != "drain_timeout" {
		t.Fatalf("end reasons %v", ends)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.redis.Client(t).Get(ctx, "edge:node:edge-1:http").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("edge-1 still registered after exit: %v", err)
	}
	s.waitActive(t, 0, 5*time.Second)
	if !strings.Contains(e.Log(), `"drain timeout: hanging up the calls left"`) {
		t.Errorf("no drain timeout in the log")
	}
}
