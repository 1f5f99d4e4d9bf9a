package redisloss

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
	"github.com/voiceedge/edge/tenancy/tenancytest"
)

// The outage and the traffic around it. 100 calls/s of 1 s calls for
// 30 s of which 25 s are inside the outage; the edge is killed (SIGKILL)
// once those calls are over and restarted while Redis is still away:
// a restarted edge has no routing map until Redis answers (design section
// 3), so no calls are placed from the kill until Redis is back.
const (
	outage    = 60 * time.Second
	rate      = 100
	traffic   = 30 * time.Second
	beforeOut = 5 * time.Second
	hold      = time.Second
	numberA   = "+13125550100"
	numberB   = "+13125550200"
)

// TestRedisDownSixtySecondsWithAnEdgeRestartLosesNoCallRecordOrEvent is
// the "Redis loss with nothing lost" scenario: SIPp at 100 calls/s
// through one edge, Redis shut down (with its data) for 60 s, the edge
// SIGKILLed during the outage after its disk spool holds the writes and
// restarted; then every call SIPp placed was answered, and once Redis is
// back every call has exactly one final record (ended) and exactly one
// call.ended event after its call.started, counted against SIPp's own
// counts; the edge's metrics count 0 dropped. A second workspace's calls
// during the outage are admitted by its own share of its limits (two live
// nodes: half of them). edge-admin answers writes 503 with a message and
// its /readyz says why; the edge's internal /readyz says degraded with
// its reasons while its public one stays {"ready": true}.
func TestRedisDownSixtySecondsWithAnEdgeRestartLosesNoCallRecordOrEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2-minute run of the whole stack")
	}
	bins := edgeproc.Build(t)
	rds := tenancytest.StartRedis(t)
	admin := edgeproc.StartAdmin(t, bins, rds.Addr, nil)
	target := startService(t, "127.0.0.2")
	wsA := setupWorkspace(t, admin, "Northside", numberA, "127.0.0.3/32", target, 1000, 300)
	wsB := setupWorkspace(t, admin, "Southside", numberB, "127.0.0.4/32", target, 20, 6)
	// A second live node (as another edge's heartbeat would be): the
	// edge's shares are half of each limit (A 500/150, B 10/3).
	ghost := rds.Client(t)
	if err := ghost.ZAdd(context.Background(), "edge:node:live", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "ghost"}).Err(); err != nil {
		t.Fatal(err)
	}
	// On an address of its own: its 4,000 RTP ports clash with no other test.
	edge := edgeproc.StartEdge(t, bins, edgeproc.EdgeConfig{NodeID: "edge-1", Host: "127.0.0.41", RedisAddr: rds.Addr, RTPPorts: 4000, Env: map[string]string{
		"EDGE_SPOOL_DIR": t.TempDir(), "EDGE_WORKSPACE_MEDIA_SHARE": "100", "EDGE_LOG_LEVEL": "warn",
		"EDGE_NODE_SECRET": strings.Repeat("s", 40), // to start while Redis is away
	}})
	edgeproc.WaitNumbers(t, edge.Metrics, 2, 20*time.Second)

	a := trunkRun{name: "trunk A", edgeSIP: edge.SIP, src: "127.0.0.3", number: numberA, rate: rate, calls: rate * int(traffic/time.Second), hold: hold}.start(t)
	b := trunkRun{name: "trunk B", edgeSIP: edge.SIP, src: "127.0.0.4", number: numberB, rate: 2, calls: 2 * int(traffic/time.Second), hold: hold}.start(t)
	time.Sleep(beforeOut)
	rds.Shutdown()
	down := time.Now()
	t.Logf("redis shut down (data saved) %v into the traffic", beforeOut)

	time.Sleep(10 * time.Second)
	checkDegraded(t, edge, admin, wsA)

	stA, stB := a.finish(t, traffic+60*time.Second), b.finish(t, traffic+60*time.Second)
	t.Logf("during the outage: trunk A %+v, trunk B %+v", stA, stB)
	placed := map[string]int{wsA.ID: stA.Created, wsB.ID: stB.Created}
	if stA.Failed+stB.Failed > 0 || stA.Successful != stA.Created || stB.Successful != stB.Created {
		t.Errorf("calls failed while Redis was away: A %+v, B %+v", stA, stB)
	}
	r := waitReadiness(t, edge, "the calls' writes spooled on disk", func(r readyz) bool { return r.Spool.Entries > 0 && r.Spool.DiskBytes > 0 && r.ActiveCalls == 0 })
	m := scrape(t, edge.Metrics)
	t.Logf("before the kill: spool %+v, local admissions %v, spooled %v", r.Spool, m["edge_sip_local_admissions_total"], m["edge_spool_spooled_total"])
	// Calls placed after the shutdown were admitted from memory.
	if inOutage := float64(traffic-beforeOut) / float64(traffic) * float64(stA.Created+stB.Created); m["edge_sip_local_admissions_total"] < 0.9*inOutage {
		t.Errorf("local admissions %v, want about the %v calls placed in the outage", m["edge_sip_local_admissions_total"], inOutage)
	}
	dropped, spooled := m["edge_spool_dropped_total"], float64(r.Spool.Entries)

	edge.Signal(syscall.SIGKILL)
	edge.Wait(t, 10*time.Second)
	edge.Restart(t)
	t.Logf("edge killed and restarted %v into the outage", time.Since(down).Round(time.Second))

	time.Sleep(time.Until(down.Add(outage)))
	rds.Restart()
	t.Logf("redis back after %v", time.Since(down).Round(time.Second))
	back := time.Now()
	edgeproc.WaitNumbers(t, edge.Metrics, 2, 30*time.Second)
	waitReadiness(t, edge, "spool replayed", func(r readyz) bool { return r.Spool.Entries == 0 && !r.Degraded })
	t.Logf("spool replayed %v after redis came back", time.Since(back).Round(100*time.Millisecond))
	m = scrape(t, edge.Metrics)
	dropped += m["edge_spool_dropped_total"]
	if dropped != 0 || m["edge_spool_corrupt_records_total"] != 0 {
		t.Errorf("spool dropped %v, corrupt %v: want 0", dropped, m["edge_spool_corrupt_records_total"])
	}
	// The restarted edge replayed, from its disk, all its predecessor spooled.
	if m["edge_spool_replayed_total"] < spooled {
		t.Errorf("the restarted edge replayed %v of the %v writes spooled on disk", m["edge_spool_replayed_total"], spooled)
	}

	// Back to normal: calls are admitted by Redis again.
	c := trunkRun{name: "trunk A after", edgeSIP: edge.SIP, src: "127.0.0.3", number: numberA, rate: rate, calls: 5 * rate, hold: hold}.start(t)
	stC := c.finish(t, 60*time.Second)
	if stC.Failed > 0 || stC.Successful != stC.Created {
		t.Errorf("calls after the outage: %+v", stC)
	}
	placed[wsA.ID] += stC.Created

	store := rds.Store(t)
	for _, ws := range []edgeproc.Workspace{wsA, wsB} {
		checkNothingLost(t, store, ws.ID, placed[ws.ID])
	}
}

// setupWorkspace creates a workspace with limits, a service at target, a
// trunk from cidr and number.
func setupWorkspace(t *testing.T, admin *edgeproc.Admin, name, number, cidr, target string, maxCalls, maxCPS int) edgeproc.Workspace {
	t.Helper()
	ws := admin.CreateWorkspace(t, name)
	edgeproc.Call(t, "PATCH", admin.URL+"/v1/workspaces/"+ws.ID, edgeproc.PlatformToken,
		map[string]any{"limits": map[string]int{"max_concurrent_calls": maxCalls, "max_cps": maxCPS}}, 200, nil)
	admin.Post(t, ws, "/services", map[string]any{"id": "agent", "name": "Agent", "target": target}, 201)
	admin.Post(t, ws, "/trunks", map[string]any{"id": "carrier", "name": "Carrier", "allowed_cidrs": []string{cidr}}, 201)
	admin.Post(t, ws, "/phone-numbers", map[string]any{"number": number, "service_id": "agent"}, 201)
	return ws
}

// readyz is the edge's internal /readyz.
type readyz struct {
	Ready    bool     `json:"ready"`
	Degraded bool     `json:"degraded"`
	Reasons  []string `json:"reasons"`
	Spool    struct {
		Entries   int   `json:"entries"`
		DiskBytes int64 `json:"disk_bytes"`
		StoreDown bool  `json:"store_down"`
	} `json:"spool"`
	ActiveCalls int `json:"active_calls"`
}

func waitReadiness(t *testing.T, e *edgeproc.Edge, what string, cond func(readyz) bool) readyz {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var r readyz
	for {
		er, _, ok := edgeproc.ReadinessOf(e.Metrics)
		if ok {
			r = readyz{}
			_ = json.Unmarshal(er.Raw, &r)
			if cond(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge: %s not within a minute: %s", what, er.Raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkDegraded: while Redis is away the edge's internal /readyz says
// degraded and why, its public one {"ready": true}; edge-admin answers a
// write 503 with a message and its /readyz 503 with the reason.
func checkDegraded(t *testing.T, e *edgeproc.Edge, admin *edgeproc.Admin, ws edgeproc.Workspace) {
	t.Helper()
	r := waitReadiness(t, e, "degraded", func(r readyz) bool { return r.Degraded })
	if !r.Ready || !contains(r.Reasons, "redis_unreachable") || !contains(r.Reasons, "spool_backlog") {
		t.Errorf("internal /readyz while redis is away: %+v", r)
	}
	code, body := get(t, "http://"+e.HTTP+"/readyz")
	if code != 200 || strings.TrimSpace(body) != `{"ready":true}` {
		t.Errorf("public /readyz while redis is away: %d %s", code, body)
	}
	var out struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	req, _ := http.NewRequest("POST", admin.URL+"/v1/workspaces/"+ws.ID+"/services", strings.NewReader(`{"id":"x","name":"X","target":"sip:x@127.0.0.9"}`))
	req.Header.Set("Authorization", "Bearer "+ws.OwnerAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("admin write while redis is away: %v", err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 503 || out.Error.Message == "" {
		t.Errorf("admin write while redis is away: %d %+v, want 503 with a message", resp.StatusCode, out)
	}
	if code, body := get(t, admin.URL+"/readyz"); code != 503 || !strings.Contains(body, "redis") {
		t.Errorf("admin /readyz while redis is away: %d %s", code, body)
	}
	if code, _ := get(t, admin.URL+"/v1/regulation-templates"); code != 200 {
		t.Errorf("admin read of what needs no redis: %d, want 200", code)
	}
}

// checkNothingLost: ws has one ended record per call placed and, per
// call, exactly one call.started and one call.ended, in that order.
func checkNothingLost(t *testing.T, store *tenancy.Store, ws string, placed int) {
	t.Helper()
	ctx := context.Background()
	recs, _, err := store.ListCalls(ctx, ws, false, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	notEnded := 0
	for _, r := range recs {
		if r.State != tenancy.CallEnded {
			notEnded++
		}
	}
	type seen struct{ started, answered, ended int }
	calls := map[string]*seen{}
	var outOfOrder, events int
	for after := ""; ; {
		evs, next, err := store.ListEvents(ctx, ws, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.CallID == "" {
				continue
			}
			events++
			s := calls[ev.CallID]
			if s == nil {
				s = &seen{}
				calls[ev.CallID] = s
			}
			switch ev.Type {
			case tenancy.EventCallStarted:
				s.started++
			case tenancy.EventCallAnswered:
				s.answered++
			case tenancy.EventCallEnded:
				if s.started == 0 {
					outOfOrder++
				}
				s.ended++
			}
		}
		if next == "" || len(evs) == 0 {
			break
		}
		after = next
	}
	var oneEnded, badEnded int
	for _, s := range calls {
		if s.ended == 1 && s.started == 1 {
			oneEnded++
		} else {
			badEnded++
		}
	}
	t.Logf("workspace %s: %d calls placed, %d records (%d not ended), %d calls with events (%d call events), %d with one started and one ended",
		ws, placed, len(recs), notEnded, len(calls), events, oneEnded)
	if len(recs) != placed || notEnded != 0 || oneEnded != placed || badEnded != 0 || outOfOrder != 0 {
		t.Errorf("workspace %s lost or duplicated call state: placed %d, records %d (not ended %d), calls with exactly one started+ended %d, others %d, ended before started %d",
			ws, placed, len(recs), notEnded, oneEnded, badEnded, outOfOrder)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape sums each metric's samples of the edge's /metrics.
func scrape(t *testing.T, metricsAddr string) map[string]float64 {
	t.Helper()
	_, body := get(t, "http://"+metricsAddr+"/metrics")
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		if i := strings.LastIndex(line, " "); i > 0 {
			rest = line[i+1:]
		}
		v, err := strconv.ParseFloat(rest, 64)
		if err == nil {
			out[name] += v
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
