package tenancytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
)

// ClusterNodeTimeout is the cluster-node-timeout of the clusters
// StartCluster starts: a master that does not answer for this long is
// failed over to its replica (plus an election, about a second more).
const ClusterNodeTimeout = time.Second

// Cluster is a Redis Cluster of three masters with one replica each, on
// loopback ports of its own, stopped at the test's cleanup.
type Cluster struct {
	Nodes []*Node
	t     testing.TB
}

// Node is one redis-server process of a Cluster or a Sentinel setup.
type Node struct {
	Addr string
	Port int
	dir  string
	args []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	stop bool // SIGSTOPped
}

// StartCluster starts six cluster-enabled redis-servers, joins them with
// `redis-cli --cluster create --cluster-replicas 1` and waits until every
// node says cluster_state:ok and every replica is in sync.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := lookBin(t, "redis-server")
	cli := lookBin(t, "redis-cli")
	c := &Cluster{t: t}
	t.Cleanup(c.stopAll)
	ports := clusterPorts(t, 6)
	for _, p := range ports {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(p))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		n := &Node{Addr: fmt.Sprintf("127.0.0.1:%d", p), Port: p, dir: dir, args: []string{
			"--port", fmt.Sprint(p), "--bind", "127.0.0.1", "--protected-mode", "no", "--dir", dir,
			"--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", fmt.Sprint(ClusterNodeTimeout.Milliseconds()),
			// A replica always may take over, however long it was cut off.
			"--cluster-replica-validity-factor", "0",
			"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		}}
		n.start(t, bin)
		c.Nodes = append(c.Nodes, n)
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy(30 * time.Second)
	return c
}

// Addrs is the comma-separated list of every node, an EDGE_REDIS_ADDR.
func (c *Cluster) Addrs() string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Addr)
	}
	return strings.Join(out, ",")
}

// Client returns a cluster client on the nodes that reloads its slot map
// every second (go-redis's default is a minute), closed at cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		MaxRedirects: 8, MinRetryBackoff: 50 * time.Millisecond, MaxRetryBackoff: 500 * time.Millisecond,
		ClusterStateReloadInterval: time.Second, DialerRetries: 1,
	})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// Store returns a tenancy.Store on the cluster.
func (c *Cluster) Store(t testing.TB, opts ...tenancy.StoreOption) *tenancy.Store {
	return tenancy.NewStore(c.Client(t), opts...)
}

// Slot returns the cluster slot of key (CLUSTER KEYSLOT).
func (c *Cluster) Slot(key string) int {
	c.t.Helper()
	var slot int64
	c.each(func(n *Node, r *redis.Client) bool {
		s, err := r.ClusterKeySlot(context.Background(), key).Result()
		slot = s
		return err == nil
	})
	return int(slot)
}

// MasterOf returns the node that serves slot as master, as the live nodes
// see it, or nil if none does.
func (c *Cluster) MasterOf(slot int) *Node {
	c.t.Helper()
	var addr string
	c.each(func(n *Node, r *redis.Client) bool {
		slots, err := r.ClusterSlots(context.Background()).Result()
		if err != nil {
			return false
		}
		for _, s := range slots {
			if slot >= int(s.Start) && slot <= int(s.End) && len(s.Nodes) > 0 {
				addr = s.Nodes[0].Addr
			}
		}
		return true
	})
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// MasterOfKey is MasterOf(Slot(key)).
func (c *Cluster) MasterOfKey(key string) *Node { return c.MasterOf(c.Slot(key)) }

// WaitNewMaster waits up to timeout until slot is served by a master other
// than old, on which every live node agrees, and returns it with the time
// it took.
func (c *Cluster) WaitNewMaster(slot int, old *Node, timeout time.Duration) (*Node, time.Duration) {
	c.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if m := c.MasterOf(slot); m != nil && m != old && m.role() == "master" {
			return m, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("slot %d: no new master within %v", slot, timeout)
	return nil, 0
}

// WaitHealthy waits up to timeout until every live node reports
// cluster_state:ok and sees all 16384 slots served.
func (c *Cluster) WaitHealthy(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range c.Nodes {
			if !n.alive() {
				continue
			}
			r := n.client()
			info, err := r.ClusterInfo(context.Background()).Result()
			r.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				ok, last = false, fmt.Sprintf("%s: %v %s", n.Addr, err, firstLine(info, "cluster_state"))
				break
			}
		}
		if ok && c.replicasInSync() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("cluster not healthy within %v: %s", timeout, last)
}

// replicasInSync reports whether every live replica's link to its master
// is up.
func (c *Cluster) replicasInSync() bool {
	for _, n := range c.Nodes {
		if !n.alive() {
			continue
		}
		r := n.client()
		info, err := r.Info(context.Background(), "replication").Result()
		r.Close()
		if err != nil {
			return false
		}
		if strings.Contains(info, "role:slave") && !strings.Contains(info, "master_link_status:up") {
			return false
		}
	}
	return true
}

// each calls fn with a client of each live node until fn returns true.
func (c *Cluster) each(fn func(*Node, *redis.Client) bool) {
	for _, n := range c.Nodes {
		if !n.alive() {
			continue
		}
		r := n.client()
		done := fn(n, r)
		r.Close()
		if done {
			return
		}
	}
}

func (c *Cluster) stopAll() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// Kill SIGKILLs the node (a crashed host); it stays down.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	if n.stop {
		_ = n.cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
	n.cmd, n.stop = nil, false
}

// Pause SIGSTOPs the node (a hung host: connections stay open, nothing is
// answered); Resume SIGCONTs it.
func (n *Node) Pause() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && !n.stop {
		_ = n.cmd.Process.Signal(syscall.SIGSTOP)
		n.stop = true
	}
}

// Resume continues a paused node.
func (n *Node) Resume() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && n.stop {
		_ = n.cmd.Process.Signal(syscall.SIGCONT)
		n.stop = false
	}
}

func (n *Node) alive() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil && !n.stop
}

func (n *Node) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.Addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, MaxRetries: -1, DialerRetries: 1})
}

// role is "master" or "slave" as the node says, "" if it does not answer.
func (n *Node) role() string {
	if !n.alive() {
		return ""
	}
	r := n.client()
	defer r.Close()
	info, err := r.Info(context.Background(), "replication").Result()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(firstLine(info, "role:"), "role:")
}

func (n *Node) start(t testing.TB, bin string, extra ...string) {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string(nil), n.args...), extra...)...)
	cmd.Dir = n.dir
	// Killed with the test binary too, should it die before its cleanup
	// (a test timeout panics without running cleanups).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	n.mu.Lock()
	n.cmd = cmd
	n.mu.Unlock()
	waitPort(t, n.Addr)
}

func waitPort(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

func lookBin(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (run scripts/install-deps.sh): %v", name, err)
	}
	return bin
}

// clusterPorts returns n free loopback ports p whose cluster bus port
// p+10000 is free too. Both stay below the kernel's ephemeral ports
// (32768 and up): a port found free there can be taken by any outgoing
// connection before redis-server binds it, which a CI run saw.
func clusterPorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	seen := map[int]bool{}
	for tries := 0; len(out) < n && tries < 1000; tries++ {
		p := 20000 + rand.IntN(2700) // p+10000 <= 32699
		if seen[p] || seen[p+10000] || !portFree(p) || !portFree(p+10000) {
			continue
		}
		seen[p], seen[p+10000] = true, true
		out = append(out, p)
	}
	if len(out) < n {
		t.Fatal("no free port pairs for a cluster")
	}
	return out
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func firstLine(info, prefix string) string {
	for _, l := range strings.Split(info, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
