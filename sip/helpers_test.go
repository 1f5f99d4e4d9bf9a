package sip

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// testEdge is a Server on 127.0.0.1 random ports with a real redis-server,
// the real routing map and the real media manager.
type testEdge struct {
	redis   *tenancytest.Redis
	store   *tenancy.Store
	routes  *routing.Map
	pool    *media.PortPool
	srv     *Server
	reg     *prometheus.Registry
	udpAddr string
	tcpAddr string
	// goroutines is the count once the edge is up, the leak baseline.
	goroutines int
}

type edgeOptions struct {
	cfg          func(*Config)
	mediaTimeout time.Duration
	// logs, when set, receives the edge's log at debug level.
	logs io.Writer
	// rtpPorts overrides the RTP port range (load tests need more).
	rtpPorts     [2]int
	rtcpInterval time.Duration // 0: media's default
}

// portBase spreads the RTP ranges of the tests of this process.
var portBase atomic.Int32

func testLogger() *slog.Logger {
	if os.Getenv("EDGE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestEdge(t *testing.T, opts ...func(*edgeOptions)) *testEdge {
	t.Helper()
	o := edgeOptions{mediaTimeout: 30 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	flog := newFailLog(t)
	e := &testEdge{redis: tenancytest.StartRedis(t), reg: prometheus.NewRegistry()}
	// Overlapping trunks of several workspaces on 127.0.0.1: admission
	// tests need them (the platform may allow them, tenancy.Policy).
	e.store = e.redis.Store(t, tenancy.WithPolicy(tenancy.Policy{AllowOverlappingCIDRs: true, Credentials: tenancytest.CredentialsBox(t)}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	e.routes = routing.New(e.store, nil, nil, routing.WithPollWait(20*time.Millisecond))
	wg.Add(1)
	go func() { defer wg.Done(); _ = e.routes.Run(ctx) }()

	lo := 42000 + int(portBase.Add(1)%40)*200
	hi := lo + 199
	if o.rtpPorts[0] > 0 {
		lo, hi = o.rtpPorts[0], o.rtpPorts[1]
	}
	pool, err := media.NewPortPool(netip.MustParseAddr("127.0.0.1"), lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	e.pool = pool
	mcfg := media.DefaultConfig()
	mcfg.MediaTimeout = o.mediaTimeout
	if o.rtcpInterval > 0 {
		mcfg.RTCPInterval = o.rtcpInterval
	}
	mgr, err := media.NewManager(mcfg, pool, e.reg, media.WithLogger(flog.logger(nil)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.NodeID = "node-test"
	cfg.PublicIP = netip.MustParseAddr("127.0.0.1")
	cfg.ControlWait = 100 * time.Millisecond
	cfg.NoAnswerTimeout = 5 * time.Second
	cfg.MediaTimeout = o.mediaTimeout
	// No CPU shedding (overload_cpu.go): a test's edge shares the cores
	// with every other package's tests, and a saturated CI machine would
	// refuse the calls a test counts; its own tests and the load test
	// cover it.
	cfg.OverloadLatency = 0
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	log := flog.logger(o.logs)
	srv, err := New(cfg, e.routes, MediaManager(mgr), e.store, WithLogger(log), WithRegistry(e.reg))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.udpAddr, e.tcpAddr = pc.LocalAddr().String(), ln.Addr().String()
	wg.Add(3)
	go func() { defer wg.Done(); _ = srv.ServeUDP(ctx, pc) }()
	go func() { defer wg.Done(); _ = srv.ServeTCP(ctx, ln) }()
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	t.Cleanup(func() {
		_ = srv.Close()
		cancel()
		wg.Wait()
		_ = mgr.Close()
	})
	waitFor(t, 5*time.Second, "routing map ready", e.routes.Ready)
	time.Sleep(50 * time.Millisecond)
	e.goroutines = runtime.NumGoroutine()
	return e
}

// wsSpec describes a workspace of a test.
type wsSpec struct {
	name, number, cidr, target string
	user, pass                 string
	limits                     tenancy.Limits
	// Carrier settings of the trunk (design section 10).
	countryCode string
	budget      int
	// voice overrides the voice settings.
	voice *tenancy.VoiceSettings
	// mediaEnc and latching are the trunk's media_encryption and
	// rtp_latching ("" for the defaults).
	mediaEnc, latching string
}

// addWorkspace creates a workspace with a service, a trunk and a number
// through tenancy.Store, and waits until the routing map has it.
func (e *testEdge) addWorkspace(t *testing.T, s wsSpec) string {
	t.Helper()
	ctx := context.Background()
	w, _, err := e.store.CreateWorkspace(ctx, tenancy.PlatformPrincipal, tenancy.NewWorkspace{
		Name: s.name, Environment: tenancy.EnvStaging, Limits: s.limits,
		Owner: tenancy.Account{Name: "Owner", Email: "owner@" + strings.ToLower(s.name) + ".example"},
	})
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	put := func(kind tenancy.Kind, item tenancy.Item) {
		t.Helper()
		if _, err := e.store.Put(ctx, tenancy.PlatformPrincipal, w.ID, kind, item, tenancy.Upsert); err != nil {
			t.Fatalf("put %s: %v", kind.Name, err)
		}
	}
	put(tenancy.KindService, &tenancy.Service{ID: "agent", Name: "Agent", Target: s.target})
	put(tenancy.KindTrunk, &tenancy.Trunk{ID: "carrier", Name: "Carrier", AllowedCIDRs: []string{s.cidr}, Username: s.user, Password: s.pass,
		DefaultCountryCode: s.countryCode, MaxRequestsPerSecond: s.budget, MediaEncryption: s.mediaEnc, RTPLatching: s.latching})
	voice := &tenancy.VoiceSettings{TTSVoice: "alloy", Speed: 1, Keyterms: []string{"appointment"}}
	if s.voice != nil {
		voice = s.voice
	}
	put(tenancy.KindVoiceSettings, voice)
	put(tenancy.KindNumber, &tenancy.PhoneNumber{Number: s.number, ServiceID: "agent"})
	waitFor(t, 5*time.Second, "route of "+s.number, func() bool {
		r, ok := e.routes.Lookup(s.number)
		return ok && r.Workspace.ID == w.ID && r.Trunks != nil && len(r.Trunks) > 0
	})
	return w.ID
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkNoLeaks waits until the edge holds nothing of its calls: no call,
// dialog or peer in the cache, no media port, no active call in Redis for
// the workspaces, and goroutines back to the baseline, the worker pool's
// aside.
func (e *testEdge) checkNoLeaks(t *testing.T, workspaces ...string) {
	t.Helper()
	var last string
	ok := func() bool {
		calls, legs, peers := e.srv.dialogs.sizes()
		var active int64
		for _, ws := range workspaces {
			n, err := e.store.ActiveCalls(context.Background(), ws)
			if err != nil {
				last = err.Error()
				return false
			}
			active += n
		}
		// The worker pool's goroutines stay for the next handlers. A busy
		// one still shows: its caller waits for it on a goroutine of its own.
		workers := e.srv.workers.running()
		g := runtime.NumGoroutine() - workers
		last = fmt.Sprintf("calls=%d legs=%d peers=%d ports=%d redis_active=%d goroutines=%d+%d workers (baseline %d)",
			calls, legs, peers, e.pool.InUse(), active, g, workers, e.goroutines)
		return calls == 0 && legs == 0 && peers == 0 && e.pool.InUse() == 0 && active == 0 && g <= e.goroutines+2
	}
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %s\n%s", last, buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// events returns the events of a workspace's stream.
func (e *testEdge) events(t *testing.T, ws string) []tenancy.Event {
	t.Helper()
	evs, _, err := e.store.ListEvents(context.Background(), ws, "", 1000)
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	return evs
}

// callEvents returns the call.* events of a workspace, in order.
func (e *testEdge) callEvents(t *testing.T, ws string) []tenancy.Event {
	var out []tenancy.Event
	for _, ev := range e.events(t, ws) {
		if strings.HasPrefix(ev.Type, "call.") {
			out = append(out, ev)
		}
	}
	return out
}

// waitEnded waits for n call.ended events of ws and returns their data.
func (e *testEdge) waitEnded(t *testing.T, ws string, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	waitFor(t, 15*time.Second, "call.ended", func() bool {
		out = out[:0]
		for _, ev := range e.callEvents(t, ws) {
			if ev.Type == tenancy.EventCallEnded {
				var d map[string]any
				_ = json.Unmarshal(ev.Data, &d)
				out = append(out, d)
			}
		}
		return len(out) >= n
	})
	return out
}

// counter returns the value of a counter of the edge's registry.
func (e *testEdge) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for k, v := range labels {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				sum += c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				sum += g.GetValue()
			}
		}
	}
	return sum
}
