// Package redisaddr parses EDGE_REDIS_ADDR, which edge and edge-admin
// share, and builds the go-redis client both programs use, tuned to ride
// over a failover of Redis Cluster or Sentinel in seconds.
//
// The forms (design sections 9 and 10):
//
//	host:port                          one Redis
//	host:port,host:port[,...]          Redis Cluster seed nodes
//	redis://[user:password@]host:port[/db]   one Redis (rediss:// with TLS)
//	sentinel://[[user]:password@]host:port[,host:port...]/<master-name>
//	                                   Redis Sentinel: the sentinels and the
//	                                   name of the master they watch
//
// A sentinel:// password authenticates to the master and its replicas
// (requirepass); the sentinels themselves are asked without a password.
package redisaddr

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Kind is the deployment an address names.
type Kind int

// The deployments.
const (
	Single Kind = iota
	Cluster
	Sentinel
)

func (k Kind) String() string {
	switch k {
	case Cluster:
		return "cluster"
	case Sentinel:
		return "sentinel"
	}
	return "single"
}

// Addr is a parsed EDGE_REDIS_ADDR.
type Addr struct {
	Kind Kind
	// Addrs are the Redis address (Single), the cluster's seed nodes
	// (Cluster) or the sentinels (Sentinel).
	Addrs      []string
	MasterName string // Sentinel only
	Username   string
	Password   string
	DB         int
	raw        string
	tls        *tls.Config // rediss://
}

// ErrAddr marks an unusable address.
var ErrAddr = errors.New("redis address")

func bad(s, why string) error {
	return fmt.Errorf("%w %q: %s", ErrAddr, Redact(s), why)
}

// Parse parses an EDGE_REDIS_ADDR value.
func Parse(s string) (*Addr, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "sentinel://"):
		return parseSentinel(s)
	case strings.HasPrefix(s, "redis://"), strings.HasPrefix(s, "rediss://"):
		o, err := redis.ParseURL(s)
		if err != nil {
			return nil, bad(s, err.Error())
		}
		return &Addr{Kind: Single, Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password,
			DB: o.DB, tls: o.TLSConfig, raw: s}, nil
	case strings.Contains(s, "://"):
		return nil, bad(s, "want host:port, a redis://, rediss:// or sentinel:// URL")
	}
	addrs, err := hostPorts(s)
	if err != nil {
		return nil, err
	}
	a := &Addr{Kind: Single, Addrs: addrs, raw: s}
	if len(addrs) > 1 {
		a.Kind = Cluster
	}
	return a, nil
}

func parseSentinel(s string) (*Addr, error) {
	rest := strings.TrimPrefix(s, "sentinel://")
	a := &Addr{Kind: Sentinel, raw: s}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, ok := strings.Cut(rest[:at], ":")
		if !ok {
			return nil, bad(s, "credentials must be [user]:password@")
		}
		a.Username, a.Password, rest = user, pass, rest[at+1:]
	}
	hosts, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" || strings.ContainsAny(name, "/?#@ ") {
		return nil, bad(s, "want sentinel://host:port[,host:port...]/<master-name>")
	}
	addrs, err := hostPorts(hosts)
	if err != nil {
		return nil, err
	}
	a.Addrs, a.MasterName = addrs, name
	return a, nil
}

func hostPorts(s string) ([]string, error) {
	var out []string
	for _, hp := range strings.Split(s, ",") {
		hp = strings.TrimSpace(hp)
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return nil, bad(hp, "want host:port")
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, bad(hp, "port must be 1-65535")
		}
		out = append(out, hp)
	}
	return out, nil
}

// Redact returns s with any password replaced, for logs.
func Redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return s
	}
	return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
}

// String is the address with its password redacted.
func (a *Addr) String() string { return Redact(a.raw) }
