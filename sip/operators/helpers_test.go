package operators

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

func testLogger() *slog.Logger {
	if os.Getenv("EDGE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// portBase spreads the RTP port ranges of the tests of this package over
// 29400-32599: above the media package's tests (20000-29306) and below the
// kernel's ephemeral ports (32768 up). Other packages' tests bind those
// while go test runs them in parallel, some in blocks: SIPp's media ports
// count up from the free port a test hands it (-mp), a port per call. The
// earlier 30200-34199 reached into them, and a CI run found three ranges
// in a row with no pair free.
// The tests of this package run one at a time, so 32 ranges never overlap.
var portBase atomic.Int32

// newTestManager returns a media manager on a loopback port range of its own.
func newTestManager(t *testing.T, reg *prometheus.Registry) (*media.Manager, *media.PortPool) {
	t.Helper()
	lo := 29400 + int(portBase.Add(1)%32)*100
	pool, err := media.NewPortPool(netip.MustParseAddr("127.0.0.1"), lo, lo+99)
	if err != nil {
		t.Fatal(err)
	}
	mcfg := media.DefaultConfig()
	mcfg.MediaTimeout = 60 * time.Second
	mgr, err := media.NewManager(mcfg, pool, reg, media.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Close() })
	return mgr, pool
}

// newTestEngine returns an operator engine with ICE on a loopback socket
// and short ICE timeouts.
func newTestEngine(t *testing.T, reg *prometheus.Registry) *media.OperatorEngine {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := media.WebRTCConfig{ICEDisconnectedTimeout: 2 * time.Second, ICEFailedTimeout: 2 * time.Second, ICEKeepalive: 300 * time.Millisecond}
	eng, err := media.NewOperatorEngine(cfg, reg, testLogger(), media.WithICEConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

// fakeCalls is the calls of a node without SIP: real media sessions under
// call records written to Redis, for the unit's logic. The end-to-end
// tests use the real sip.Server.
type fakeCalls struct {
	mu sync.Mutex
	m  map[string]sip.CallHandle
}

func (f *fakeCalls) Call(id string) (sip.CallHandle, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.m[id]
	return c, ok
}

func (f *fakeCalls) TakeOver(id, ws string, op *media.Operator) error {
	if c, ok := f.Call(id); !ok || c.WorkspaceID != ws {
		return sip.ErrCallNotLive
	}
	return nil
}

func (f *fakeCalls) put(c sip.CallHandle) {
	f.mu.Lock()
	f.m[c.ID] = c
	f.mu.Unlock()
}

func (f *fakeCalls) remove(id string) {
	f.mu.Lock()
	delete(f.m, id)
	f.mu.Unlock()
}

// testNode is one edge node's operator API: a Handler over a real Redis,
// a real media manager and operator engine, served on loopback.
type testNode struct {
	id      string
	h       *Handler
	srv     *httptest.Server
	mgr     *media.Manager
	calls   *fakeCalls
	reg     *prometheus.Registry
	store   *tenancy.Store
	baseURL string
}

type nodeOptions struct {
	id        string
	calls     Calls
	cfg       func(*Config)
	transport http.RoundTripper // of requests forwarded to other nodes
}

// newTestNode starts a node on r's Redis, registered in the node
// registry under its id.
func newTestNode(t *testing.T, r *tenancytest.Redis, opts nodeOptions) *testNode {
	t.Helper()
	if opts.id == "" {
		opts.id = "node-a"
	}
	n := &testNode{id: opts.id, reg: prometheus.NewRegistry(), store: r.Store(t), calls: &fakeCalls{m: map[string]sip.CallHandle{}}}
	n.mgr, _ = newTestManager(t, n.reg)
	eng := newTestEngine(t, n.reg)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.NodeID = opts.id
	cfg.AdvertiseAddr = ln.Addr().String()
	cfg.ForwardSecret = testForwardSecret
	cfg.RecheckInterval = 200 * time.Millisecond
	cfg.OperatorLease = 5 * time.Second
	cfg.StreamReauth = 300 * time.Millisecond
	cfg.StreamKeepalive = time.Second
	if opts.cfg != nil {
		opts.cfg(&cfg)
	}
	var calls Calls = n.calls
	if opts.calls != nil {
		calls = opts.calls
	}
	h, err := New(cfg, n.store, calls, eng, WithLogger(testLogger()), WithRegistry(n.reg), WithCallers(n.store),
		WithForwardTransport(opts.transport))
	if err != nil {
		t.Fatal(err)
	}
	n.h = h
	n.srv = httptest.NewUnstartedServer(h)
	n.srv.Listener.Close()
	n.srv.Listener = ln
	n.srv.Start()
	n.baseURL = n.srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() {
		_ = h.Close()
		cancel()
		<-done
		n.srv.Close()
	})
	waitFor(t, 5*time.Second, "node registered", func() bool {
		addr, err := n.store.NodeHTTPAddr(context.Background(), opts.id)
		return err == nil && addr == cfg.AdvertiseAddr
	})
	return n
}

// addCall admits an answered call of ws held by node holder; when holder
// is n, n carries it with a real media session.
func (n *testNode) addCall(t *testing.T, ws, holder string) string {
	t.Helper()
	id := "call_" + randHex(8)
	rec := tenancy.CallRecord{
		ID: id, WorkspaceID: ws, ServiceID: "agent", From: "+15550001111", To: "+15551230001",
		State: tenancy.CallAnswered, StartedAt: time.Now().UTC(), NodeID: holder,
	}
	if err := n.store.AdmitCall(context.Background(), rec, tenancy.Limits{}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if holder == n.id {
		sess, err := n.mgr.NewSession(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sess.Close() })
		n.calls.put(sip.CallHandle{ID: id, WorkspaceID: ws, ServiceID: "agent", From: rec.From, To: rec.To,
			State: rec.State, StartedAt: rec.StartedAt, Session: sess})
	}
	return id
}

// endCall ends a call of n: its record, its session and its handle.
func (n *testNode) endCall(t *testing.T, ws, id string) {
	t.Helper()
	rec, err := n.store.GetCall(context.Background(), ws, id)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	rec.State, rec.EndedAt, rec.EndReason = tenancy.CallEnded, &now, "trunk_hangup"
	if err := n.store.EndCall(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if c, ok := n.calls.Call(id); ok {
		n.calls.remove(id)
		_ = c.Session.Close()
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testWorkspace is a workspace with one account and key per role, and a
// second member ("outsider") that the operator config leaves out. Its
// operator config allows owner, admin and member in listen and whisper.
type testWorkspace struct {
	id       string
	keys     map[string]string // by role name, and "outsider"
	accounts map[string]string
	keyIDs   map[string]string
}

// roles are the account names of a test workspace.
var roles = []string{"owner", "admin", "member", "viewer", "outsider"}

func newTestWorkspace(t *testing.T, s *tenancy.Store, name string) *testWorkspace {
	t.Helper()
	ctx := context.Background()
	domain := strings.ReplaceAll(strings.ToLower(name), " ", "-") + ".example"
	w, owner, err := s.CreateWorkspace(ctx, tenancy.PlatformPrincipal, tenancy.NewWorkspace{
		Name: name, Environment: tenancy.EnvStaging,
		Owner: tenancy.Account{Name: "Owner", Email: "owner@" + domain},
	})
	if err != nil {
		t.Fatalf("create workspace: %v", err)
	}
	tw := &testWorkspace{id: w.ID, keys: map[string]string{"owner": owner.Secret},
		accounts: map[string]string{"owner": owner.Account.ID}, keyIDs: map[string]string{"owner": owner.Key.ID}}
	for _, r := range roles[1:] {
		role := tenancy.Role(r)
		if r == "outsider" {
			role = tenancy.RoleMember
		}
		c, err := s.CreateAccount(ctx, tenancy.PlatformPrincipal, w.ID, tenancy.Account{Name: r, Email: r + "@" + domain, Role: role})
		if err != nil {
			t.Fatalf("create account %s: %v", r, err)
		}
		tw.keys[r], tw.accounts[r], tw.keyIDs[r] = c.Secret, c.Account.ID, c.Key.ID
	}
	tw.setOperatorConfig(t, s, []string{tw.accounts["owner"], tw.accounts["admin"], tw.accounts["member"]}, []string{"listen", "whisper"})
	return tw
}

func (tw *testWorkspace) setOperatorConfig(t *testing.T, s *tenancy.Store, operators, modes []string) {
	t.Helper()
	cfg := &tenancy.OperatorConfig{Operators: operators, Modes: modes}
	if _, err := s.Put(context.Background(), tenancy.PlatformPrincipal, tw.id, tenancy.KindOperatorConfig, cfg, tenancy.Upsert); err != nil {
		t.Fatalf("put operator config: %v", err)
	}
}

// response is an HTTP response read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) apiError(t *testing.T) apiError {
	t.Helper()
	var e struct {
		Error apiError `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Error
}

// do sends a request with key as bearer token ("" sends none).
func do(t *testing.T, method, url, key, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
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

// events returns the events of ws of type typ.
func events(t *testing.T, s *tenancy.Store, ws, typ string) []map[string]any {
	t.Helper()
	evs, _, err := s.ListEvents(context.Background(), ws, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		if ev.Type != typ {
			continue
		}
		d := map[string]any{}
		_ = json.Unmarshal(ev.Data, &d)
		d["call_id"] = ev.CallID
		out = append(out, d)
	}
	return out
}

// waitEvent waits for an event of ws of type typ whose data has every
// field of want, and returns it.
func waitEvent(t *testing.T, s *tenancy.Store, ws, typ string, want map[string]any, d time.Duration) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, d, typ+" event", func() bool {
		for _, e := range events(t, s, ws, typ) {
			ok := true
			for k, v := range want {
				if e[k] != v {
					ok = false
				}
			}
			if ok {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// testForwardSecret is the secret every test node shares.
var testForwardSecret = []byte("test-forward-secret-0123456789abcdef")
