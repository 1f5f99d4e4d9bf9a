package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/voiceedge/edge/tenancy/tenancytest"
)

const e2eToken = "platform-token-for-redis-deployments"

// TestBinariesRunOnClusterAndSentinelAndRideOverAMasterFailover builds the
// real edge and edge-admin, starts both against a real Redis Cluster and a
// real Sentinel setup (EDGE_REDIS_ADDR as an operator writes it), creates a
// workspace and a number through the admin API and sees the edge ready with
// the number in its map; then kills the master that holds the workspace
// and sees a second number, written through the admin API once the replica
// has taken over, reach the edge's map: both programs reconnected by
// themselves.
func TestBinariesRunOnClusterAndSentinelAndRideOverAMasterFailover(t *testing.T) {
	bins := buildBinaries(t)
	cases := []struct {
		name  string
		start func(t *testing.T) (addr string, killMaster func(ws string))
	}{
		{"cluster", func(t *testing.T) (string, func(string)) {
			cl := tenancytest.StartCluster(t)
			return cl.Addrs(), func(ws string) {
				slot := cl.Slot("{ws:" + ws + "}:cfg")
				m := cl.MasterOf(slot)
				m.Kill()
				_, took := cl.WaitNewMaster(slot, m, 20*time.Second)
				t.Logf("cluster: replica promoted %v after the kill", took.Round(time.Millisecond))
			}
		}},
		{"sentinel", func(t *testing.T) (string, func(string)) {
			s := tenancytest.StartSentinel(t)
			return s.Addr(), func(string) {
				m := s.Master()
				m.Kill()
				_, took := s.WaitNewMaster(m, 30*time.Second)
				t.Logf("sentinel: replica promoted %v after the kill", took.Round(time.Millisecond))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr, killMaster := tc.start(t)
			adminAddr := freeTCP(t)
			startBinary(t, bins.admin, []string{"serve"}, map[string]string{
				"EDGE_ADMIN_ADDR": adminAddr, "EDGE_REDIS_ADDR": addr, "EDGE_ADMIN_BOOTSTRAP_TOKEN": e2eToken,
			})
			admin := "http://" + adminAddr
			waitHTTP(t, admin+"/readyz", 20*time.Second)

			httpAddr, metricsAddr := freeTCP(t), freeTCP(t)
			rtp := evenPort(t) // RTP takes even ports; no call is placed here
			startBinary(t, bins.edge, nil, map[string]string{
				"EDGE_REDIS_ADDR": addr, "EDGE_SIP_ADDR": freeUDP(t), "EDGE_HTTP_ADDR": httpAddr,
				"EDGE_METRICS_ADDR": metricsAddr, "EDGE_RTP_PORTS": fmt.Sprintf("%d-%d", rtp, rtp+1),
				"EDGE_ICE_PORT": portOfAddr(freeUDP(t)), "EDGE_NODE_ID": "e2e-" + tc.name, "EDGE_PUBLIC_IP": "127.0.0.1",
			})

			var ws struct {
				ID          string `json:"id"`
				OwnerAPIKey string `json:"owner_api_key"`
			}
			call(t, "POST", admin+"/v1/workspaces", e2eToken, map[string]any{
				"name": "Northside", "environment": "development", "owner": map[string]string{"name": "Olive Owner", "email": "olive@example.org"},
			}, 201, &ws)
			base := admin + "/v1/workspaces/" + ws.ID
			call(t, "POST", base+"/services", ws.OwnerAPIKey, map[string]any{"id": "front-desk", "name": "Front desk", "target": "sip:agent@127.0.0.1:5070"}, 201, nil)
			call(t, "POST", base+"/phone-numbers", ws.OwnerAPIKey, map[string]any{"number": "+13125550100", "service_id": "front-desk"}, 201, nil)

			waitHTTP(t, "http://"+httpAddr+"/readyz", 20*time.Second)
			waitNumbers(t, metricsAddr, 1, 20*time.Second)

			killed := time.Now()
			killMaster(ws.ID) // returns once the replica is master
			// The first writes after the takeover may meet a client still
			// finding the new master: the admin answers them 503, and an
			// operator (or edge-admin apply) retries.
			deadline := time.Now().Add(20 * time.Second)
			for {
				code := call(t, "POST", base+"/phone-numbers", ws.OwnerAPIKey, map[string]any{"number": "+13125550101", "service_id": "front-desk"}, 0, nil)
				if code == 201 || code == 409 { // 409: an earlier try that got 503 was applied
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("admin writes still fail (%d) %v after the kill", code, time.Since(killed))
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Logf("%s: admin write accepted %v after the kill", tc.name, time.Since(killed).Round(time.Millisecond))
			waitNumbers(t, metricsAddr, 2, 20*time.Second)
			t.Logf("%s: the edge's map has the new number %v after the kill", tc.name, time.Since(killed).Round(time.Millisecond))
			waitHTTP(t, "http://"+httpAddr+"/readyz", 10*time.Second)
		})
	}
}

type binaries struct{ edge, admin string }

// buildBinaries builds cmd/edge and cmd/edge-admin into a temporary folder.
func buildBinaries(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator), "./cmd/edge", "./cmd/edge-admin")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return binaries{edge: filepath.Join(dir, "edge"), admin: filepath.Join(dir, "edge-admin")}
}

// syncBuffer is a log a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBinary runs bin with only env (and PATH) as its environment, and
// kills it at cleanup; its log is shown when the test fails.
func startBinary(t *testing.T, bin string, args []string, env map[string]string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // even if the test binary dies first
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out := log.String()
			if len(out) > 6000 {
				out = out[len(out)-6000:]
			}
			t.Logf("%s log:\n%s", filepath.Base(bin), out)
		}
	})
}

func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not 200 within %v (%v)", url, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitNumbers waits until the edge's internal /readyz says ready with at
// least n numbers in its routing map.
func waitNumbers(t *testing.T, metricsAddr string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	var last readiness
	for {
		resp, err := c.Get("http://" + metricsAddr + "/readyz")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&last)
			resp.Body.Close()
			if last.Ready && last.Routing.Numbers >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge map without %d numbers within %v: %+v %v", n, timeout, last, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call sends a JSON request and decodes the answer into out; with want
// non-zero, another status fails the test. It returns the status.
func call(t *testing.T, method, url, token string, body any, want int, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		if want != 0 {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		return 0
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeUDP returns a loopback address whose port is free for UDP and TCP.
func freeUDP(t *testing.T) string {
	t.Helper()
	for range 50 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		pc.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free for UDP and TCP")
	return ""
}

func portOfAddr(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// evenPort returns a free even UDP port on loopback.
func evenPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		var p int
		fmt.Sscan(portOfAddr(freeUDP(t)), &p)
		if p%2 == 0 {
			return p
		}
	}
	t.Fatal("no free even UDP port")
	return 0
}
