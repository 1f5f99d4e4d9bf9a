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
	var sopts []tenancy.StoreOption
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
