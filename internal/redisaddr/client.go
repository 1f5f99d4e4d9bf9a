package redisaddr

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts and retries of the clients NewClient builds. They are short so
// that a dead node is given up on quickly and the retries land on its
// successor: Redis Cluster promotes a replica after cluster-node-timeout
// plus an election (a second or two with a 1 s node timeout), Sentinel after
// down-after-milliseconds plus its failover.
const (
	dialTimeout     = time.Second
	readTimeout     = time.Second
	writeTimeout    = time.Second
	minRetryBackoff = 50 * time.Millisecond
	maxRetryBackoff = 500 * time.Millisecond
	// maxRetries (single, sentinel) gives a command about two seconds of
	// backed-off retries. maxRedirects (cluster) is fewer: a command picks
	// the slot's master afresh on each retry, but a WATCH transaction
	// retries the same node, so it should give up on a dead one soon (the
	// reload hook has by then asked for the new slot map).
	maxRetries   = 6
	maxRedirects = 4
	// clusterReload is how old the cluster's slot map may grow before a
	// command reloads it (in the background). go-redis's default is 60 s,
	// which is what kept writes failing for ~55 s after a master failed
	// over (issue 12); a slot map reload is one CLUSTER SLOTS to one node.
	clusterReload = time.Second
	// failingTimeout is how long (seconds) a cluster node that failed a
	// command is avoided for reads (default 15).
	failingTimeout = 2
)

// NewClient builds the go-redis client for a: a *redis.Client, a
// *redis.ClusterClient or a sentinel-backed failover *redis.Client. name is
// the CLIENT SETNAME of its connections; tune, when given, adjusts the
// options (pool size) before the client is built.
//
// Reads go to masters only (no ReadOnly, no replica routing): the edge and
// the control plane must see their own writes, and a replica can be
// behind.
func NewClient(a *Addr, name string, tune ...func(*redis.UniversalOptions)) redis.UniversalClient {
	o := a.Options(name)
	for _, f := range tune {
		f(o)
	}
	switch a.Kind {
	case Cluster:
		co := o.Cluster()
		co.ClusterStateReloadInterval = clusterReload
		c := redis.NewClusterClient(co)
		// On the cluster client for commands and pipelines, and on each
		// node's client for what bypasses them: WATCH transactions retry
		// the same node without a reload.
		c.AddHook(reloadHook{c})
		c.OnNewNode(func(n *redis.Client) { n.AddHook(reloadHook{c}) })
		return c
	case Sentinel:
		return redis.NewFailoverClient(o.Failover())
	}
	return redis.NewClient(o.Simple())
}

// Options returns the go-redis options of a with the failover tuning.
func (a *Addr) Options(name string) *redis.UniversalOptions {
	o := &redis.UniversalOptions{
		Addrs: append([]string(nil), a.Addrs...), MasterName: a.MasterName,
		Username: a.Username, Password: a.Password, DB: a.DB, ClientName: name,
		DialTimeout: dialTimeout, ReadTimeout: readTimeout, WriteTimeout: writeTimeout,
		DialerRetries: 2, DialerRetryTimeout: 100 * time.Millisecond,
		MaxRetries: maxRetries, MinRetryBackoff: minRetryBackoff, MaxRetryBackoff: maxRetryBackoff,
		MaxRedirects: maxRedirects, FailingTimeoutSeconds: failingTimeout,
		IsClusterMode: a.Kind == Cluster,
	}
	if a.Kind == Cluster {
		// The cluster client retries by redirects; per-node retries on top
		// would multiply them.
		o.MaxRetries = -1
	}
	if a.tls != nil {
		o.TLSConfig = a.tls.Clone()
	}
	return o
}

// reloadHook reloads the cluster's slot map as soon as a command fails the
// way a failed-over or resharding cluster makes it fail, instead of waiting
// for the map to age: go-redis reloads by itself on MOVED, but a dead
// master answers nothing at all.
type reloadHook struct{ c *redis.ClusterClient }

func (h reloadHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cn, err := next(ctx, network, addr)
		if err != nil && ctx.Err() == nil {
			h.c.ReloadState(ctx)
		}
		return cn, err
	}
}

func (h reloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if stale(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

func (h reloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if stale(err) {
			h.c.ReloadState(ctx)
		}
		return err
	}
}

// stale reports whether err says the client's view of the cluster may be
// out of date: the node is unreachable or no longer serves the slot.
func stale(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.TxFailedErr) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "READONLY", "MOVED ", "ASK ", "LOADING", "MASTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset")
}
