package routing_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// waitLimit bounds every wait for the map to catch up.
const waitLimit = 5 * time.Second

// testEnv is a real redis-server with a tenancy store writing to it.
type testEnv struct {
	t     *testing.T
	redis *tenancytest.Redis
	store *tenancy.Store
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	r := tenancytest.StartRedis(t)
	// Wide CIDRs: the longest-prefix tests nest a /16 in a /8.
	return &testEnv{t: t, redis: r, store: r.Store(t, tenancy.WithPolicy(tenancy.Policy{AllowWideCIDRs: true, AllowOverlappingCIDRs: true}))}
}

// testMap is a Map running on its own goroutine until the test ends.
type testMap struct {
	*routing.Map
	reg  *prometheus.Registry
	stop func() error
}

// startMap runs a Map on src with short timings; at cleanup it stops it and
// checks that no goroutine of the map is left.
func startMap(t *testing.T, src routing.Source, opts ...routing.Option) *testMap {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts = append([]routing.Option{
		routing.WithPollWait(50 * time.Millisecond),
		routing.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
	}, opts...)
	m := routing.New(src, reg, nil, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(waitLimit):
				runErr = errors.New("Run did not return after its context ended")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
		checkNoLeak(t)
	})
	return &testMap{Map: m, reg: reg, stop: stop}
}

// checkNoLeak fails when a goroutine of the map outlives Run.
func checkNoLeak(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "routing.(*Map)") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutine of the map left after Run returned:\n%s", stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *testMap) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "the map to be ready", m.Ready)
}

// waitRoute waits until number routes to service svc of workspace ws.
func (m *testMap) waitRoute(t *testing.T, number, ws, svc string) *routing.Route {
	t.Helper()
	var r *routing.Route
	waitFor(t, number+" -> "+ws+"/"+svc, func() bool {
		var ok bool
		r, ok = m.Lookup(number)
		return ok && r.Workspace.ID == ws && r.Service.ID == svc
	})
	return r
}

func (m *testMap) waitMiss(t *testing.T, number string) {
	t.Helper()
	waitFor(t, number+" to miss", func() bool { _, ok := m.Lookup(number); return !ok })
}

// metric returns the value of a counter or gauge of the map's registry,
// with the given label value if any (0 when absent).
func (m *testMap) metric(t *testing.T, name, label string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if label != "" && !hasLabelValue(mt, label) {
				continue
			}
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			}
		}
	}
	return 0
}

func hasLabelValue(mt *dto.Metric, v string) bool {
	for _, l := range mt.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

// Writers through the real tenancy store.

var platform = tenancy.PlatformPrincipal

func (e *testEnv) workspace(name string) string {
	e.t.Helper()
	w, _, err := e.store.CreateWorkspace(context.Background(), platform, tenancy.NewWorkspace{
		Name: name, Environment: tenancy.EnvDevelopment,
		Limits: tenancy.Limits{MaxConcurrentCalls: 10, MaxCPS: 2},
		Owner:  tenancy.Account{Name: "Olive Owner", Email: "owner@example.org"},
	})
	if err != nil {
		e.t.Fatalf("create workspace: %v", err)
	}
	return w.ID
}

func (e *testEnv) put(ws string, kind tenancy.Kind, item tenancy.Item) {
	e.t.Helper()
	if _, err := e.store.Put(context.Background(), platform, ws, kind, item, tenancy.Upsert); err != nil {
		e.t.Fatalf("put %s into %s: %v", kind.Name, ws, err)
	}
}

func (e *testEnv) service(ws, id, target string) {
	e.t.Helper()
	e.put(ws, tenancy.KindService, &tenancy.Service{ID: id, Name: id, Target: target})
}

func (e *testEnv) number(ws, number, svc string) {
	e.t.Helper()
	e.put(ws, tenancy.KindNumber, &tenancy.PhoneNumber{Number: number, ServiceID: svc, Label: "main line"})
}

func (e *testEnv) trunk(ws, id string, cidrs ...string) {
	e.t.Helper()
	e.put(ws, tenancy.KindTrunk, &tenancy.Trunk{ID: id, Name: id, AllowedCIDRs: cidrs})
}

func (e *testEnv) remove(ws string, kind tenancy.Kind, id string) {
	e.t.Helper()
	if err := e.store.Delete(context.Background(), platform, ws, kind, id); err != nil {
		e.t.Fatalf("delete %s %s of %s: %v", kind.Name, id, ws, err)
	}
}

// clinic creates a workspace with a service "front-desk", the given number
// routed to it and one trunk "carrier" of cidr.
func (e *testEnv) clinic(name, number, cidr string) string {
	e.t.Helper()
	ws := e.workspace(name)
	e.service(ws, "front-desk", "sip:agent@10.0.0.5:5070;transport=udp")
	e.number(ws, number, "front-desk")
	e.trunk(ws, "carrier", cidr)
	return ws
}
