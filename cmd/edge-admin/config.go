package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/voiceedge/edge/admin"
	"github.com/voiceedge/edge/admin/client"
	"github.com/voiceedge/edge/internal/redisaddr"
	"github.com/voiceedge/edge/tenancy"
)

// Environment variables of "edge-admin serve" (design section 9).
const (
	envAddr           = "EDGE_ADMIN_ADDR"
	envBootstrapToken = "EDGE_ADMIN_BOOTSTRAP_TOKEN"
	envRedisAddr      = "EDGE_REDIS_ADDR"
	envLogLevel       = "EDGE_ADMIN_LOG_LEVEL"
	envTrustedProxies = "EDGE_ADMIN_TRUSTED_PROXIES"
	envSecretKey      = "EDGE_ADMIN_SECRET_KEY"
	envSecretKeyOld   = "EDGE_ADMIN_SECRET_KEY_OLD"
	envCredentialsKey = "EDGE_CREDENTIALS_KEY"
	envRealm          = "EDGE_SIP_REALM"
	envAllowWide      = "EDGE_ADMIN_ALLOW_WIDE_CIDRS"
	envAllowOverlap   = "EDGE_ADMIN_ALLOW_OVERLAPPING_CIDRS"
	envAssignNumbers  = "EDGE_ADMIN_PLATFORM_ASSIGNS_NUMBERS"
)

// serveConfig is the configuration of "edge-admin serve": flags >
// environment > YAML file (-config) > defaults.
type serveConfig struct {
	// Addr is the API's listen address. Default 127.0.0.1:8081.
	Addr string `yaml:"addr"`
	// RedisAddr is host:port (several, comma-separated, for a cluster), a
	// redis:// or rediss:// URL or a sentinel:// URL (internal/redisaddr).
	// Default 127.0.0.1:6379.
	RedisAddr string `yaml:"redis_addr"`
	// BootstrapToken is the platform token; prefer the environment to the
	// file. Required, at least 16 characters.
	BootstrapToken string `yaml:"bootstrap_token"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// RateLimits are the API's request limits (zero: the admin defaults).
	RateLimits struct {
		KeyRate       float64 `yaml:"key_rate"`
		KeyBurst      int     `yaml:"key_burst"`
		IPRate        float64 `yaml:"ip_rate"`
		IPBurst       int     `yaml:"ip_burst"`
		AuthFailRate  float64 `yaml:"auth_fail_rate"`
		AuthFailBurst int     `yaml:"auth_fail_burst"`
		// WriteRate and WriteBurst bound configuration writes per
		// workspace (defaults 10/s, 200).
		WriteRate  float64 `yaml:"write_rate"`
		WriteBurst int     `yaml:"write_burst"`
	} `yaml:"rate_limits"`
	// Quotas bound each workspace's configuration (zero: the defaults of
	// tenancy.Quotas; negative: unlimited).
	Quotas struct {
		Services          int `yaml:"services"`
		Numbers           int `yaml:"phone_numbers"`
		Trunks            int `yaml:"trunks"`
		SafetyPolicies    int `yaml:"safety_policies"`
		DataSources       int `yaml:"data_sources"`
		Accounts          int `yaml:"accounts"`
		KeysPerAccount    int `yaml:"api_keys_per_account"`
		KeysPerWorkspace  int `yaml:"api_keys_per_workspace"`
		ContextGraphBytes int `yaml:"context_graph_bytes"`
		AgentConfigBytes  int `yaml:"agent_config_bytes"`
	} `yaml:"quotas"`
	// DefaultLimits are a new workspace's limits when its creation names
	// none: 100 concurrent calls and 20 calls per second unless set; 0 is
	// unlimited.
	DefaultLimits struct {
		MaxConcurrentCalls *int `yaml:"max_concurrent_calls"`
		MaxCPS             *int `yaml:"max_cps"`
	} `yaml:"default_limits"`
	// TrunkCIDRs is the platform's rule on trunk CIDRs: the widest
	// prefixes accepted (defaults /16 and /48) unless AllowWide
	// (EDGE_ADMIN_ALLOW_WIDE_CIDRS), and no overlap between workspaces
	// unless AllowOverlap (EDGE_ADMIN_ALLOW_OVERLAPPING_CIDRS).
	TrunkCIDRs struct {
		MinPrefixV4  int  `yaml:"min_prefix_v4"`
		MinPrefixV6  int  `yaml:"min_prefix_v6"`
		AllowWide    bool `yaml:"allow_wide"`
		AllowOverlap bool `yaml:"allow_overlap"`
	} `yaml:"trunk_cidrs"`
	// PlatformAssignsNumbers: only the platform token adds phone numbers
	// (EDGE_ADMIN_PLATFORM_ASSIGNS_NUMBERS). Default false.
	PlatformAssignsNumbers bool `yaml:"platform_assigns_numbers"`
	// Realm is the SIP digest realm trunk HA1s are stored for
	// (EDGE_SIP_REALM, the edges' too). Default "edge".
	Realm string `yaml:"sip_realm"`
	// SecretKey and SecretKeyOld are the data-source credential keys
	// (EDGE_ADMIN_SECRET_KEY, EDGE_ADMIN_SECRET_KEY_OLD: base64 of 32
	// bytes). Environment only: they are never read from the file.
	SecretKey    string `yaml:"-"`
	SecretKeyOld string `yaml:"-"`
	// CredentialsKey and CredentialsKeyOld seal outbound-trunk passwords
	// (EDGE_CREDENTIALS_KEY, EDGE_CREDENTIALS_KEY_OLD: base64 of 32 bytes),
	// the edges' key too. Environment only.
	CredentialsKey    string `yaml:"-"`
	CredentialsKeyOld string `yaml:"-"`
	// TrustedProxies are CIDRs of the proxies whose Forwarded /
	// X-Forwarded-For name the client address for the per-address limits
	// (comma-separated in the environment). Default none.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MaxEventStreams bounds live event streams. Default 32.
	MaxEventStreams int `yaml:"max_event_streams"`
	// ShutdownTimeout bounds the graceful shutdown. Default 10s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// defaultServeConfig holds the defaults, in one place.
func defaultServeConfig() serveConfig {
	return serveConfig{Addr: "127.0.0.1:8081", RedisAddr: "127.0.0.1:6379", LogLevel: "info"}
}

// loadServeConfig builds the configuration from the defaults, the YAML
// file named by -config, the environment and the flags, in that order of
// increasing precedence.
func loadServeConfig(args []string, lookup client.LookupEnv, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("edge-admin serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML configuration file (see configs/edge-admin.yaml)")
	addr := fs.String("addr", "", "listen address (env "+envAddr+", default 127.0.0.1:8081)")
	redisAddr := fs.String("redis", "", "Redis host:port[,host:port...], redis:// or sentinel:// URL (env "+envRedisAddr+")")
	token := fs.String("bootstrap-token", "", "platform token (env "+envBootstrapToken+"; prefer the environment)")
	level := fs.String("log-level", "", "debug, info, warn or error (env "+envLogLevel+")")
	proxies := fs.String("trusted-proxies", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is trusted (env "+envTrustedProxies+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return serveConfig{}, err
		}
		return serveConfig{}, fmt.Errorf("%w: %v", client.ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("%w: serve: unexpected argument %q", client.ErrUsage, fs.Arg(0))
	}
	cfg := defaultServeConfig()
	if *configFile != "" {
		if err := readConfigFile(*configFile, &cfg); err != nil {
			return serveConfig{}, err
		}
	}
	for _, o := range []struct {
		to   *string
		env  string
		flag string
	}{
		{&cfg.Addr, envAddr, *addr},
		{&cfg.RedisAddr, envRedisAddr, *redisAddr},
		{&cfg.BootstrapToken, envBootstrapToken, *token},
		{&cfg.LogLevel, envLogLevel, *level},
		{&cfg.Realm, envRealm, ""},
		{&cfg.SecretKey, envSecretKey, ""},
		{&cfg.SecretKeyOld, envSecretKeyOld, ""},
		{&cfg.CredentialsKey, envCredentialsKey, ""},
		{&cfg.CredentialsKeyOld, envCredentialsKey + "_OLD", ""},
	} {
		if v, ok := lookup(o.env); ok && v != "" {
			*o.to = v
		}
		if o.flag != "" {
			*o.to = o.flag
		}
	}
	if v, ok := lookup(envTrustedProxies); ok && v != "" {
		cfg.TrustedProxies = splitList(v)
	}
	if *proxies != "" {
		cfg.TrustedProxies = splitList(*proxies)
	}
	for env, to := range map[string]*bool{envAllowWide: &cfg.TrunkCIDRs.AllowWide, envAllowOverlap: &cfg.TrunkCIDRs.AllowOverlap, envAssignNumbers: &cfg.PlatformAssignsNumbers} {
		if v, ok := lookup(env); ok && v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return serveConfig{}, fmt.Errorf("config: %s: %v", env, err)
			}
			*to = b
		}
	}
	return cfg, cfg.Validate()
}

// readConfigFile overlays the YAML file at path on cfg; unknown keys are
// errors.
func readConfigFile(path string, cfg *serveConfig) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Validate reports the first unusable field.
func (c serveConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("config: addr %q: %w", c.Addr, err)
	}
	if _, err := redisaddr.Parse(c.RedisAddr); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := logLevel(c.LogLevel); err != nil {
		return err
	}
	if c.ShutdownTimeout < 0 || c.MaxEventStreams < 0 {
		return errors.New("config: shutdown_timeout and max_event_streams must not be negative")
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	p, err := c.policy()
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return c.adminConfig().Validate()
}

// trustedProxies parses TrustedProxies.
func (c serveConfig) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("config: trusted_proxies %q: want a CIDR or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// adminConfig is the admin server's part of the configuration.
func (c serveConfig) adminConfig() admin.Config {
	rl := c.RateLimits
	proxies, _ := c.trustedProxies() // checked by Validate
	limits := tenancy.Limits{MaxConcurrentCalls: 100, MaxCPS: 20}
	if v := c.DefaultLimits.MaxConcurrentCalls; v != nil {
		limits.MaxConcurrentCalls = *v
	}
	if v := c.DefaultLimits.MaxCPS; v != nil {
		limits.MaxCPS = *v
	}
	return admin.Config{
		DefaultLimits:  limits,
		TrustedProxies: proxies,
		BootstrapToken: c.BootstrapToken,
		KeyRate:        rl.KeyRate, KeyBurst: rl.KeyBurst,
		IPRate: rl.IPRate, IPBurst: rl.IPBurst,
		AuthFailRate: rl.AuthFailRate, AuthFailBurst: rl.AuthFailBurst,
		WriteRate: rl.WriteRate, WriteBurst: rl.WriteBurst,
		MaxStreams:      c.MaxEventStreams,
		ShutdownTimeout: c.ShutdownTimeout,
	}
}

// policy is the platform policy the store enforces.
func (c serveConfig) policy() (tenancy.Policy, error) {
	q := c.Quotas
	p := tenancy.Policy{
		Quotas: tenancy.Quotas{
			Services: q.Services, Numbers: q.Numbers, Trunks: q.Trunks, SafetyPolicies: q.SafetyPolicies,
			DataSources: q.DataSources, Accounts: q.Accounts, KeysPerAccount: q.KeysPerAccount,
			KeysPerWorkspace: q.KeysPerWorkspace, ContextGraphBytes: q.ContextGraphBytes, AgentConfigBytes: q.AgentConfigBytes,
		},
		MinPrefixV4: c.TrunkCIDRs.MinPrefixV4, MinPrefixV6: c.TrunkCIDRs.MinPrefixV6,
		AllowWideCIDRs: c.TrunkCIDRs.AllowWide, AllowOverlappingCIDRs: c.TrunkCIDRs.AllowOverlap,
		Realm: c.Realm, PlatformAssignsNumbers: c.PlatformAssignsNumbers,
	}
	var err error
	if p.Secrets, err = tenancy.SecretBoxFromEnv(envSecretKey, c.SecretKey, c.SecretKeyOld); err != nil {
		return p, fmt.Errorf("config: %w", err)
	}
	if p.Credentials, err = tenancy.SecretBoxFromEnv(envCredentialsKey, c.CredentialsKey, c.CredentialsKeyOld); err != nil {
		return p, fmt.Errorf("config: %w", err)
	}
	return p, nil
}

// logLevel parses a log level name.
func logLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("config: log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
