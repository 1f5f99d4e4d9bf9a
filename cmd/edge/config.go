package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/media"
	"github.com/voiceedge/edge/sip"
	"github.com/voiceedge/edge/sip/spool"
	"github.com/voiceedge/edge/tenancy"
)

// errUsage marks a command-line or configuration error (exit status 2).
var errUsage = errors.New("usage")

// config is the edge's configuration: flags > environment > YAML file
// (-config) > defaults (design section 9).
type config struct {
	// RedisAddr is host:port (several, comma-separated, for a cluster), a
	// redis:// or rediss:// URL or a sentinel:// URL (EDGE_REDIS_ADDR;
	// internal/redisaddr).
	// Default 127.0.0.1:6379.
	RedisAddr string `yaml:"redis_addr"`
	// SIPAddr is the SIP listen address, UDP and TCP (EDGE_SIP_ADDR).
	// Default 127.0.0.1:5060.
	SIPAddr string `yaml:"sip_addr"`
	// SIPTLSAddr is the SIP over TLS listen address, used when TLSCert and
	// TLSKey are set (EDGE_SIP_TLS_ADDR). Default: SIPAddr's host, port 5061.
	SIPTLSAddr string `yaml:"sip_tls_addr"`
	TLSCert    string `yaml:"tls_cert"` // EDGE_TLS_CERT, PEM file
	TLSKey     string `yaml:"tls_key"`  // EDGE_TLS_KEY, PEM file
	// HTTPAddr is the public HTTP address: the operator API and console,
	// /healthz and a bare /readyz (EDGE_HTTP_ADDR).
	// Default 127.0.0.1:8080.
	HTTPAddr string `yaml:"http_addr"`
	// MetricsAddr is the internal listener of /metrics, the detailed
	// /readyz and pprof (EDGE_METRICS_ADDR). Default 127.0.0.1:9090; never
	// the public address, whose routing counters and readiness detail would
	// tell outsiders which numbers exist.
	MetricsAddr string `yaml:"metrics_addr"`
	// RTPPorts is the RTP port range (EDGE_RTP_PORTS). Default 10000-20000.
	RTPPorts string `yaml:"rtp_ports"`
	// PublicIP is written into SDP and Contact (EDGE_PUBLIC_IP). Default:
	// the host of SIPAddr, or 127.0.0.1 when that is a wildcard.
	PublicIP string `yaml:"public_ip"`
	// ServiceIP is written into SDP towards services (EDGE_SERVICE_IP).
	// Default: PublicIP.
	ServiceIP string `yaml:"service_ip"`
	// NodeID names this node (EDGE_NODE_ID). Default: the host name.
	NodeID string `yaml:"node_id"`
	// LogLevel is debug, info, warn or error (EDGE_LOG_LEVEL). Default info.
	LogLevel string `yaml:"log_level"`
	// Timers of calls.
	NoAnswerTimeout time.Duration `yaml:"no_answer_timeout"` // default 30s
	MediaTimeout    time.Duration `yaml:"media_timeout"`     // default 60s
	MaxDuration     time.Duration `yaml:"max_duration"`      // default 4h
	DrainTimeout    time.Duration `yaml:"drain_timeout"`     // EDGE_DRAIN_TIMEOUT, default 2h (calls in progress finish)
	// CallLease is the lease of each call in the call registry
	// (EDGE_CALL_LEASE, a duration or seconds): renewed every third of it,
	// and the calls of a node lost for that long are ended node_lost.
	// Default 30s; 2s to 1h.
	CallLease time.Duration `yaml:"call_lease"`
	// SessionExpires is the RFC 4028 session interval in seconds
	// (EDGE_SESSION_EXPIRES). Default 1800; at least 90.
	SessionExpires int `yaml:"session_expires"`
	// WorkspaceMediaShare is the percentage of this node's media ports one
	// workspace may hold (EDGE_WORKSPACE_MEDIA_SHARE). Default 50; 100
	// means no share.
	WorkspaceMediaShare int `yaml:"workspace_media_share"`
	// MaxSetups bounds the call setups in progress: past it an INVITE gets
	// 503 with Retry-After at once (EDGE_MAX_SETUPS). Default 1024; 0: no
	// bound.
	MaxSetups int `yaml:"max_setups"`
	// OverloadLatency is the p99 of the Go scheduler's latency over 100 ms
	// past which the CPU counts as saturated and fewer setups are let in
	// (EDGE_OVERLOAD_LATENCY). Default 5ms; 0: the bound stays MaxSetups.
	OverloadLatency time.Duration `yaml:"overload_latency"`
	// DropUnknownSources drops requests from addresses in no trunk
	// (EDGE_DROP_UNKNOWN_SOURCES=true). Default false: answer 403.
	DropUnknownSources bool `yaml:"drop_unknown_sources"`
	// RateLimit and RateBurst bound requests per source IP; TrustedCIDRs
	// are exempt (EDGE_TRUSTED_CIDRS, comma-separated). Defaults 50/s, 100.
	RateLimit    float64  `yaml:"rate_limit"`
	RateBurst    int      `yaml:"rate_burst"`
	TrustedCIDRs []string `yaml:"trusted_cidrs"`
	// Realm is the digest realm of 407 challenges (EDGE_SIP_REALM). It must
	// be the realm edge-admin stores trunk HA1s for (the same variable).
	// Default "edge".
	Realm string `yaml:"sip_realm"`
	// PProf serves net/http/pprof under /debug/pprof/ on MetricsAddr
	// (EDGE_PPROF=1). Default false: profiling is for load tests.
	PProf bool `yaml:"pprof"`
	// SpoolDir keeps call records and events while Redis is away, so that
	// they survive a restart of the edge (EDGE_SPOOL_DIR, design section
	// 10). Default "": in memory only (lost with the process, each loss
	// counted and logged).
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds the spool's files (EDGE_SPOOL_MAX_BYTES, bytes).
	// Default 256 MiB.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
	// SpoolMaxEntries bounds the writes the spool holds in memory
	// (EDGE_SPOOL_MAX_ENTRIES). Default 100000.
	SpoolMaxEntries int `yaml:"spool_max_entries"`
	// Operators configures operator legs: the ICE port, its public
	// addresses and the address other nodes forward to (operators.go).
	Operators operatorSettings `yaml:",inline"`
	// Credentials opens outbound-trunk passwords, which edge-admin seals
	// (EDGE_CREDENTIALS_KEY and, during a rotation, EDGE_CREDENTIALS_KEY_OLD:
	// base64 of 32 bytes, environment only). Nil: agent-placed calls and
	// transfers through a trunk with a password fail (trunk_auth).
	Credentials *tenancy.SecretBox `yaml:"-"`
}

func defaultConfig() config {
	d := sip.DefaultConfig()
	return config{
		RedisAddr: "127.0.0.1:6379", SIPAddr: "127.0.0.1:5060", HTTPAddr: "127.0.0.1:8080", MetricsAddr: "127.0.0.1:9090",
		RTPPorts: "10000-20000", NodeID: d.NodeID, LogLevel: "info",
		NoAnswerTimeout: d.NoAnswerTimeout, MediaTimeout: 60 * time.Second, MaxDuration: d.MaxDuration,
		DrainTimeout: 2 * time.Hour, CallLease: d.LeaseTTL, RateLimit: d.RateLimit, RateBurst: d.RateBurst,
		WorkspaceMediaShare: 50,
		MaxSetups:           d.MaxSetups,
		OverloadLatency:     d.OverloadLatency,
		SessionExpires:      int(d.SessionExpires / time.Second),
		Operators:           operatorSettings{ICEPort: media.DefaultICEPort},
		SpoolMaxBytes:       spool.DefaultConfig().MaxBytes,
		SpoolMaxEntries:     spool.DefaultConfig().MaxEntries,
	}
}

// loadConfig builds the configuration from defaults, the YAML file, the
// environment (lookup) and the flags, in increasing precedence.
func loadConfig(args []string, lookup func(string) (string, bool), stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "YAML configuration file")
	flags := map[string]*string{}
	for _, f := range append([]struct{ name, env, help string }{
		{"redis", "EDGE_REDIS_ADDR", "Redis host:port[,host:port...], redis:// or sentinel:// URL"},
		{"sip", "EDGE_SIP_ADDR", "SIP listen address (UDP and TCP)"},
		{"sip-tls", "EDGE_SIP_TLS_ADDR", "SIP over TLS listen address"},
		{"tls-cert", "EDGE_TLS_CERT", "TLS certificate (PEM)"},
		{"tls-key", "EDGE_TLS_KEY", "TLS key (PEM)"},
		{"http", "EDGE_HTTP_ADDR", "public HTTP address: operator API, console, /healthz, /readyz"},
		{"metrics", "EDGE_METRICS_ADDR", "internal HTTP address of /metrics, /readyz detail and pprof"},
		{"rtp-ports", "EDGE_RTP_PORTS", "RTP port range min-max"},
		{"public-ip", "EDGE_PUBLIC_IP", "address written in SDP and Contact"},
		{"service-ip", "EDGE_SERVICE_IP", "address written in SDP towards services (default: public-ip)"},
		{"node-id", "EDGE_NODE_ID", "this node's id"},
		{"log-level", "EDGE_LOG_LEVEL", "debug, info, warn or error"},
		{"trusted-cidrs", "EDGE_TRUSTED_CIDRS", "comma-separated CIDRs exempt from rate limits"},
		{"drop-unknown-sources", "EDGE_DROP_UNKNOWN_SOURCES", "true: drop requests from unknown sources"},
		{"pprof", "EDGE_PPROF", "1: serve /debug/pprof/ on the metrics address"},
		{"session-expires", "EDGE_SESSION_EXPIRES", "RFC 4028 session interval, seconds (at least 90)"},
		{"drain-timeout", "EDGE_DRAIN_TIMEOUT", "how long SIGTERM lets calls in progress finish (default 2h)"},
		{"call-lease", "EDGE_CALL_LEASE", "lease of each call in the call registry, a duration or seconds (default 30s)"},
		{"workspace-media-share", "EDGE_WORKSPACE_MEDIA_SHARE", "percent of this node's media ports one workspace may hold (default 50)"},
		{"max-setups", "EDGE_MAX_SETUPS", "call setups in progress before INVITEs get 503 (default 1024; 0: no bound)"},
		{"overload-latency", "EDGE_OVERLOAD_LATENCY", "p99 Go scheduling latency past which fewer setups are let in (default 5ms; 0: off)"},
		{"sip-realm", "EDGE_SIP_REALM", "digest realm of challenges (the same as edge-admin's)"},
		{"spool-dir", "EDGE_SPOOL_DIR", "directory keeping call records and events while Redis is away (default: memory only)"},
		{"spool-max-bytes", "EDGE_SPOOL_MAX_BYTES", "bound of the spool's files in bytes (default 268435456)"},
		{"spool-max-entries", "EDGE_SPOOL_MAX_ENTRIES", "bound of the spool's writes in memory (default 100000)"},
	}, operatorFlags...) {
		flags[f.env] = fs.String(f.name, "", f.help+" (env "+f.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg := defaultConfig()
	if *file != "" {
		data, err := os.ReadFile(*file)
		if err != nil {
			return config{}, fmt.Errorf("%w: read config: %v", errUsage, err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return config{}, fmt.Errorf("%w: config %s: %v", errUsage, *file, err)
		}
	}
	for env, fl := range flags {
		v, ok := lookup(env)
		if *fl != "" {
			v, ok = *fl, true
		}
		if !ok || v == "" {
			continue
		}
		if err := cfg.set(env, v); err != nil {
			return config{}, fmt.Errorf("%w: %s: %v", errUsage, env, err)
		}
	}
	// Keys come from the environment only, never a flag (ps shows flags).
	key, _ := lookup("EDGE_CREDENTIALS_KEY")
	old, _ := lookup("EDGE_CREDENTIALS_KEY_OLD")
	box, err := tenancy.SecretBoxFromEnv("EDGE_CREDENTIALS_KEY", key, old)
	if err != nil {
		return config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.Credentials = box
	return cfg, cfg.validate()
}

// set applies one environment variable or flag.
func (c *config) set(env, v string) error {
	switch env {
	case "EDGE_REDIS_ADDR":
		c.RedisAddr = v
	case "EDGE_SIP_ADDR":
		c.SIPAddr = v
	case "EDGE_SIP_TLS_ADDR":
		c.SIPTLSAddr = v
	case "EDGE_TLS_CERT":
		c.TLSCert = v
	case "EDGE_TLS_KEY":
		c.TLSKey = v
	case "EDGE_HTTP_ADDR":
		c.HTTPAddr = v
	case "EDGE_METRICS_ADDR":
		c.MetricsAddr = v
	case "EDGE_RTP_PORTS":
		c.RTPPorts = v
	case "EDGE_PUBLIC_IP":
		c.PublicIP = v
	case "EDGE_SERVICE_IP":
		c.ServiceIP = v
	case "EDGE_NODE_ID":
		c.NodeID = v
	case "EDGE_LOG_LEVEL":
		c.LogLevel = v
	case "EDGE_SIP_REALM":
		c.Realm = v
	case "EDGE_TRUSTED_CIDRS":
		c.TrustedCIDRs = strings.Split(v, ",")
	case "EDGE_DROP_UNKNOWN_SOURCES":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		c.DropUnknownSources = b
	case "EDGE_DRAIN_TIMEOUT":
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return errors.New("must be positive")
		}
		c.DrainTimeout = d
	case "EDGE_OVERLOAD_LATENCY":
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d < 0 || d > time.Minute {
			return errors.New("must be 0 to 1m")
		}
		c.OverloadLatency = d
	case "EDGE_CALL_LEASE":
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
		if err != nil {
			return err
		}
		c.CallLease = d
	case "EDGE_WORKSPACE_MEDIA_SHARE":
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if n < 1 || n > 100 {
			return errors.New("must be a percentage from 1 to 100")
		}
		c.WorkspaceMediaShare = n
	case "EDGE_MAX_SETUPS":
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if n < 0 || n > 1_000_000 {
			return errors.New("must be 0 to 1000000")
		}
		c.MaxSetups = n
	case "EDGE_SESSION_EXPIRES":
		n, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		if n < 90 {
			return errors.New("must be at least 90 seconds (RFC 4028 Min-SE)")
		}
		c.SessionExpires = n
	case "EDGE_SPOOL_DIR":
		c.SpoolDir = v
	case "EDGE_SPOOL_MAX_BYTES", "EDGE_SPOOL_MAX_ENTRIES":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		if n < 1 {
			return errors.New("must be positive")
		}
		if env == "EDGE_SPOOL_MAX_BYTES" {
			c.SpoolMaxBytes = n
		} else {
			c.SpoolMaxEntries = int(n)
		}
	case "EDGE_PPROF":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		c.PProf = b
	default:
		if _, err := c.Operators.set(env, v); err != nil {
			return err
		}
	}
	return nil
}

// validate checks the fields cmd/edge interprets itself; sip.Config and
// media check the rest.
func (c *config) validate() error {
	bad := func(field string, err error) error { return fmt.Errorf("%w: %s: %v", errUsage, field, err) }
	if _, _, err := net.SplitHostPort(c.SIPAddr); err != nil {
		return bad("sip_addr", err)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return bad("http_addr", err)
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		return bad("metrics_addr", err)
	}
	if c.MetricsAddr == c.HTTPAddr {
		return bad("metrics_addr", errors.New("must not be the public HTTP address"))
	}
	if _, _, err := media.ParsePortRange(c.RTPPorts); err != nil {
		return bad("rtp_ports", err)
	}
	if c.CallLease < 2*time.Second || c.CallLease > time.Hour {
		return bad("call_lease", errors.New("must be from 2s to 1h"))
	}
	if _, err := redisaddr.Parse(c.RedisAddr); err != nil {
		return bad("redis_addr", err)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return bad("tls_cert", errors.New("tls_cert and tls_key go together"))
	}
	if _, err := c.publicIP(); err != nil {
		return bad("public_ip", err)
	}
	if _, err := c.webrtcConfig(); err != nil {
		return err
	}
	if _, err := c.advertiseAddr(); err != nil {
		return err
	}
	return nil
}

// publicIP is PublicIP, or the SIP listen host when it is an address.
func (c *config) publicIP() (netip.Addr, error) {
	if c.PublicIP != "" {
		return netip.ParseAddr(c.PublicIP)
	}
	host, _, _ := net.SplitHostPort(c.SIPAddr)
	if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
		return a, nil
	}
	return netip.MustParseAddr("127.0.0.1"), nil
}

// callsPerWorkspace is a workspace's share of this node's media ports, in
// calls: each call holds two legs of an RTP/RTCP port pair, four ports.
// 0 (no share) when the share is 100%.
func (c *config) callsPerWorkspace() int {
	if c.WorkspaceMediaShare <= 0 || c.WorkspaceMediaShare >= 100 {
		return 0
	}
	lo, hi, err := media.ParsePortRange(c.RTPPorts)
	if err != nil {
		return 0
	}
	return max(1, (hi-lo+1)/4*c.WorkspaceMediaShare/100)
}

// sipConfig maps the configuration onto sip.Config.
func (c *config) sipConfig() (sip.Config, error) {
	s := sip.DefaultConfig()
	s.NodeID = c.NodeID
	s.PublicIP, _ = c.publicIP()
	if c.ServiceIP != "" {
		ip, err := netip.ParseAddr(c.ServiceIP)
		if err != nil {
			return s, fmt.Errorf("%w: service_ip: %v", errUsage, err)
		}
		s.ServiceIP = ip
	}
	s.NoAnswerTimeout, s.MaxDuration, s.DrainTimeout = c.NoAnswerTimeout, c.MaxDuration, c.DrainTimeout
	s.MediaTimeout = c.MediaTimeout
	// A short lease (tests) reads the control stream in shorter waits.
	s.LeaseTTL, s.ControlWait = c.CallLease, min(s.ControlWait, c.CallLease/2)
	s.SessionExpires = time.Duration(c.SessionExpires) * time.Second
	s.MaxSetups, s.OverloadLatency = c.MaxSetups, c.OverloadLatency
	s.MaxCallsPerWorkspace = c.callsPerWorkspace()
	s.DropUnknownSources, s.RateLimit, s.RateBurst = c.DropUnknownSources, c.RateLimit, c.RateBurst
	if c.Realm != "" {
		s.Realm = c.Realm
	}
	for _, cidr := range c.TrustedCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		if err != nil {
			return s, fmt.Errorf("%w: trusted_cidrs: %v", errUsage, err)
		}
		s.TrustedCIDRs = append(s.TrustedCIDRs, p)
	}
	return s, s.Validate()
}

// spoolConfig is the spool's part of the configuration.
func (c *config) spoolConfig() spool.Config {
	return spool.Config{Dir: c.SpoolDir, MaxBytes: c.SpoolMaxBytes, MaxEntries: c.SpoolMaxEntries}
}
