// Package scripts_test runs scripts/run.sh the way a newcomer does after
// `make run`: it waits for the printed instructions, places every test call
// they print, checks the answers and the echoed audio, then presses Ctrl-C
// and finds nothing left running.
package scripts_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// runStack is one scripts/run.sh in a process group of its own.
type runStack struct {
	cmd    *exec.Cmd
	runDir string
	binDir string
	env    map[string]string
	out    chan string // run.sh's stdout, line by line
	errLog *logBuffer
	done   chan error
}

func TestRunScriptAsANewcomer(t *testing.T) {
	for _, tool := range []string{"redis-server", "redis-cli", "sipp", "curl", "setsid"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: scripts/install-deps.sh installs it (make test runs it): %v", tool, err)
		}
	}
	st := startRunScript(t)
	calls := st.printedCalls(t, 90*time.Second)
	if len(calls) != 4 {
		t.Fatalf("run.sh printed %d test calls, want 4:\n%s", len(calls), strings.Join(calls, "\n"))
	}
	keys := readKeys(t, filepath.Join(st.runDir, "keys.env"))

	// Each printed command, exactly as printed (run in turn, as a user pastes them).
	for _, line := range calls {
		wantFail := strings.Contains(line, "404")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		cancel()
		if wantFail {
			if err == nil {
				t.Errorf("%s\n  succeeded, want it refused (404)", line)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s\n  failed: %v\n%s", line, err, tail(string(out), 1500))
		}
	}

	// The same calls from a UAC that checks the status and the audio.
	sipAddr := st.env["EDGE_SIP_ADDR"]
	for _, c := range []struct {
		name, number, from string
		want               int
	}{
		{"development front desk", "+13125550100", "127.0.0.1", 200},
		{"staging after-hours triage", "+13125550111", "127.0.0.3", 200},
		{"production backup trunk", "+13125550121", "127.0.0.5", 200},
		{"staging's number from the development trunk", "+13125550110", "127.0.0.1", 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUAC(t, c.from, sipAddr)
			call := u.invite(t, c.number)
			if call.status != c.want {
				t.Fatalf("INVITE %s from %s: %d, want %d", c.number, c.from, call.status, c.want)
			}
			if c.want != 200 {
				return
			}
			sent, echoed := call.echoTone(t, 50)
			if echoed < sent*8/10 {
				t.Errorf("echoed %d of %d tone packets byte for byte, want at least 80%%", echoed, sent)
			}
			call.bye(t)
		})
	}

	// The public address serves no internals; the metrics address does.
	for _, c := range []struct {
		url  string
		want int
	}{
		{"http://" + st.env["EDGE_HTTP_ADDR"] + "/metrics", 404},
		{"http://" + st.env["EDGE_METRICS_ADDR"] + "/metrics", 200},
		{"http://" + st.env["EDGE_HTTP_ADDR"] + "/readyz", 200},
	} {
		res, err := http.Get(c.url)
		if err != nil {
			t.Fatalf("GET %s: %v", c.url, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("GET %s = %d, want %d", c.url, res.StatusCode, c.want)
		}
		if strings.HasSuffix(c.url, "/readyz") && strings.TrimSpace(string(body)) != `{"ready":true}` {
			t.Errorf("public /readyz = %s, want only {\"ready\":true}", body)
		}
	}

	// A call still up when Ctrl-C comes must end with its record written:
	// the edge stops before Redis does.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + st.env["REDIS_PORT"]})
	defer rdb.Close()
	events := "{ws:" + keys["NORTHSIDE_DEV_WORKSPACE"] + "}:events"
	last, err := rdb.XRevRangeN(context.Background(), events, "+", "-", 1).Result()
	if err != nil {
		t.Fatalf("read %s: %v", events, err)
	}
	from := "0"
	if len(last) > 0 {
		from = last[0].ID
	}
	u := newUAC(t, "127.0.0.1", sipAddr)
	up := u.invite(t, "+13125550100")
	if up.status != 200 {
		t.Fatalf("call left up: %d, want 200", up.status)
	}
	ended := make(chan string, 1)
	go func() {
		cursor := from
		for i := 0; i < 30; i++ {
			res, err := rdb.XRead(context.Background(), &redis.XReadArgs{Streams: []string{events, cursor}, Block: time.Second}).Result()
			if err != nil && err != redis.Nil {
				ended <- "redis: " + err.Error()
				return
			}
			for _, s := range res {
				for _, m := range s.Messages {
					cursor = m.ID
					if fmt.Sprint(m.Values["type"]) == "call.ended" {
						ended <- "call.ended"
						return
					}
				}
			}
		}
		ended <- "no call.ended"
	}()

	byed := make(chan bool, 1)
	go func() { byed <- up.sawBye(t, 30*time.Second) }()
	st.interrupt(t)
	select {
	case got := <-ended:
		if got != "call.ended" {
			t.Errorf("the call up at Ctrl-C: %s, want its call.ended written before Redis stopped", got)
		}
	case <-time.After(40 * time.Second):
		t.Errorf("no call.ended for the call up at Ctrl-C")
	}
	if !<-byed {
		t.Errorf("the trunk got no BYE for the call up at Ctrl-C")
	}
	if left := st.leftovers(); len(left) > 0 {
		t.Errorf("after Ctrl-C still running:\n%s", strings.Join(left, "\n"))
	}
}

func startRunScript(t *testing.T) *runStack {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	binDir := filepath.Join(tmp, "bin")
	build := exec.Command("go", "build", "-trimpath", "-o", binDir+"/", "./cmd/...")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/...: %v\n%s", err, out)
	}
	rtp := freeUDPPort(t)
	st := &runStack{
		runDir: filepath.Join(tmp, "run"), binDir: binDir, out: make(chan string, 256),
		errLog: &logBuffer{}, done: make(chan error, 1),
		env: map[string]string{
			"BIN_DIR":           binDir,
			"REDIS_PORT":        fmt.Sprint(freeTCPPort(t)),
			"EDGE_ADMIN_ADDR":   fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)),
			"EDGE_SIP_ADDR":     fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t)),
			"EDGE_HTTP_ADDR":    fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)),
			"EDGE_METRICS_ADDR": fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t)),
			"EDGE_ICE_PORT":     fmt.Sprint(freeUDPPort(t)),
			"EDGE_RTP_PORTS":    fmt.Sprintf("%d-%d", rtp&^1, rtp&^1+200),
		},
	}
	st.env["RUN_DIR"] = st.runDir
	cmd := exec.Command("bash", "scripts/run.sh")
	cmd.Dir = root
	cmd.Env = os.Environ()
	for k, v := range st.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Its own process group, as a terminal gives a foreground job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = st.errLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st.cmd = cmd
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			st.out <- sc.Text()
		}
		close(st.out)
	}()
	go func() { st.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		for _, l := range st.leftovers() {
			var pid int
			if _, err := fmt.Sscan(l, &pid); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("run.sh stderr:\n%s", tail(st.errLog.String(), 4000))
			for _, n := range []string{"edge", "edge-agent", "edge-admin"} {
				b, _ := os.ReadFile(filepath.Join(st.runDir, "logs", n+".log"))
				t.Logf("%s.log:\n%s", n, tail(string(b), 3000))
			}
		}
	})
	return st
}

var sippLine = regexp.MustCompile(`^\s+(sipp .*)$`)

// printedCalls reads run.sh's stdout until its test calls are printed: the
// block of sipp lines, ended by a line that is not one or by a second of
// silence.
func (st *runStack) printedCalls(t *testing.T, d time.Duration) []string {
	t.Helper()
	var calls []string
	deadline := time.After(d)
	for {
		var idle <-chan time.Time
		if len(calls) > 0 {
			idle = time.After(time.Second)
		}
		select {
		case line, ok := <-st.out:
			if !ok {
				t.Fatalf("run.sh ended before printing its test calls: %v", <-st.done)
			}
			if m := sippLine.FindStringSubmatch(line); m != nil {
				calls = append(calls, m[1])
				continue
			}
			if len(calls) > 0 {
				return calls
			}
		case <-idle:
			return calls
		case <-deadline:
			t.Fatalf("run.sh printed no test calls within %v", d)
		}
	}
}

// interrupt sends SIGINT to run.sh's process group, as Ctrl-C does, and
// waits for it to exit.
func (st *runStack) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-st.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range st.out {
		}
	}()
	select {
	case err := <-st.done:
		var ee *exec.ExitError
		if err != nil && !(asExit(err, &ee) && ee.ExitCode() == 130) {
			t.Errorf("run.sh after Ctrl-C: %v, want exit 130", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("run.sh still running 60 s after Ctrl-C")
	}
	if !strings.Contains(st.errLog.String(), "stopping edge ") {
		t.Errorf("run.sh did not say it stopped the edge:\n%s", tail(st.errLog.String(), 2000))
	}
	if i, j := strings.Index(st.errLog.String(), "stopping edge "), strings.Index(st.errLog.String(), "stopping redis "); j >= 0 && i > j {
		t.Errorf("Redis was stopped before the edge")
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// leftovers lists processes of this run still alive: anything whose command
// line names its bin or run directory.
func (st *runStack) leftovers() []string {
	var left []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cl := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cl, st.binDir) || strings.Contains(cl, st.runDir) {
			stat, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
			if strings.Contains(string(stat), ") Z ") {
				continue // a zombie about to be reaped
			}
			left = append(left, d.Name()+" "+cl)
		}
	}
	return left
}

func readKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("keys.env: %v", err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			m[k] = v
		}
	}
	return m
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPPort is a port free for both UDP and TCP (SIP listens on both).
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no port free for UDP and TCP")
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// logBuffer is run.sh's stderr, written by exec's copier and read by the test.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *logBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *logBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

var _ io.Writer = (*logBuffer)(nil)
