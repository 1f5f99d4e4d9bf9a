package routing_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/tenancy"
)

func TestInitialLoad(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	env.put(a, tenancy.KindVoiceSettings, &tenancy.VoiceSettings{TTSVoice: "alloy", Speed: 1.1, Keyterms: []string{"Dr. Rao"}})
	env.put(a, tenancy.KindTrunk, &tenancy.Trunk{ID: "secure", Name: "Secure", AllowedCIDRs: []string{"198.51.100.7"},
		Username: "carrier", Password: "correct-horse-battery"})
	b := env.clinic("South Clinic", "+15551230002", "203.0.113.0/24")

	m := startMap(t, env.store)
	m.waitReady(t)

	r, ok := m.Lookup("+15551230001")
	if !ok {
		t.Fatal("+15551230001 not routed after the initial load")
	}
	snap, err := env.store.LoadSnapshot(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	w := r.Workspace
	if w.ID != a || w.Name != "North Clinic" || w.Environment != tenancy.EnvDevelopment ||
		w.Status != tenancy.StatusActive || w.Limits != (tenancy.Limits{MaxConcurrentCalls: 10, MaxCPS: 2}) {
		t.Errorf("workspace = %+v", w)
	}
	if r.Version != snap.Version || w.Version != snap.Version {
		t.Errorf("version = %d/%d, want %d", r.Version, w.Version, snap.Version)
	}
	if r.Number != "+15551230001" || r.Label != "main line" {
		t.Errorf("number = %q label %q", r.Number, r.Label)
	}
	wantTarget := tenancy.Target{User: "agent", Host: "10.0.0.5", Port: 5070, Transport: "udp"}
	if r.Service.ID != "front-desk" || r.Service.TargetURI != "sip:agent@10.0.0.5:5070;transport=udp" || r.Service.Target != wantTarget {
		t.Errorf("service = %+v", r.Service)
	}
	if len(r.Trunks) != 2 || r.Trunks[0].ID != "carrier" || r.Trunks[1].ID != "secure" {
		t.Fatalf("trunks = %+v", r.Trunks)
	}
	if sec := r.Trunks[1]; !sec.HasCredentials() || sec.Username != "carrier" ||
		sec.Realm != "edge" || sec.HA1MD5 != tenancy.NewDigestHA1("edge", "carrier", "correct-horse-battery").MD5 ||
		len(sec.Prefixes) != 1 || sec.Prefixes[0] != netip.MustParsePrefix("198.51.100.7/32") {
		t.Errorf("secure trunk = %+v", sec)
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.VoiceSettingsB64)
	if err != nil {
		t.Fatalf("X-Voice-Settings is not base64url without padding: %v", err)
	}
	var vs tenancy.VoiceSettings
	if err := json.Unmarshal(raw, &vs); err != nil || vs.TTSVoice != "alloy" || vs.Speed != 1.1 || len(vs.Keyterms) != 1 {
		t.Errorf("voice settings = %s (%v)", raw, err)
	}
	if r.VoiceSettings.TTSVoice != "alloy" {
		t.Errorf("route voice settings = %+v", r.VoiceSettings)
	}
	if rb, ok := m.Lookup("+15551230002"); !ok || rb.Workspace.ID != b {
		t.Errorf("second workspace's number: %+v %v", rb, ok)
	}
	if v, ok := m.Workspace(b); !ok || v.Name != "South Clinic" || v.Numbers != 1 || len(v.Trunks) != 1 {
		t.Errorf("Workspace(b) = %+v %v", v, ok)
	}
	st := m.Status()
	if !st.Ready || st.Degraded || st.Workspaces != 2 || st.Numbers != 2 || st.LastSync.IsZero() || st.Seq == 0 {
		t.Errorf("status = %+v", st)
	}
	if got := m.metric(t, "edge_routing_reloads_total", routing.ReasonStart); got != 1 {
		t.Errorf("reloads{start} = %v", got)
	}
	if got := m.metric(t, "edge_routing_numbers", ""); got != 2 {
		t.Errorf("numbers gauge = %v", got)
	}
	if got := m.metric(t, "edge_routing_map_version", ""); got != float64(st.Seq) {
		t.Errorf("map_version = %v, want %d", got, st.Seq)
	}
}

func TestFollowsChanges(t *testing.T) {
	env := newTestEnv(t)
	m := startMap(t, env.store)
	m.waitReady(t)
	if _, ok := m.Lookup("+15551230001"); ok {
		t.Fatal("hit on an empty map")
	}

	ws := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m.waitRoute(t, "+15551230001", ws, "front-desk")

	t.Run("number moved between services", func(t *testing.T) {
		env.service(ws, "after-hours", "sip:night@10.0.0.6")
		env.number(ws, "+15551230001", "after-hours")
		r := m.waitRoute(t, "+15551230001", ws, "after-hours")
		if r.Service.Target.Host != "10.0.0.6" {
			t.Errorf("target = %+v", r.Service.Target)
		}
	})
	t.Run("voice settings change the header value", func(t *testing.T) {
		before, _ := m.Lookup("+15551230001")
		env.put(ws, tenancy.KindVoiceSettings, &tenancy.VoiceSettings{TTSVoice: "verse"})
		waitFor(t, "new voice settings", func() bool {
			r, ok := m.Lookup("+15551230001")
			return ok && r.VoiceSettings.TTSVoice == "verse" && r.VoiceSettingsB64 != before.VoiceSettingsB64
		})
		if before.VoiceSettings.TTSVoice == "verse" {
			t.Error("a route already handed out changed: routes must be immutable")
		}
	})
	t.Run("trunk added", func(t *testing.T) {
		addr := netip.MustParseAddr("198.51.100.10")
		env.trunk(ws, "backup", "198.51.100.0/28")
		waitFor(t, "the new trunk", func() bool { return m.KnownSource(addr) })
		r, _ := m.Lookup("+15551230001")
		if tr, ok := r.TrunkFor(addr); !ok || tr.ID != "backup" {
			t.Errorf("TrunkFor = %+v %v", tr, ok)
		}
	})
	t.Run("workspace suspended", func(t *testing.T) {
		if _, err := env.store.UpdateWorkspace(context.Background(), platform, ws, func(w *tenancy.Workspace) error {
			w.Status = tenancy.StatusSuspended
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "suspension", func() bool {
			r, ok := m.Lookup("+15551230001")
			return ok && !r.Workspace.Active()
		})
	})
	t.Run("number deleted", func(t *testing.T) {
		env.remove(ws, tenancy.KindNumber, "+15551230001")
		m.waitMiss(t, "+15551230001")
		if v, ok := m.Workspace(ws); !ok || v.Numbers != 0 {
			t.Errorf("workspace after its number left: %+v %v", v, ok)
		}
	})
	t.Run("number moved to another workspace", func(t *testing.T) {
		other := env.clinic("South Clinic", "+15551230001", "203.0.113.0/24")
		r := m.waitRoute(t, "+15551230001", other, "front-desk")
		if _, ok := r.TrunkFor(netip.MustParseAddr("192.0.2.1")); ok {
			t.Error("the old workspace's trunk admits the moved number")
		}
	})
	if got := m.metric(t, "edge_routing_changes_total", ""); got == 0 {
		t.Error("changes_total did not move")
	}
}

func TestWorkspaceDeleted(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	b := env.clinic("South Clinic", "+15551230002", "203.0.113.0/24")
	m := startMap(t, env.store)
	m.waitReady(t)
	m.waitRoute(t, "+15551230001", a, "front-desk")

	if err := env.store.DeleteWorkspace(context.Background(), platform, a); err != nil {
		t.Fatal(err)
	}
	m.waitMiss(t, "+15551230001")
	if _, ok := m.Workspace(a); ok {
		t.Error("deleted workspace still served")
	}
	if m.KnownSource(netip.MustParseAddr("192.0.2.9")) {
		t.Error("deleted workspace's trunk still a known source")
	}
	if r, ok := m.Lookup("+15551230002"); !ok || r.Workspace.ID != b {
		t.Error("the other workspace suffered from the deletion")
	}
	// Its number is free again and can be routed by another workspace.
	env.service(b, "second", "sip:second@10.0.0.7")
	env.number(b, "+15551230001", "second")
	m.waitRoute(t, "+15551230001", b, "second")
}

// gatedSource is the real store with a switch that parks the follower
// before its next read of the change stream.
type gatedSource struct {
	*tenancy.Store
	mu     sync.Mutex
	gate   chan struct{} // non-nil while paused; closed to resume
	parked chan struct{} // receives when a read parks
}

func (g *gatedSource) ReadChanges(ctx context.Context, after string, wait time.Duration) ([]tenancy.Change, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		select {
		case g.parked <- struct{}{}:
		default:
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Store.ReadChanges(ctx, after, wait)
}

func (g *gatedSource) pause(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
	select {
	case <-g.parked:
	case <-time.After(waitLimit):
		t.Fatal("the follower did not park")
	}
}

func (g *gatedSource) resume() {
	g.mu.Lock()
	close(g.gate)
	g.gate = nil
	g.mu.Unlock()
}

func TestGapTriggersFullReload(t *testing.T) {
	env := newTestEnv(t)
	src := &gatedSource{Store: env.store, parked: make(chan struct{}, 1)}
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m := startMap(t, src)
	m.waitReady(t)
	seqBefore := m.Status().Seq

	src.pause(t)
	// While the follower is away: a new workspace, a moved number, a
	// deleted one; then the history is trimmed to its last entry.
	b := env.clinic("South Clinic", "+15551230002", "203.0.113.0/24")
	env.service(a, "after-hours", "sip:night@10.0.0.6")
	env.number(a, "+15551230001", "after-hours")
	env.number(a, "+15551230003", "front-desk")
	env.remove(a, tenancy.KindNumber, "+15551230003")
	rdb := env.redis.Client(t)
	if err := rdb.XTrimMaxLen(context.Background(), "{edge}:changes", 1).Err(); err != nil {
		t.Fatalf("xtrim: %v", err)
	}
	src.resume()

	waitFor(t, "a gap reload", func() bool { return m.metric(t, "edge_routing_reloads_total", routing.ReasonGap) >= 1 })
	m.waitRoute(t, "+15551230001", a, "after-hours")
	m.waitRoute(t, "+15551230002", b, "front-desk")
	m.waitMiss(t, "+15551230003")
	_, head, err := env.store.ChangesHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); st.Seq != head || st.Seq <= seqBefore || st.Workspaces != 2 || st.Degraded {
		t.Errorf("status after the gap = %+v, head %d", st, head)
	}
	// And it follows the stream again afterwards.
	env.number(b, "+15551230004", "front-desk")
	m.waitRoute(t, "+15551230004", b, "front-desk")
}

func TestRedisLostThenBack(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m := startMap(t, env.store)
	m.waitReady(t)
	m.waitRoute(t, "+15551230001", a, "front-desk")

	env.redis.Stop()
	waitFor(t, "degraded", m.Degraded)
	if r, ok := m.Lookup("+15551230001"); !ok || r.Workspace.ID != a {
		t.Fatal("the last good map is not served while Redis is down")
	}
	if !m.KnownSource(netip.MustParseAddr("192.0.2.1")) {
		t.Error("trunks forgotten while Redis is down")
	}
	st := m.Status()
	if !st.Ready || !st.Degraded || st.LastError == "" || st.Numbers != 1 {
		t.Errorf("status while down = %+v", st)
	}
	if m.metric(t, "edge_routing_degraded", "") != 1 || m.metric(t, "edge_routing_redis_errors_total", "") == 0 {
		t.Error("degraded or redis_errors_total metric did not move")
	}

	// Redis comes back empty (no persistence): the map resyncs to it.
	env.redis.Restart()
	waitFor(t, "not degraded", func() bool { return !m.Degraded() })
	m.waitMiss(t, "+15551230001")
	if got := m.metric(t, "edge_routing_reloads_total", routing.ReasonReconnect); got < 1 {
		t.Errorf("reloads{reconnect} = %v", got)
	}
	if st := m.Status(); st.LastError != "" || st.Workspaces != 0 {
		t.Errorf("status after the resync = %+v", st)
	}

	// The control plane re-populates it; the map follows.
	b := env.clinic("North Clinic again", "+15551230001", "192.0.2.0/24")
	m.waitRoute(t, "+15551230001", b, "front-desk")
}

func TestRedisBackWithDataWrittenWhileAway(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	src := &gatedSource{Store: env.store, parked: make(chan struct{}, 1)}
	m := startMap(t, src)
	m.waitReady(t)
	m.waitRoute(t, "+15551230001", a, "front-desk")

	// Park the follower so that the restart and the re-population happen
	// while it is away, then let it find a different Redis.
	src.pause(t)
	env.redis.Restart()
	b := env.clinic("Restored Clinic", "+15551230009", "203.0.113.0/24")
	src.resume()

	m.waitRoute(t, "+15551230009", b, "front-desk")
	m.waitMiss(t, "+15551230001")
	waitFor(t, "a full reload", func() bool {
		return m.metric(t, "edge_routing_reloads_total", routing.ReasonReconnect)+
			m.metric(t, "edge_routing_reloads_total", routing.ReasonGap) >= 1
	})
}

func TestNotReadyWhileRedisDownAtStart(t *testing.T) {
	env := newTestEnv(t)
	env.redis.Stop()
	m := startMap(t, env.store)
	waitFor(t, "a few failed attempts", func() bool {
		return m.metric(t, "edge_routing_redis_errors_total", "") >= 3
	})
	if st := m.Status(); st.Ready || st.Degraded || st.LastError == "" || !st.LastSync.IsZero() {
		t.Errorf("status with Redis down at start = %+v", st)
	}
	if _, ok := m.Lookup("+15551230001"); ok {
		t.Error("hit on a map never loaded")
	}
	if m.metric(t, "edge_routing_ready", "") != 0 {
		t.Error("ready gauge set")
	}

	env.redis.Restart()
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m.waitReady(t)
	m.waitRoute(t, "+15551230001", a, "front-desk")
	if m.Degraded() || m.metric(t, "edge_routing_reloads_total", routing.ReasonStart) != 1 {
		t.Errorf("degraded %v, reloads{start} %v", m.Degraded(), m.metric(t, "edge_routing_reloads_total", routing.ReasonStart))
	}
}

func TestReconcileHealsUnannouncedWrites(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	b := env.clinic("South Clinic", "+15551230002", "203.0.113.0/24")
	m := startMap(t, env.store, routing.WithReconcileInterval(100*time.Millisecond))
	m.waitReady(t)
	ctx := context.Background()
	rdb := env.redis.Client(t)

	// A writer that committed and crashed before announcing: the hash
	// changes and the version moves, the change stream says nothing.
	n, _ := json.Marshal(tenancy.PhoneNumber{Number: "+15551230005", ServiceID: "front-desk"})
	cfg := "{ws:" + a + "}:routing"
	if err := rdb.HSet(ctx, "edge:numbers", "+15551230005", a).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, cfg, "number:+15551230005", n).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HIncrBy(ctx, cfg, "version", 1).Err(); err != nil {
		t.Fatal(err)
	}
	m.waitRoute(t, "+15551230005", a, "front-desk")

	// A workspace removed without announcement disappears too.
	if err := rdb.Del(ctx, "{ws:"+b+"}:routing").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.SRem(ctx, "edge:workspaces", b).Err(); err != nil {
		t.Fatal(err)
	}
	m.waitMiss(t, "+15551230002")
	if _, ok := m.Workspace(b); ok {
		t.Error("unannounced deletion not healed")
	}
	if got := m.metric(t, "edge_routing_reloads_total", routing.ReasonReconcile); got < 2 {
		t.Errorf("reloads{reconcile} = %v, want at least 2", got)
	}
	if got := m.metric(t, "edge_routing_reconciliations_total", ""); got < 2 {
		t.Errorf("reconciliations_total = %v", got)
	}
}

func TestUndecodableWorkspace(t *testing.T) {
	env := newTestEnv(t)
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	b := env.clinic("South Clinic", "+15551230002", "203.0.113.0/24")
	ctx := context.Background()
	rdb := env.redis.Client(t)
	if err := rdb.HSet(ctx, "{ws:"+b+"}:routing", "service:broken", "{not json").Err(); err != nil {
		t.Fatal(err)
	}

	m := startMap(t, env.store)
	m.waitReady(t)
	if _, ok := m.Lookup("+15551230002"); ok {
		t.Error("a workspace that does not decode was loaded")
	}
	if r, ok := m.Lookup("+15551230001"); !ok || r.Workspace.ID != a {
		t.Fatal("one bad workspace took the others down")
	}
	if m.metric(t, "edge_routing_bad_items_total", "") == 0 {
		t.Error("bad_items_total did not move")
	}

	// A good workspace that goes bad keeps its last good state.
	if err := rdb.HSet(ctx, "{ws:"+a+"}:routing", "trunk:broken", "[").Err(); err != nil {
		t.Fatal(err)
	}
	env.number(a, "+15551230003", "front-desk")
	env.number(b, "+15551230004", "front-desk") // a change after the bad one is still applied
	waitFor(t, "the changes to be read", func() bool {
		_, head, _ := env.store.ChangesHead(ctx)
		return m.Status().Seq == head
	})
	if _, ok := m.Lookup("+15551230001"); !ok {
		t.Error("last good state of a workspace that went bad was dropped")
	}
	// A number change is applied by reading that number alone
	// (sync_items.go): it reaches the last good state without reading the
	// broken trunk.
	if r, ok := m.Lookup("+15551230003"); !ok || r.Workspace.ID != a {
		t.Error("a number change of a workspace with a broken item was not applied to its last good state")
	}
	if got := m.metric(t, "edge_routing_item_changes_total", ""); got == 0 {
		t.Error("item_changes_total did not move")
	}

	// Repaired, it is loaded again.
	if err := rdb.HDel(ctx, "{ws:"+b+"}:routing", "service:broken").Err(); err != nil {
		t.Fatal(err)
	}
	env.number(b, "+15551230006", "front-desk")
	m.waitRoute(t, "+15551230006", b, "front-desk")
	m.waitRoute(t, "+15551230004", b, "front-desk")
}

func TestRunTwice(t *testing.T) {
	env := newTestEnv(t)
	m := startMap(t, env.store)
	m.waitReady(t)
	if err := m.Run(context.Background()); !errors.Is(err, routing.ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t)
	// Stopped, it can run again, and keeps serving meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	a := env.clinic("North Clinic", "+15551230001", "192.0.2.0/24")
	m.waitRoute(t, "+15551230001", a, "front-desk")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after stop: %v", err)
	}
}
