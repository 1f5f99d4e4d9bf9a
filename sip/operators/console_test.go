package operators

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voiceedge/edge/internal/edgeproc"
	"github.com/voiceedge/edge/tenancy"
)

// addService adds a service at target and a number routed to it to tw,
// and waits for the routing map to have the number.
func (e *testEdge) addService(t *testing.T, tw *testWorkspace, id, name, number, target string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.store.Put(ctx, tenancy.PlatformPrincipal, tw.id, tenancy.KindService, &tenancy.Service{ID: id, Name: name, Target: target}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	if number == "" {
		return
	}
	if _, err := e.store.Put(ctx, tenancy.PlatformPrincipal, tw.id, tenancy.KindNumber, &tenancy.PhoneNumber{Number: number, ServiceID: id}, tenancy.Upsert); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "route of "+number, func() bool {
		r, ok := e.routes.Lookup(number)
		return ok && r.Workspace.ID == tw.id
	})
}

// trunkCallFrom is trunkCall with the caller's number from.
func (e *testEdge) trunkCallFrom(t *testing.T, number, from string, ms int) *sippProc {
	t.Helper()
	b, err := os.ReadFile("../../loadtest/sipp/uac_pcmu.xml")
	if err != nil {
		t.Fatal(err)
	}
	scenario := filepath.Join(t.TempDir(), "uac_from.xml")
	if err := os.WriteFile(scenario, []byte(strings.ReplaceAll(string(b), "+15550001111", from)), 0o644); err != nil {
		t.Fatal(err)
	}
	return startSipp(t, scenario, e.udpAddr, "-i", "127.0.0.1", "-s", number, "-mp", edgeproc.SIPpMediaPort(t, "127.0.0.1"), "-d", fmt.Sprint(ms))
}

// waitCalls waits until key's workspace lists n answered calls and
// returns them by caller number.
func (e *testEdge) waitCalls(t *testing.T, key string, n int) map[string]string {
	t.Helper()
	byFrom := map[string]string{}
	waitFor(t, 15*time.Second, fmt.Sprintf("%d answered calls", n), func() bool {
		res := do(t, http.MethodGet, e.baseURL+"/v1/calls", key, "", nil)
		var page listPage[callView]
		if res.status != 200 || json.Unmarshal(res.body, &page) != nil {
			return false
		}
		clear(byFrom)
		for _, c := range page.Items {
			if c.State == tenancy.CallAnswered {
				byFrom[c.From+" "+c.To] = c.ID
			}
		}
		return len(byFrom) == n
	})
	return byFrom
}

// connectConsole opens the console in a new tab and connects it with key.
func connectConsole(t *testing.T, browser *cdp, baseURL, key string) *page {
	t.Helper()
	pg := browser.openPage(t, baseURL+"/console/")
	k, _ := json.Marshal(key)
	pg.eval(t, fmt.Sprintf(`document.getElementById("api-key").value = %s; document.getElementById("key-form").requestSubmit(); true`, k), nil)
	pg.waitEval(t, 10*time.Second, "the workspace in the header", `!!document.body.dataset.environment`)
	return pg
}

// boardIDs returns the call ids on a console's board.
func boardIDs(t *testing.T, pg *page) []string {
	t.Helper()
	var ids []string
	pg.eval(t, `[...document.querySelectorAll("#calls tbody tr")].map((tr) => tr.dataset.callId)`, &ids)
	return ids
}

func text(t *testing.T, pg *page, selector string) string {
	t.Helper()
	var s string
	sel, _ := json.Marshal(selector)
	pg.eval(t, fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ""`, sel), &s)
	return strings.Join(strings.Fields(s), " ")
}

// callerPanel returns the caller panel as text: its number, its facts as
// "term: value" and its previous calls, separated by "; ".
func callerPanel(t *testing.T, pg *page) string {
	t.Helper()
	var s string
	pg.eval(t, `[document.getElementById("caller-number").textContent,
		...[...document.querySelectorAll("#caller dt")].map((dt) => dt.textContent + ": " + dt.nextElementSibling.textContent),
		...[...document.querySelectorAll("#caller .previous li")].map((li) => [...li.children].map((c) => c.textContent).join(" "))].join("; ")`, &s)
	return s
}

// TestConsoleSupervisor drives the operator console in real headless
// Chromium as a supervisor of a production workspace would, over real
// calls (SIPp trunks through the edge to SIPp agents echoing the audio),
// while another workspace has calls of its own: the live board, the
// caller's projection, an escalation's visible and audible alert, a
// one-click join in the mode it asks, audio level meters, the keyboard
// shortcuts and the production banner. It keeps a screenshot of each
// state (artifactsDir).
func TestConsoleSupervisor(t *testing.T) {
	e := newTestEdge(t)
	ctx := context.Background()
	_, target1 := startService(t, "../../loadtest/sipp/uas_answer.xml")
	_, target2 := startService(t, "../../loadtest/sipp/uas_answer.xml")
	_, targetB := startService(t, "../../loadtest/sipp/uas_answer.xml")
	a := e.addWorkspace(t, "North Clinic", "+15551230001", target1)
	e.addService(t, a, "agent", "Scheduling agent", "", target1)
	e.addService(t, a, "intake", "Intake agent", "+15551230003", target2)
	a.setOperatorConfig(t, e.store, []string{a.accounts["owner"], a.accounts["admin"], a.accounts["member"]}, []string{"listen", "whisper", "barge"})
	if _, err := e.store.UpdateWorkspace(ctx, tenancy.PlatformPrincipal, a.id, func(w *tenancy.Workspace) error {
		w.Environment = tenancy.EnvProduction
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := e.addWorkspace(t, "South Clinic", "+15551230002", targetB)

	// The world model's projections, as the control plane writes them. B
	// knows A's caller too, with other numbers: A must never show them.
	putCaller(t, e.store, a.id, "+15550001111", map[string]any{
		"id": "+15550001111", "calls": 3, "last_call_at": "2026-11-30T15:04:05Z", "talk_time_seconds": 612,
		"escalations": 1, "transfers": 0, "last_service_id": "agent",
		"recent_calls": []map[string]any{
			{"call_id": "call_7f3a000000000001", "started_at": "2026-11-30T15:00:00Z", "duration_s": 245, "service_id": "agent", "end_reason": "trunk_hangup"},
			{"call_id": "call_7f3a000000000002", "started_at": "2026-11-24T09:12:00Z", "duration_s": 367, "service_id": "intake", "end_reason": "service_hangup"},
		},
	})
	putCaller(t, e.store, b.id, "+15550001111", map[string]any{"id": "+15550001111", "calls": 7, "escalations": 5, "talk_time_seconds": 9000, "recent_calls": []any{}})

	const callMS = 50000
	e.trunkCallFrom(t, "+15551230001", "+15550001111", callMS)
	e.trunkCallFrom(t, "+15551230003", "+15550002222", callMS)
	e.trunkCallFrom(t, "+15551230002", "+15550001111", callMS)
	aCalls := e.waitCalls(t, a.keys["member"], 2)
	bCalls := e.waitCalls(t, b.keys["member"], 1)
	a1, a2 := aCalls["+15550001111 +15551230001"], aCalls["+15550002222 +15551230003"]
	b1 := bCalls["+15550001111 +15551230002"]
	if a1 == "" || a2 == "" || b1 == "" {
		t.Fatalf("calls: A %v, B %v", aCalls, bCalls)
	}

	browser := startChromium(t)
	pa := connectConsole(t, browser, e.baseURL, a.keys["member"])
	row := func(id string) string { return fmt.Sprintf(`document.querySelector('#calls tr[data-call-id=%q]')`, id) }

	t.Run("board of calls", func(t *testing.T) {
		pa.waitEval(t, 10*time.Second, "both calls of A on the board", fmt.Sprintf(`!!%s && !!%s`, row(a1), row(a2)))
		pa.waitEval(t, 5*time.Second, "the callers' history badges", fmt.Sprintf(`%s.textContent.includes("2 previous calls") && %s.textContent.includes("first call")`, row(a1), row(a2)))
		if ids := boardIDs(t, pa); len(ids) != 2 {
			t.Fatalf("board of A: %v (B's call %s must not be there)", ids, b1)
		}
		r1 := text(t, pa, fmt.Sprintf(`#calls tr[data-call-id=%q]`, a1))
		for _, want := range []string{"+15550001111", "+15551230001", "Scheduling agent", "answered", "nobody"} {
			if !strings.Contains(r1, want) {
				t.Fatalf("row of %s: %q lacks %q", a1, r1, want)
			}
		}
		d0 := text(t, pa, fmt.Sprintf(`#calls tr[data-call-id=%q] .duration`, a1))
		if !strings.Contains(d0, ":") {
			t.Fatalf("duration %q", d0)
		}
		pa.waitEval(t, 5*time.Second, "the duration ticking from "+d0,
			fmt.Sprintf(`(() => { const d = %s.querySelector(".duration").textContent; return d !== %q && d.includes(":"); })()`, row(a1), d0))
		pa.eval(t, row(a1)+`.click(); true`, nil)
		pa.waitEval(t, 5*time.Second, "the caller's projection", fmt.Sprintf(`document.getElementById("caller").dataset.callId === %q && document.querySelectorAll("#caller-body .previous li").length === 2`, a1))
		caller := callerPanel(t, pa)
		for _, want := range []string{"+15550001111", "Calls: 3", "Escalations: 1", "Talk time: 10:12", "4:05 agent trunk hangup", "6:07 intake service hangup"} {
			if !strings.Contains(caller, want) {
				t.Fatalf("caller panel %q lacks %q", caller, want)
			}
		}
		if strings.Contains(caller, "Calls: 7") || strings.Contains(caller, "2:30:00") {
			t.Fatalf("A's console shows B's projection: %q", caller)
		}
		pa.screenshot(t, "01-board-with-calls.png")
	})

	t.Run("the production workspace is unmistakable", func(t *testing.T) {
		var got struct {
			Banner bool   `json:"banner"`
			Text   string `json:"text"`
			Badge  string `json:"badge"`
			Name   string `json:"name"`
			Title  string `json:"title"`
			Color  string `json:"color"`
		}
		pa.eval(t, `(() => { const b = document.getElementById("env-banner"); return {banner: !b.hidden && b.offsetHeight > 0,
			text: b.textContent, badge: document.getElementById("ws-env").textContent, name: document.getElementById("ws-name").textContent,
			title: document.title, color: getComputedStyle(b).backgroundColor}; })()`, &got)
		if !got.Banner || !strings.Contains(got.Text, "PRODUCTION") || !strings.Contains(got.Text, "North Clinic") || got.Badge != "PRODUCTION" ||
			got.Name != "North Clinic" || !strings.HasPrefix(got.Title, "PRODUCTION") || got.Color != "rgb(179, 0, 27)" {
			t.Fatalf("%+v", got)
		}
		pa.screenshotTop(t, "02-production-banner.png", 200)
	})

	t.Run("another workspace's console sees only its own", func(t *testing.T) {
		pb := connectConsole(t, browser, e.baseURL, b.keys["member"])
		pb.waitEval(t, 10*time.Second, "B's call on B's board", fmt.Sprintf(`!!%s`, row(b1)))
		pb.waitEval(t, 5*time.Second, "B's caller panel", `document.querySelectorAll("#caller-body dd").length > 0`)
		if ids := boardIDs(t, pb); len(ids) != 1 || ids[0] != b1 {
			t.Fatalf("board of B: %v", ids)
		}
		var banner bool
		pb.eval(t, `!document.getElementById("env-banner").hidden`, &banner)
		if banner || text(t, pb, "#ws-env") != "STAGING" || text(t, pb, "#ws-name") != "South Clinic" {
			t.Fatalf("B's header: banner %v, %q %q", banner, text(t, pb, "#ws-name"), text(t, pb, "#ws-env"))
		}
		if c := callerPanel(t, pb); !strings.Contains(c, "Calls: 7") || !strings.Contains(c, "Talk time: 2:30:00") {
			t.Fatalf("B's caller panel %q", c)
		}
		pb.screenshot(t, "03-board-staging-workspace.png")
		pb.close(t)
	})

	t.Run("escalation alert", func(t *testing.T) {
		res := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+a1+"/escalations", a.keys["member"], "application/json",
			[]byte(`{"reason":"Caller asks about lab results before identity is verified","mode":"whisper"}`))
		if res.status != http.StatusAccepted {
			t.Fatalf("%d %s", res.status, res.body)
		}
		sel := fmt.Sprintf(`#escalations li.waiting[data-call-id=%q][data-mode="whisper"]`, a1)
		pa.waitEval(t, 10*time.Second, "the escalation in the queue", fmt.Sprintf(`!!document.querySelector(%q)`, sel))
		pa.waitEval(t, 5*time.Second, "the visible alert", `!document.getElementById("esc-alert").hidden && document.body.classList.contains("escalating")`)
		// The audible alert: the page started 880 Hz tones on a running
		// AudioContext (WebAudio; no sound file).
		pa.waitEval(t, 5*time.Second, "the beep", `window.__tones.filter((x) => x.freq === 880 && x.state === "running").length >= 2`)
		if s := text(t, pa, sel); !strings.Contains(s, "lab results") || !strings.Contains(s, "+15550001111") || !strings.Contains(s, "Join (whisper)") {
			t.Fatalf("queue item %q", s)
		}
		pa.screenshot(t, "04-escalation-alert.png")
	})

	t.Run("one-click join in the asked mode, meters moving", func(t *testing.T) {
		pa.eval(t, fmt.Sprintf(`document.querySelector('button.esc-join[data-call-id=%q]').click(); true`, a1), nil)
		pa.waitEval(t, 15*time.Second, "the session panel", `!document.getElementById("session").hidden`)
		var st rtpStats
		deadline := time.Now().Add(20 * time.Second)
		for st.In < 10 || st.Out < 10 || st.State != "connected" {
			if time.Now().After(deadline) {
				t.Fatalf("audio does not flow both ways: %+v", st)
			}
			time.Sleep(200 * time.Millisecond)
			pa.eval(t, statsJS, &st)
		}
		ops := e.h.ops.all()
		if len(ops) != 1 || ops[0].op.Mode() != "whisper" || ops[0].callID != a1 {
			t.Fatalf("edge side: %d operators", len(ops))
		}
		// Another operator (the admin, from a pion client) listens in too.
		other := newPionOperator(t, true)
		res := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+a1+"/operators?mode=listen", a.keys["admin"], "application/sdp", other.offer(t))
		if res.status != http.StatusCreated {
			t.Fatalf("second operator: %d %s", res.status, res.body)
		}
		other.accept(t, res.body)
		otherLoc := res.header.Get("Location")
		t.Cleanup(func() { do(t, http.MethodDelete, e.baseURL+otherLoc, a.keys["admin"], "", nil) })
		pa.waitEval(t, 5*time.Second, "the escalation answered, the alert gone",
			fmt.Sprintf(`document.getElementById("esc-alert").hidden && !!document.querySelector('#escalations li.answered[data-call-id=%q]')`, a1))
		// The meters: the caller's tone and the agent's echo as the edge
		// measures them, and what the browser hears, sampled over a second.
		pa.waitEval(t, 10*time.Second, "meters of the caller, the agent, you and the browser", `["caller", "agent", "browser"].every((p) => {
			const r = document.querySelector('#meters [data-party="' + p + '"]'); return r && Number(r.dataset.dbfs) > -45; })
			&& [...document.querySelectorAll('#meters [data-party^="op:"]')].length === 2`)
		samples := map[string]map[string]bool{}
		for range 10 {
			var lv map[string]string
			pa.eval(t, `Object.fromEntries([...document.querySelectorAll("#meters li")].map((r) => [r.dataset.party, r.dataset.dbfs + " " + r.querySelector(".fill").style.width]))`, &lv)
			for k, v := range lv {
				if samples[k] == nil {
					samples[k] = map[string]bool{}
				}
				samples[k][v] = true
			}
			time.Sleep(120 * time.Millisecond)
		}
		moving := 0
		for _, vals := range samples {
			if len(vals) > 1 {
				moving++
			}
		}
		t.Logf("meter readings: %v", samples)
		if moving < 2 {
			t.Fatalf("the meters do not move: %v", samples)
		}
		if s := text(t, pa, "#meters"); !strings.Contains(s, "Caller") || !strings.Contains(s, "Agent") || !strings.Contains(s, "You (whisper)") || !strings.Contains(s, "admin (listen)") {
			t.Fatalf("meters %q", s)
		}
		pa.waitEval(t, 5*time.Second, "you and the admin on the board", fmt.Sprintf(`%s.querySelector(".chip.mode-whisper") !== null && %s.textContent.includes("admin · listen")`, row(a1), row(a1)))
		pa.screenshot(t, "05-joined-meters.png")
		if r := do(t, http.MethodDelete, e.baseURL+otherLoc, a.keys["admin"], "", nil); r.status != http.StatusNoContent {
			t.Fatalf("the admin leaves: %d %s", r.status, r.body)
		}
		waitFor(t, 5*time.Second, "the admin gone", func() bool { return len(e.h.ops.all()) == 1 })
		pa.waitEval(t, 5*time.Second, "the admin's meter gone", `document.querySelectorAll('#meters [data-party^="op:"]').length === 1`)
	})

	t.Run("keyboard: modes, mute, leave, join", func(t *testing.T) {
		op := e.h.ops.all()[0]
		pa.press(t, "b", "KeyB", 66)
		waitFor(t, 5*time.Second, "barge at the edge", func() bool { return op.op.Mode() == "barge" })
		pa.waitEval(t, 5*time.Second, "the barge button pressed", `document.querySelector('#modes [data-mode="barge"]').getAttribute("aria-pressed") === "true"`)
		pa.screenshot(t, "06-joined-barge.png")
		pa.press(t, "l", "KeyL", 76)
		waitFor(t, 5*time.Second, "listen at the edge", func() bool { return op.op.Mode() == "listen" })
		pa.press(t, "m", "KeyM", 77)
		waitFor(t, 5*time.Second, "muted at the edge", func() bool { return op.op.Muted() })
		pa.waitEval(t, 5*time.Second, "the mute button pressed", `document.getElementById("mute").getAttribute("aria-pressed") === "true"`)
		pa.press(t, "Escape", "Escape", 27)
		waitEvent(t, e.store, a.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": op.op.ID(), "reason": "left"}, 5*time.Second)
		pa.waitEval(t, 5*time.Second, "the session panel hidden", `document.getElementById("session").hidden`)
		// J joins the oldest waiting escalation in the mode it asks.
		res := do(t, http.MethodPost, e.baseURL+"/v1/calls/"+a2+"/escalations", a.keys["member"], "application/json",
			[]byte(`{"reason":"Caller wants to speak to a nurse","mode":"listen"}`))
		if res.status != http.StatusAccepted {
			t.Fatalf("%d %s", res.status, res.body)
		}
		pa.waitEval(t, 10*time.Second, "the second escalation waiting", fmt.Sprintf(`!!document.querySelector('#escalations li.waiting[data-call-id=%q]')`, a2))
		pa.press(t, "j", "KeyJ", 74)
		waitFor(t, 15*time.Second, "an operator on the escalated call", func() bool {
			ops := e.h.ops.all()
			return len(ops) == 1 && ops[0].callID == a2 && ops[0].op.Mode() == "listen"
		})
		pa.waitEval(t, 15*time.Second, "the session panel of the second call", fmt.Sprintf(`!document.getElementById("session").hidden && document.getElementById("session-call").textContent === %q`, a2))
		pa.press(t, "Escape", "Escape", 27)
		pa.waitEval(t, 5*time.Second, "the session panel hidden again", `document.getElementById("session").hidden`)
		waitFor(t, 5*time.Second, "no operator left", func() bool { return len(e.h.ops.all()) == 0 })

		var stored string
		pa.eval(t, `sessionStorage.getItem("edge.operator.apiKey")`, &stored)
		if stored != a.keys["member"] {
			t.Fatal("the key is not kept in sessionStorage")
		}
	})

	t.Run("A's board never showed B's call", func(t *testing.T) {
		for _, id := range boardIDs(t, pa) {
			if id == b1 {
				t.Fatalf("B's call %s on A's board", id)
			}
		}
		if s := text(t, pa, "body"); strings.Contains(s, b1) || strings.Contains(s, "South Clinic") {
			t.Fatal("A's console mentions B")
		}
	})
}
