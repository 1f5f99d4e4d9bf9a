// Package tenancytest starts real redis-server processes for tests: one
// Redis (StartRedis), a 3-master/3-replica Redis Cluster (StartCluster) and
// a Sentinel setup (StartSentinel), with ways to kill, hang or restart them.
package tenancytest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
)

// Redis is a private redis-server on a free loopback port.
type Redis struct {
	Addr string
	cmd  *exec.Cmd
	dir  string
	t    testing.TB
}

// StartRedis starts a redis-server for the test and stops it at cleanup.
// The test fails if redis-server is missing: `make test` installs it.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (run scripts/install-deps.sh): %v", err)
	}
	r := &Redis{dir: t.TempDir(), t: t}
	r.start(bin, freePort(t))
	t.Cleanup(r.Stop)
	return r
}

func (r *Redis) start(bin string, port int) {
	r.t.Helper()
	r.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	r.cmd = exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--protected-mode", "no")
	r.cmd.Stdout, r.cmd.Stderr = nil, nil
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on %s did not come up", r.Addr)
}

// Stop kills the server (a Redis outage); Restart brings it back on the same
// port, empty (or with what Shutdown saved).
func (r *Redis) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGCONT) // a paused server dies too
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// Restart starts the server again on the same address.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Stop()
	_, port, _ := net.SplitHostPort(r.Addr)
	var p int
	fmt.Sscan(port, &p)
	bin, _ := exec.LookPath("redis-server")
	r.start(bin, p)
}

// Shutdown stops the server after it saves its data (SHUTDOWN SAVE), as a
// Redis with persistence goes down: Restart brings it back with the data.
func (r *Redis) Shutdown() {
	r.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer c.Close()
	_ = c.ShutdownSave(context.Background()).Err() // the connection drops: no answer
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
		r.cmd = nil
	case <-time.After(10 * time.Second):
		r.t.Fatalf("redis-server on %s did not shut down", r.Addr)
	}
}

// Pause hangs the server (SIGSTOP): connections stay open and nothing
// answers, as a Redis stuck or partitioned; Resume (SIGCONT) lets it go on.
func (r *Redis) Pause() { _ = r.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (r *Redis) Resume() { _ = r.cmd.Process.Signal(syscall.SIGCONT) }

// Client returns a go-redis client for the server, closed at cleanup.
func (r *Redis) Client(t testing.TB) redis.UniversalClient {
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{r.Addr}, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// EdgeClient creates the edge's Redis user (ACL SETUSER with
// tenancy.EdgeACL, as the README shows it) and returns a client logged in
// as it, closed at cleanup.
func (r *Redis) EdgeClient(t testing.TB) redis.UniversalClient {
	t.Helper()
	acl := []any{"ACL", "SETUSER", "edge", "on", ">edge-password-for-tests"}
	for _, rule := range tenancy.EdgeACL {
		acl = append(acl, rule)
	}
	if err := r.Client(t).Do(context.Background(), acl...).Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{r.Addr}, Username: "edge", Password: "edge-password-for-tests", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { c.Close() })
	return c
}

// Store returns a tenancy.Store on the server.
func (r *Redis) Store(t testing.TB, opts ...tenancy.StoreOption) *tenancy.Store {
	return tenancy.NewStore(r.Client(t), opts...)
}

// Flush empties the server.
func (r *Redis) Flush(t testing.TB) {
	if err := r.Client(t).FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
