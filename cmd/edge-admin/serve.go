package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/admin"
	"github.com/voiceedge/edge/admin/client"
	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/tenancy"
)

// serve runs "edge-admin serve" until ctx ends.
func serve(ctx context.Context, args []string, lookup client.LookupEnv, stderr io.Writer) error {
	cfg, err := loadServeConfig(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	level, _ := logLevel(cfg.LogLevel)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	return runServer(ctx, cfg, ln, log)
}

// runServer serves the admin API on ln with cfg until ctx ends.
func runServer(ctx context.Context, cfg serveConfig, ln net.Listener, log *slog.Logger) error {
	raddr, err := redisaddr.Parse(cfg.RedisAddr)
	if err != nil {
		ln.Close()
		return err
	}
	acfg := cfg.adminConfig()
	// Each live event stream holds a connection while it waits.
	streams := acfg.MaxStreams
	if streams == 0 {
		streams = 32
	}
	rdb := redisaddr.NewClient(raddr, "edge-admin", func(o *redis.UniversalOptions) { o.PoolSize = streams + 32 })
	defer rdb.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Behind Cluster or Sentinel a write answered 2xx must survive its
	// master's failover: it waits for a replica (tenancy.WithReplicaAck).
	policy, err := cfg.policy()
	if err != nil {
		ln.Close()
		return err
	}
	sopts := []tenancy.StoreOption{tenancy.WithPolicy(policy)}
	if raddr.Kind != redisaddr.Single {
		sopts = append(sopts, tenancy.WithReplicaAck(replicaAckTimeout))
	}
	store := tenancy.NewStore(rdb, sopts...)
	srv, err := admin.New(acfg, store, reg, log)
	if err != nil {
		ln.Close()
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := store.Ping(pctx); err != nil {
		log.Warn("redis does not answer yet: not ready until it does", "redis", redactRedis(cfg.RedisAddr), "err", err)
	} else if n, err := store.RebuildRouting(pctx); err != nil {
		log.Warn("routing hashes not rebuilt", "err", err)
	} else if n > 0 {
		log.Info("routing hashes rebuilt for workspaces stored before them", "workspaces", n)
	}
	cancel()
	log.Info("edge-admin serving", "addr", ln.Addr().String(), "redis", redactRedis(cfg.RedisAddr))
	err = srv.Serve(ctx, ln)
	log.Info("edge-admin stopped")
	return err
}

// replicaAckTimeout bounds the wait for a replica after a configuration
// write (Cluster and Sentinel).
const replicaAckTimeout = 500 * time.Millisecond

// redactRedis hides a password of a Redis URL in logs.
func redactRedis(addr string) string { return redisaddr.Redact(addr) }

// reencrypt runs "edge-admin reencrypt": with serve's configuration (the
// same environment), it seals again every data-source credential still
// sealed with EDGE_ADMIN_SECRET_KEY_OLD (or stored in clear by an older
// version), the last step of a key rotation (README).
func reencrypt(ctx context.Context, args []string, lookup client.LookupEnv, stdout, stderr io.Writer) error {
	cfg, err := loadServeConfig(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	policy, err := cfg.policy()
	if err != nil {
		return err
	}
	raddr, err := redisaddr.Parse(cfg.RedisAddr)
	if err != nil {
		return err
	}
	rdb := redisaddr.NewClient(raddr, "edge-admin")
	defer rdb.Close()
	n, err := tenancy.NewStore(rdb, tenancy.WithPolicy(policy)).ReencryptSecrets(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-encrypted %d data source credential sets with key %s\n", n, policy.Secrets.KeyID())
	return nil
}
