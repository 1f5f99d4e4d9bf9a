package operators

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/voiceedge/edge/tenancy"
)

// chromiumPath is where scripts/install-deps.sh chromium installs it.
const chromiumPath = "/usr/bin/chromium"

// cdp is a minimal client of the Chrome DevTools Protocol over one
// WebSocket to the browser, with flattened sessions for pages.
type cdp struct {
	conn net.Conn
	rw   io.ReadWriter
	wmu  sync.Mutex
	next atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan cdpReply
	done    chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func dialCDP(t *testing.T, url string) *cdp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial devtools %s: %v", url, err)
	}
	c := &cdp{conn: conn, rw: conn, pending: map[int64]chan cdpReply{}, done: make(chan struct{})}
	if br != nil {
		c.rw = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, conn), conn}
	}
	go c.read()
	t.Cleanup(func() { conn.Close(); <-c.done })
	return c
}

func (c *cdp) read() {
	defer close(c.done)
	for {
		msg, err := wsutil.ReadServerText(c.rw)
		if err != nil {
			return
		}
		var m struct {
			ID int64 `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg, &m) != nil || m.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

// call sends a command (to a page session when session is set) and
// returns its result.
func (c *cdp) call(t *testing.T, session, method string, params any, out any) {
	t.Helper()
	id := c.next.Add(1)
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	ch := make(chan cdpReply, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	c.wmu.Lock()
	err := wsutil.WriteClientText(c.conn, b)
	c.wmu.Unlock()
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			t.Fatalf("%s: %s", method, r.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				t.Fatalf("%s result: %v", method, err)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no reply", method)
	}
}

// page is a tab driven over a flattened session.
type page struct {
	c       *cdp
	session string
}

// eval runs expression in the page (awaiting a promise) and decodes its
// value into out.
func (p *page) eval(t *testing.T, expression string, out any) {
	t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	p.c.call(t, p.session, "Runtime.evaluate", map[string]any{
		"expression": expression, "awaitPromise": true, "returnByValue": true,
	}, &r)
	if r.ExceptionDetails != nil {
		t.Fatalf("page script failed: %s %s", r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(r.Result.Value) > 0 {
		if err := json.Unmarshal(r.Result.Value, out); err != nil {
			t.Fatalf("decode %s: %v", r.Result.Value, err)
		}
	}
}

// waitEval polls a boolean expression until it is true.
func (p *page) waitEval(t *testing.T, d time.Duration, what, expression string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var ok bool
		p.eval(t, expression, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var status string
			p.eval(t, `document.getElementById("status").textContent`, &status)
			t.Fatalf("timed out waiting for %s (console status: %q)", what, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startChromium launches headless Chromium with its own profile and
// returns a DevTools client of it; it is killed (its process group) at
// cleanup.
func startChromium(t *testing.T) *cdp {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s missing: run scripts/install-deps.sh chromium (make test does): %v", chromiumPath, err)
	}
	profile := t.TempDir()
	cmd := exec.Command(chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
		"--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	var url string
	deadline := time.Now().Add(30 * time.Second)
	for url == "" {
		if b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			var lines []string
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
			if len(lines) >= 2 {
				if _, err := strconv.Atoi(lines[0]); err == nil {
					url = "ws://127.0.0.1:" + lines[0] + lines[1]
				}
			}
		}
		select {
		case <-exited:
			t.Fatalf("chromium exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium did not open DevTools:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return dialCDP(t, url)
}

// openPage opens a tab with a hook that records every RTCPeerConnection
// the page makes (window.__pcs), then navigates it to url.
func (c *cdp) openPage(t *testing.T, url string) *page {
	t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call(t, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	p := &page{c: c, session: att.SessionID}
	c.call(t, p.session, "Page.enable", map[string]any{}, nil)
	c.call(t, p.session, "Runtime.enable", map[string]any{}, nil)
	c.call(t, p.session, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `
		window.__pcs = [];
		const Orig = window.RTCPeerConnection;
		window.RTCPeerConnection = class extends Orig {
			constructor(...args) { super(...args); window.__pcs.push(this); }
		};`}, nil)
	c.call(t, p.session, "Page.navigate", map[string]any{"url": url}, nil)
	p.waitEval(t, 15*time.Second, "the console to load", `document.readyState === "complete" && !!document.getElementById("api-key")`)
	return p
}

// rtpStats are the audio counters of the page's last peer connection.
type rtpStats struct {
	In    int    `json:"in"`
	Out   int    `json:"out"`
	State string `json:"state"`
}

const statsJS = `(async () => {
	const pc = window.__pcs[window.__pcs.length - 1];
	if (!pc) return {in: 0, out: 0, state: "none"};
	const r = await pc.getStats();
	let i = 0, o = 0;
	r.forEach((s) => {
		if (s.type === "inbound-rtp" && s.kind === "audio") i += s.packetsReceived || 0;
		if (s.type === "outbound-rtp" && s.kind === "audio") o += s.packetsSent || 0;
	});
	return {in: i, out: o, state: pc.connectionState};
})()`

// TestConsoleInChromium drives the operator console in real headless
// Chromium: paste a key, see the live call, join it over WebRTC, and check
// with getStats() that audio flows both ways; then leave.
func TestConsoleInChromium(t *testing.T) {
	e := newTestEdge(t)
	_, target := startService(t, "testdata/uas_escalate.xml")
	wsp := e.addWorkspace(t, "Clinic", "+15551230001", target)
	e.trunkCall(t, "+15551230001", 40000)
	call := e.waitCall(t, wsp.keys["member"])

	browser := startChromium(t)
	pg := browser.openPage(t, e.baseURL+"/console/")
	key, _ := json.Marshal(wsp.keys["member"])
	pg.eval(t, fmt.Sprintf(`document.getElementById("api-key").value = %s; document.getElementById("key-form").requestSubmit(); true`, key), nil)
	pg.waitEval(t, 10*time.Second, "the call in the list", fmt.Sprintf(`!!document.querySelector('button.join[data-call-id=%q]')`, call))
	pg.waitEval(t, 10*time.Second, "the service's escalation", fmt.Sprintf(`!!document.querySelector('#escalations li[data-call-id=%q]')`, call))

	var stored string
	pg.eval(t, `sessionStorage.getItem("edge.operator.apiKey")`, &stored)
	if stored != wsp.keys["member"] {
		t.Fatalf("the key is not kept in sessionStorage")
	}

	pg.eval(t, fmt.Sprintf(`document.getElementById("mode-%s").value = "whisper"; document.querySelector('button.join[data-call-id=%q]').click(); true`, call, call), nil)
	pg.waitEval(t, 15*time.Second, "the session panel", `!document.getElementById("session").hidden`)

	var st rtpStats
	deadline := time.Now().Add(20 * time.Second)
	for st.In == 0 || st.Out == 0 || st.State != "connected" {
		if time.Now().After(deadline) {
			t.Fatalf("audio does not flow both ways: %+v", st)
		}
		time.Sleep(200 * time.Millisecond)
		pg.eval(t, statsJS, &st)
	}
	time.Sleep(time.Second)
	pg.eval(t, statsJS, &st)
	t.Logf("browser stats: %+v", st)
	if st.In < 10 || st.Out < 10 {
		t.Fatalf("too few packets: %+v", st)
	}
	ops := e.h.ops.all()
	if len(ops) != 1 || ops[0].op.Mode() != "whisper" || ops[0].op.Stats().PacketsReceived == 0 {
		t.Fatalf("edge side: %d operators", len(ops))
	}
	opID := ops[0].op.ID()
	waitEvent(t, e.store, wsp.id, tenancy.EventOperatorJoined, map[string]any{"operator_id": opID, "mode": "whisper"}, 3*time.Second)

	t.Run("switch mode and mute from the console", func(t *testing.T) {
		pg.eval(t, `document.getElementById("session-mode").value = "listen"; document.getElementById("switch-mode").click(); document.getElementById("mute").click(); true`, nil)
		waitFor(t, 5*time.Second, "listen and muted at the edge", func() bool {
			return ops[0].op.Mode() == "listen" && ops[0].op.Muted()
		})
		pg.waitEval(t, 5*time.Second, "the mute button pressed", `document.getElementById("mute").getAttribute("aria-pressed") === "true"`)
	})
	t.Run("leave from the console", func(t *testing.T) {
		pg.eval(t, `document.getElementById("leave").click(); true`, nil)
		waitEvent(t, e.store, wsp.id, tenancy.EventOperatorLeft, map[string]any{"operator_id": opID, "reason": "left"}, 5*time.Second)
		pg.waitEval(t, 5*time.Second, "the session panel hidden", `document.getElementById("session").hidden`)
	})
}
