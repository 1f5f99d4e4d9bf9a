package operators

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// testEdge is a whole edge node as cmd/edge wires it: a real redis-server,
// the routing map, the SIP server with its media manager, the operator
// engine and the operator API, on loopback.
type testEdge struct {
	store   *tenancy.Store
	routes  *routing.Map
	srv     *sip.Server
	h       *Handler
	baseURL string
	udpAddr string
}

func newTestEdge(t *testing.T) *testEdge {
	t.Helper()
	r := tenancytest.StartRedis(t)
	// Two workspaces on the 127.0.0.1 trunk: the platform allows it here.
	e := &testEdge{store: r.Store(t, tenancy.WithPolicy(tenancy.Policy{AllowOverlappingCIDRs: true}))}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	routes := routing.New(e.store, nil, nil, routing.WithPollWait(20*time.Millisecond))
	wg.Add(1)
	go func() { defer wg.Done(); _ = routes.Run(ctx) }()

	mgr, _ := newTestManager(t, reg)
	scfg := sip.DefaultConfig()
	scfg.OverloadLatency = 0 // no CPU shedding on a shared CI machine (sip/overload_cpu.go)
	scfg.NodeID = "node-e2e"
	scfg.PublicIP = netip.MustParseAddr("127.0.0.1")
	scfg.ControlWait = 100 * time.Millisecond
	scfg.NoAnswerTimeout = 5 * time.Second
	scfg.ByeTimeout = time.Second
	srv, err := sip.New(scfg, routes, sip.MediaManager(mgr), e.store, sip.WithLogger(testLogger()), sip.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	eng := newTestEngine(t, reg)
	cfg := DefaultConfig()
	cfg.NodeID = scfg.NodeID
	cfg.RecheckInterval = 500 * time.Millisecond
	// Event streams block on a Redis client of their own, sized for them,
	// as cmd/edge wires them.
	streamRDB := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{r.Addr}, PoolSize: cfg.MaxStreams + 4})
	t.Cleanup(func() { streamRDB.Close() })
	h, err := New(cfg, e.store, srv, eng, WithLogger(testLogger()), WithRegistry(reg), WithCallers(e.store),
		WithStreamStore(tenancy.NewStore(streamRDB)))
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	hs := httptest.NewServer(h)
	e.baseURL = hs.URL

	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.udpAddr = pc.LocalAddr().String()
	wg.Add(3)
	go func() { defer wg.Done(); _ = srv.ServeUDP(ctx, pc) }()
	go func() { defer wg.Done(); _ = srv.Run(ctx) }()
	go func() { defer wg.Done(); _ = h.Run(ctx) }()
	t.Cleanup(func() {
		_ = h.Close()
		_ = srv.Close()
		hs.Close()
		cancel()
		wg.Wait()
	})
	waitFor(t, 5*time.Second, "routing map ready", routes.Ready)
	e.routes = routes
	return e
}

// addWorkspace creates a workspace with accounts (newTestWorkspace), a
// service at target, a trunk of 127.0.0.1 and number, and waits for the
// routing map to have it.
func (e *testEdge) addWorkspace(t *testing.T, name, number, target string) *testWorkspace {
	t.Helper()
	ctx := context.Background()
	tw := newTestWorkspace(t, e.store, name)
	put := func(kind tenancy.Kind, item tenancy.Item) {
		t.Helper()
		if _, err := e.store.Put(ctx, tenancy.PlatformPrincipal, tw.id, kind, item, tenancy.Upsert); err != nil {
			t.Fatalf("put %s: %v", kind.Name, err)
		}
	}
	put(tenancy.KindService, &tenancy.Service{ID: "agent", Name: "Agent", Target: target})
	put(tenancy.KindTrunk, &tenancy.Trunk{ID: "carrier", Name: "Carrier", AllowedCIDRs: []string{"127.0.0.1/32"}})
	put(tenancy.KindNumber, &tenancy.PhoneNumber{Number: number, ServiceID: "agent"})
	waitFor(t, 5*time.Second, "route of "+number, func() bool {
		r, ok := e.routes.Lookup(number)
		return ok && r.Workspace.ID == tw.id && len(r.Trunks) > 0
	})
	return tw
}

// waitCall waits until the workspace of key lists an answered call and
// returns its id.
func (e *testEdge) waitCall(t *testing.T, key string) string {
	t.Helper()
	var id string
	waitFor(t, 10*time.Second, "an answered call", func() bool {
		res := do(t, http.MethodGet, e.baseURL+"/v1/calls", key, "", nil)
		var page listPage[callView]
		if res.status != 200 || json.Unmarshal(res.body, &page) != nil {
			return false
		}
		for _, c := range page.Items {
			if c.State == tenancy.CallAnswered {
				id = c.ID
				return true
			}
		}
		return false
	})
	return id
}

// ---- SIPp ------------------------------------------------------------------

// freeUDPPort returns a UDP port free on ip.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sippProc is a running SIPp, killed at cleanup.
type sippProc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
}

// startSipp runs sipp with scenario (a path) in a temporary directory.
func startSipp(t *testing.T, scenario string, args ...string) *sippProc {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (run scripts/install-deps.sh): %v", err)
	}
	dir := t.TempDir()
	wav, err := os.ReadFile("../../loadtest/sipp/pcmu_tone.wav")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pcmu_tone.wav"), wav, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{"-sf", abs, "-nostdin", "-m", "1", "-timeout", "60s", "-timeout_error", "-trace_err"}, args...)
	p := &sippProc{cmd: exec.Command(bin, full...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for sipp to exit and returns its exit code and logs.
func (p *sippProc) wait(t *testing.T, d time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		return -1, "timeout\n" + p.out.String()
	}
	logs := p.out.String()
	files, _ := filepath.Glob(filepath.Join(p.cmd.Dir, "*errors.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		logs += "\n--- " + filepath.Base(f) + "\n" + string(b)
	}
	return p.cmd.ProcessState.ExitCode(), logs
}

// startService starts a SIPp service on 127.0.0.2 echoing RTP and returns
// its target URI.
func startService(t *testing.T, scenario string) (*sippProc, string) {
	t.Helper()
	port := freeUDPPort(t, "127.0.0.2")
	mport := edgeproc.SIPpMediaPort(t, "127.0.0.2", fmt.Sprint(port))
	p := startSipp(t, scenario, "-i", "127.0.0.2", "-p", fmt.Sprint(port), "-mp", mport, "-rtp_echo")
	return p, fmt.Sprintf("sip:agent@127.0.0.2:%d;transport=udp", port)
}

// trunkCall runs a SIPp trunk on 127.0.0.1 calling number through the
// edge, streaming a tone for ms milliseconds.
func (e *testEdge) trunkCall(t *testing.T, number string, ms int) *sippProc {
	t.Helper()
	return startSipp(t, "../../loadtest/sipp/uac_pcmu.xml", e.udpAddr, "-i", "127.0.0.1", "-s", number,
		"-mp", edgeproc.SIPpMediaPort(t, "127.0.0.1"), "-d", fmt.Sprint(ms))
}

// TestEndToEndSIPp: a live call through the edge (SIPp trunk on 127.0.0.1,
// SIPp service on 127.0.0.2 echoing RTP) gets a pion operator: the call's
// audio reaches it, its own audio reaches the edge, the service's INFO and
// the API both raise escalations, and the end of the call takes the
// operator off.
func TestEndToEndSIPp(t *testing.T) {
	e := newTestEdge(t)
	svc, target := startService(t, "testdata/uas_escalate.xml")
	ws := e.addWorkspace(t, "Clinic", "+15551230001", target)
	other := e.addWorkspace(t, "Other", "+15551230002", "sip:agent@127.0.0.2:5999")
	uac := e.trunkCall(t, "+15551230001", 7000)
	key := ws.keys["member"]
	call := e.waitCall(t, key)

	t.Run("another workspace cannot join the live call", func(t *testing.T) {
		op := newPionOperator(t, true)
		res := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+call+"/operators?mode=listen", other.keys["owner"], "application/sdp", op.offer(t))
		if res.status != http.StatusNotFound {
			t.Fatalf("%d %s", res.status, res.body)
		}
	})

	op := newPionOperator(t, true)
	res := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+call+"/operators?mode=whisper", key, "application/sdp", op.offer(t))
	if res.status != http.StatusCreated {
		t.Fatalf("join: %d %s", res.status, res.body)
	}
	op.accept(t, res.body)
	opID := lastSegment(res.header.Get("Location"))

	t.Run("the call's audio reaches the operator", func(t *testing.T) {
		waitFor(t, 5*time.Second, "RTP at the operator", func() bool { return op.received.Load() >= 100 })
		if lvl := op.level(4000); lvl < 200 {
			t.Fatalf("the operator hears silence (RMS %.0f): the mix carries no call audio", lvl)
		}
	})
	t.Run("the operator's audio reaches the edge", func(t *testing.T) {
		waitFor(t, 5*time.Second, "operator RTP at the edge", func() bool {
			ops := e.h.ops.all()
			return len(ops) == 1 && ops[0].op.Stats().PacketsReceived > 20
		})
	})
	t.Run("escalation by the service's INFO", func(t *testing.T) {
		waitEvent(t, e.store, ws.id, tenancy.EventEscalationRequested, map[string]any{
			"reason": "caller asks for a nurse", "source": "service", "call_id": call}, 5*time.Second)
	})
	t.Run("escalation by the API", func(t *testing.T) {
		r := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+call+"/escalations", key, "application/json", []byte(`{"reason":"agent unsure"}`))
		if r.status != http.StatusAccepted {
			t.Fatalf("%d %s", r.status, r.body)
		}
		waitEvent(t, e.store, ws.id, tenancy.EventEscalationRequested, map[string]any{"reason": "agent unsure", "source": "api"}, 3*time.Second)
	})
	t.Run("the call lists its operator", func(t *testing.T) {
		r := do(t, http.MethodGet, e.baseURL+"/v1/calls/"+call, ws.keys["viewer"], "", nil)
		if r.status != 200 || !strings.Contains(string(r.body), `"id":"`+opID+`"`) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	if code, logs := uac.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("trunk sipp exit %d\n%s", code, logs)
	}
	if code, logs := svc.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("service sipp exit %d\n%s", code, logs)
	}
	waitEvent(t, e.store, ws.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": opID, "reason": "call_ended"}, 5*time.Second)
	for _, typ := range []string{tenancy.EventEscalationRequested, tenancy.EventOperatorJoined, tenancy.EventOperatorLeft} {
		if got := events(t, e.store, other.id, typ); len(got) != 0 {
			t.Fatalf("the other workspace has %s: %v", typ, got)
		}
	}
}
