package operators

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
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
	target  string
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

// openPage opens a tab of 1440x1000 with hooks that record what the page
// does, then navigates it to url.
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
	p := &page{c: c, session: att.SessionID, target: target.TargetID}
	c.call(t, p.session, "Page.enable", map[string]any{}, nil)
	c.call(t, p.session, "Runtime.enable", map[string]any{}, nil)
	c.call(t, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": 1440, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil)
	// Hooks recording what the page does: every RTCPeerConnection
	// (window.__pcs) and every tone it starts (window.__tones: frequency
	// and the state of its AudioContext).
	c.call(t, p.session, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `
		window.__pcs = [];
		const Orig = window.RTCPeerConnection;
		window.RTCPeerConnection = class extends Orig {
			constructor(...args) { super(...args); window.__pcs.push(this); }
		};
		window.__tones = [];
		const start = OscillatorNode.prototype.start;
		OscillatorNode.prototype.start = function (...args) {
			window.__tones.push({freq: this.frequency.value, state: this.context.state});
			return start.apply(this, args);
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

// artifactsDir is where the console tests keep their screenshots:
// $EDGE_TEST_ARTIFACTS, else edge-console-screenshots in the system's
// temporary directory. They are kept after the test, to be looked at.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("EDGE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "edge-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves a PNG of the whole page as name in artifactsDir.
func (p *page) screenshot(t *testing.T, name string) {
	t.Helper()
	p.capture(t, name, map[string]any{"format": "png", "captureBeyondViewport": true})
}

// screenshotTop saves a PNG of the top height pixels of the page.
func (p *page) screenshotTop(t *testing.T, name string, height int) {
	t.Helper()
	p.capture(t, name, map[string]any{"format": "png", "clip": map[string]any{"x": 0, "y": 0, "width": 1440, "height": height, "scale": 1}})
}

func (p *page) capture(t *testing.T, name string, params map[string]any) {
	t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	p.c.call(t, p.session, "Page.captureScreenshot", params, &r)
	b, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
		t.Fatalf("screenshot %s: not a PNG (%v)", name, err)
	}
	path := filepath.Join(artifactsDir(t), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// press types one key into the page as a user would (keydown, keyup).
func (p *page) press(t *testing.T, key, code string, keyCode int) {
	t.Helper()
	down := map[string]any{"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": keyCode}
	if len(key) == 1 {
		down["text"] = key
	}
	p.c.call(t, p.session, "Input.dispatchKeyEvent", down, nil)
	p.c.call(t, p.session, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": keyCode}, nil)
}

// close closes the tab.
func (p *page) close(t *testing.T) {
	t.Helper()
	p.c.call(t, "", "Target.closeTarget", map[string]any{"targetId": p.target}, nil)
}
