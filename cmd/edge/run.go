package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/routing"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/sip/operators"
	"github.com/voiceedge/edge/tenancy"
)

// sipReadBuffer is the receive buffer asked for the SIP UDP socket. The
// kernel's default (about 200 KiB) holds a fraction of a second of
// requests at 1,000 calls/s, and the load tests showed it overflowing, and
// trunks retransmitting, during pauses of a few hundred milliseconds
// (loadtest/README.md).
const sipReadBuffer = 8 << 20

// run wires the edge and serves until term (SIGTERM: drain, then stop) or
// intr (SIGINT: stop at once) ends.
func run(term, intr context.Context, cfg config, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("%w: log_level: %v", errUsage, err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	scfg, err := cfg.sipConfig()
	if err != nil {
		return err
	}
	raddr, err := redisaddr.Parse(cfg.RedisAddr)
	if err != nil {
		return fmt.Errorf("%w: redis_addr: %v", errUsage, err)
	}
	rdb := redisaddr.NewClient(raddr, "edge")
	defer rdb.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reaps, err := sip.NewReapMetrics(reg, log.With("component", "reaper"))
	if err != nil {
		return err
	}
	calls := tenancy.NewCallPipeline(rdb)
	defer calls.Close()
	reg.MustRegister(calls.Collectors()...)
	store := tenancy.NewStore(rdb, tenancy.WithPolicy(tenancy.Policy{Credentials: cfg.Credentials}), tenancy.WithReapObserver(reaps.Observe),
		tenancy.WithCallClient(calls))
	// Event streams wait in Redis (XREAD BLOCK, a second at a time): they
	// get a pool of their own, so that no number of them ever holds a
	// connection that call admission needs.
	streamRDB := redisaddr.NewClient(raddr, "edge-streams", func(o *redis.UniversalOptions) {
		o.PoolSize = operators.DefaultConfig().MaxStreams + 4
	})
	defer streamRDB.Close()

	routes := routing.New(store, reg, log.With("component", "routing"))

	lo, hi, _ := media.ParsePortRange(cfg.RTPPorts)
	host, _, _ := net.SplitHostPort(cfg.SIPAddr)
	bind, _ := netip.ParseAddr(host)
	pool, err := media.NewPortPool(bind, lo, hi)
	if err != nil {
		return err
	}
	mcfg := media.DefaultConfig()
	mcfg.MediaTimeout = cfg.MediaTimeout
	mgr, err := media.NewManager(mcfg, pool, reg, media.WithLogger(log.With("component", "media")))
	if err != nil {
		return err
	}
	defer mgr.Close()
	srv, err := sip.New(scfg, routes, sip.MediaManager(mgr), store, sip.WithLogger(log.With("component", "sip")), sip.WithRegistry(reg),
		sip.WithSpool(cfg.spoolConfig()))
	if err != nil {
		return err
	}
	ops, err := newOperatorStack(cfg, scfg.NodeID, store, tenancy.NewStore(streamRDB), srv, reg, log)
	if err != nil {
		_ = srv.Close()
		return err
	}
	defer ops.close()

	pc, err := net.ListenPacket("udp", cfg.SIPAddr)
	if err != nil {
		return fmt.Errorf("listen udp %s: %w", cfg.SIPAddr, err)
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		// Best effort (Linux caps it at net.core.rmem_max): see sipReadBuffer.
		_ = uc.SetReadBuffer(sipReadBuffer)
	}
	tcp, err := net.Listen("tcp", cfg.SIPAddr)
	if err != nil {
		pc.Close()
		return fmt.Errorf("listen tcp %s: %w", cfg.SIPAddr, err)
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		pc.Close()
		tcp.Close()
		return fmt.Errorf("listen http %s: %w", cfg.HTTPAddr, err)
	}
	metricsLn, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		pc.Close()
		tcp.Close()
		httpLn.Close()
		return fmt.Errorf("listen metrics %s: %w", cfg.MetricsAddr, err)
	}
	var tlsLn net.Listener
	if cfg.TLSCert != "" {
		if tlsLn, err = listenTLS(cfg); err != nil {
			pc.Close()
			tcp.Close()
			httpLn.Close()
			metricsLn.Close()
			return err
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reapOwnCalls(ctx, srv, log)
	var wg sync.WaitGroup
	errc := make(chan error, 7)
	spawn := func(f func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- f() }()
	}
	spawn(func() error { return routes.Run(ctx) })
	spawn(func() error { return srv.Run(ctx) })
	spawn(func() error { return ops.handler.Run(ctx) })
	spawn(func() error { return srv.ServeUDP(ctx, pc) })
	spawn(func() error { return srv.ServeTCP(ctx, tcp) })
	if tlsLn != nil {
		spawn(func() error { return srv.ServeTLS(ctx, tlsLn) })
	}
	hs := &http.Server{Handler: withOperators(publicHandler(routes, srv), ops.handler), ReadHeaderTimeout: 5 * time.Second}
	ms := &http.Server{Handler: internalHandler(reg, routes, srv, cfg.PProf), ReadHeaderTimeout: 5 * time.Second}
	for _, h := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{hs, httpLn}, {ms, metricsLn}} {
		spawn(func() error {
			if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	log.Info("edge started", "sip", cfg.SIPAddr, "http", cfg.HTTPAddr, "metrics", cfg.MetricsAddr, "node_id", scfg.NodeID, "public_ip", scfg.PublicIP,
		"ice", ops.engine.ICEAddr().String())

	var runErr error
	select {
	case <-term.Done():
		log.Info("SIGTERM: draining", "active_calls", srv.ActiveCalls())
		dctx, dcancel := context.WithTimeout(intr, scfg.DrainTimeout)
		if err := srv.Drain(dctx); err != nil {
			log.Warn("drain incomplete", "error", err)
		}
		dcancel()
	case <-intr.Done():
		log.Info("SIGINT: stopping")
	case runErr = <-errc:
	}
	_ = srv.Close()
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = hs.Shutdown(sctx)
	_ = ms.Shutdown(sctx)
	scancel()
	cancel()
	wg.Wait()
	return runErr
}

// reapOwnCalls ends, before the node serves, the calls its previous
// process left in the registry under the same node id (bounded: when
// Redis is away their leases run out and the sweep ends them).
func reapOwnCalls(ctx context.Context, srv *sip.Server, log *slog.Logger) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := srv.ReapOwnCalls(rctx)
	if err != nil {
		log.Warn("ending the calls of this node's previous process", "error", err)
		return
	}
	if n > 0 {
		log.Info("ended the calls of this node's previous process", "calls", n, "reason", tenancy.ReasonNodeLost)
	}
}

func listenTLS(cfg config) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load tls certificate: %w", err)
	}
	addr := cfg.SIPTLSAddr
	if addr == "" {
		host, port, _ := net.SplitHostPort(cfg.SIPAddr)
		p, _ := strconv.Atoi(port)
		addr = net.JoinHostPort(host, strconv.Itoa(p+1))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen tls %s: %w", addr, err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}
