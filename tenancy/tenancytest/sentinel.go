package tenancytest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/tenancy"
)

// SentinelMaster is the master name the sentinels of StartSentinel watch.
const SentinelMaster = "edge-main"

// SentinelDownAfter is the down-after-milliseconds of StartSentinel's
// sentinels: a master silent this long is failed over (plus the vote and
// the promotion, a second or two).
const SentinelDownAfter = time.Second

// Sentinel is a Redis master with one replica watched by three sentinels
// (quorum 2), on loopback ports of its own, stopped at the test's cleanup.
type Sentinel struct {
	Redis     []*Node // [0] starts as the master, [1] as its replica
	Sentinels []*Node
	t         testing.TB
}

// StartSentinel starts the master, its replica and three sentinels
// (`redis-server sentinel.conf --sentinel`) and waits until the master is
// replicated and every sentinel knows the replica and the other sentinels.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin := lookBin(t, "redis-server")
	s := &Sentinel{t: t}
	t.Cleanup(s.stopAll)
	ports := clusterPorts(t, 5)
	for i, p := range ports[:2] {
		dir := t.TempDir()
		n := &Node{Addr: fmt.Sprintf("127.0.0.1:%d", p), Port: p, dir: dir, args: []string{
			"--port", fmt.Sprint(p), "--bind", "127.0.0.1", "--protected-mode", "no", "--dir", dir,
			"--save", "", "--appendonly", "no", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		}}
		if i == 1 {
			n.args = append(n.args, "--replicaof", "127.0.0.1", fmt.Sprint(ports[0]))
		}
		n.start(t, bin)
		s.Redis = append(s.Redis, n)
	}
	for _, p := range ports[2:] {
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 5000\n"+
			"sentinel parallel-syncs %s 1\n",
			p, dir, SentinelMaster, ports[0], SentinelMaster, SentinelDownAfter.Milliseconds(), SentinelMaster, SentinelMaster)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		n := &Node{Addr: fmt.Sprintf("127.0.0.1:%d", p), Port: p, dir: dir, args: []string{conf, "--sentinel"}}
		n.start(t, bin)
		s.Sentinels = append(s.Sentinels, n)
	}
	s.waitReady(30 * time.Second)
	return s
}

// Addr is the EDGE_REDIS_ADDR of the setup:
// sentinel://host:port,host:port,host:port/<master>.
func (s *Sentinel) Addr() string {
	var hs []string
	for _, n := range s.Sentinels {
		hs = append(hs, n.Addr)
	}
	return "sentinel://" + strings.Join(hs, ",") + "/" + SentinelMaster
}

// Client returns a sentinel-backed failover client, closed at cleanup.
func (s *Sentinel) Client(t testing.TB) *redis.Client {
	var hs []string
	for _, n := range s.Sentinels {
		hs = append(hs, n.Addr)
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: hs,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

// Store returns a tenancy.Store on the setup.
func (s *Sentinel) Store(t testing.TB, opts ...tenancy.StoreOption) *tenancy.Store {
	return tenancy.NewStore(s.Client(t), opts...)
}

// Master returns the node the sentinels name as master, or nil.
func (s *Sentinel) Master() *Node {
	for _, sn := range s.Sentinels {
		if !sn.alive() {
			continue
		}
		r := sn.sentinelClient()
		addr, err := r.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
		r.Close()
		if err != nil || len(addr) != 2 {
			continue
		}
		for _, n := range s.Redis {
			if n.Addr == addr[0]+":"+addr[1] {
				return n
			}
		}
	}
	return nil
}

// WaitNewMaster waits up to timeout until a node other than old is master,
// both as the sentinels say and as it says itself, and returns it with the
// time it took.
func (s *Sentinel) WaitNewMaster(old *Node, timeout time.Duration) (*Node, time.Duration) {
	s.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if m := s.Master(); m != nil && m != old && m.role() == "master" {
			return m, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("sentinel: no new master within %v", timeout)
	return nil, 0
}

// waitReady waits until the replica is in sync and every sentinel knows
// the replica and the two other sentinels (else a failover has no quorum).
func (s *Sentinel) waitReady(timeout time.Duration) {
	s.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	why := ""
	for time.Now().Before(deadline) {
		why = ""
		r := s.Redis[1].client()
		info, err := r.Info(ctx, "replication").Result()
		r.Close()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			why = "replica not in sync"
		}
		for _, sn := range s.Sentinels {
			if why != "" {
				break
			}
			r := sn.sentinelClient()
			reps, err1 := r.Replicas(ctx, SentinelMaster).Result()
			sens, err2 := r.Sentinels(ctx, SentinelMaster).Result()
			r.Close()
			if err1 != nil || err2 != nil || len(reps) < 1 || len(sens) < len(s.Sentinels)-1 {
				why = fmt.Sprintf("sentinel %s knows %d replicas and %d sentinels", sn.Addr, len(reps), len(sens))
			}
		}
		if why == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("sentinel setup not ready within %v: %s", timeout, why)
}

func (s *Sentinel) stopAll() {
	for _, n := range append(append([]*Node(nil), s.Sentinels...), s.Redis...) {
		n.Kill()
	}
}

func (n *Node) sentinelClient() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: n.Addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, MaxRetries: -1, DialerRetries: 1})
}
