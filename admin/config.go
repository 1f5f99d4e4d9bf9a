package admin

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/voiceedge/edge/tenancy"
)

// Config configures the admin API server. Zero fields take the defaults
// listed on each field (applied by New through withDefaults); Validate checks
// the result.
type Config struct {
	// BootstrapToken is the platform token (EDGE_ADMIN_BOOTSTRAP_TOKEN): it
	// creates workspaces and alone sets their limits. Required, at least 16
	// characters.
	BootstrapToken string

	// KeyRate is the sustained requests per second allowed to one API key
	// (or the platform token). Default 20; negative disables the limit.
	KeyRate float64
	// KeyBurst is the bucket size of KeyRate. Default 40.
	KeyBurst int
	// IPRate is the sustained unauthenticated requests per second allowed
	// from one source address (see TrustedProxies); requests with a valid
	// key are limited per key only. Default 50; negative disables the limit.
	IPRate float64
	// IPBurst is the bucket size of IPRate. Default 100.
	IPBurst int
	// AuthFailRate is the sustained failed authentications per second
	// allowed from one source address before it gets 429. Default 0.2 (12
	// a minute); negative disables the limit.
	AuthFailRate float64
	// AuthFailBurst is the bucket size of AuthFailRate. Default 10.
	AuthFailBurst int
	// HangupRate is the sustained hangup requests per second allowed per
	// workspace (they go through the holding node's control stream, which
	// every tenant on that node shares). Default 5; negative disables.
	HangupRate float64
	// HangupBurst is the bucket size of HangupRate. Default 50.
	HangupBurst int
	// WriteRate is the sustained configuration writes (POST, PUT, PATCH,
	// DELETE of configuration, accounts, settings and keys) per second
	// allowed to the keys of one workspace together; over it 429
	// rate_limited with Retry-After. The platform token, hangups and domain
	// events are not counted. Default 10; negative disables.
	WriteRate float64
	// WriteBurst is the bucket size of WriteRate (an apply of a whole
	// workspace file fits in it). Default 200.
	WriteBurst int
	// DefaultLimits are the limits a new workspace gets when its creation
	// names none (design section 4: the platform's quota; issue 10: no
	// tenant starts unlimited). Zero fields: unlimited. edge-admin serve
	// defaults them to 100 concurrent calls and 20 calls per second.
	DefaultLimits tenancy.Limits
	// TrustedProxies are the peers (ingresses, load balancers) whose
	// Forwarded / X-Forwarded-For headers name the client address counted
	// by IPRate and AuthFailRate. Default none: the TCP peer counts.
	TrustedProxies []netip.Prefix

	// StreamKeepalive is how often an idle event stream (SSE) sends a
	// comment line, so proxies keep it open. Default 15s.
	StreamKeepalive time.Duration
	// StreamWait is how long one blocking read of an event stream waits in
	// Redis; it bounds how soon a gone client is noticed. Default 1s.
	StreamWait time.Duration
	// StreamReauth is how often a live event stream re-checks its key, so
	// revoking it ends the stream. Default 5s.
	StreamReauth time.Duration
	// MaxStreams bounds the live event streams open at once (each holds a
	// Redis connection while it waits; size the Redis pool above it).
	// Default 32.
	MaxStreams int
	// MaxStreamsPerWorkspace and MaxStreamsPerKey bound them per workspace
	// and per key, so that one tenant's streams never take every slot.
	// Defaults 8 and 4.
	MaxStreamsPerWorkspace int
	MaxStreamsPerKey       int

	// ProjectionInterval is how often Serve's follower applies the events
	// edges appended to every workspace's projections. Default 1s;
	// negative disables the follower (the API still projects on its own
	// writes and reads).
	ProjectionInterval time.Duration
	// RetentionInterval is how often the follower trims workspaces' events
	// to their settings.event_retention_days. Default 1h.
	RetentionInterval time.Duration

	// DefaultPageSize is the page size of lists without ?limit. Default 100.
	DefaultPageSize int
	// MaxPageSize is the largest ?limit accepted. Default 1000.
	MaxPageSize int

	// ReadHeaderTimeout bounds reading a request's headers. Default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration
	// IdleTimeout bounds an idle keep-alive connection. Default 2m.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown of Serve. Default 10s.
	ShutdownTimeout time.Duration
	// ReadyTimeout bounds the Redis ping of /readyz. Default 2s.
	ReadyTimeout time.Duration
}

// maxBodyBytes is the largest request body accepted (design section 6).
const maxBodyBytes = 1 << 20

// withDefaults returns c with every zero field set to its default: the one
// place defaults live.
func (c Config) withDefaults() Config {
	setF := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	setI := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	setF(&c.KeyRate, 20)
	setI(&c.KeyBurst, 40)
	setF(&c.IPRate, 50)
	setI(&c.IPBurst, 100)
	setF(&c.AuthFailRate, 0.2)
	setI(&c.AuthFailBurst, 10)
	setF(&c.HangupRate, 5)
	setI(&c.HangupBurst, 50)
	setF(&c.WriteRate, 10)
	setI(&c.WriteBurst, 200)
	setD(&c.StreamKeepalive, 15*time.Second)
	setD(&c.StreamWait, time.Second)
	setD(&c.StreamReauth, 5*time.Second)
	setI(&c.MaxStreams, 32)
	setI(&c.MaxStreamsPerWorkspace, 8)
	setI(&c.MaxStreamsPerKey, 4)
	setD(&c.ProjectionInterval, time.Second)
	setD(&c.RetentionInterval, time.Hour)
	setI(&c.DefaultPageSize, 100)
	setI(&c.MaxPageSize, 1000)
	setD(&c.ReadHeaderTimeout, 5*time.Second)
	setD(&c.ReadTimeout, 30*time.Second)
	setD(&c.IdleTimeout, 2*time.Minute)
	setD(&c.ShutdownTimeout, 10*time.Second)
	setD(&c.ReadyTimeout, 2*time.Second)
	return c
}

// Validate reports the first field of c (after defaults) that is unusable.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.BootstrapToken) < 16 {
		return errors.New("admin config: BootstrapToken (EDGE_ADMIN_BOOTSTRAP_TOKEN) must be at least 16 characters")
	}
	for name, v := range map[string]int{"KeyBurst": c.KeyBurst, "IPBurst": c.IPBurst, "AuthFailBurst": c.AuthFailBurst, "HangupBurst": c.HangupBurst, "WriteBurst": c.WriteBurst, "MaxStreams": c.MaxStreams, "MaxStreamsPerWorkspace": c.MaxStreamsPerWorkspace, "MaxStreamsPerKey": c.MaxStreamsPerKey, "DefaultPageSize": c.DefaultPageSize, "MaxPageSize": c.MaxPageSize} {
		if v < 0 {
			return fmt.Errorf("admin config: %s must not be negative", name)
		}
	}
	if c.DefaultPageSize > c.MaxPageSize {
		return fmt.Errorf("admin config: DefaultPageSize %d is above MaxPageSize %d", c.DefaultPageSize, c.MaxPageSize)
	}
	for name, v := range map[string]time.Duration{"StreamKeepalive": c.StreamKeepalive, "StreamWait": c.StreamWait, "StreamReauth": c.StreamReauth, "RetentionInterval": c.RetentionInterval, "ReadHeaderTimeout": c.ReadHeaderTimeout, "ReadTimeout": c.ReadTimeout, "IdleTimeout": c.IdleTimeout, "ShutdownTimeout": c.ShutdownTimeout, "ReadyTimeout": c.ReadyTimeout} {
		if v < 0 {
			return fmt.Errorf("admin config: %s must not be negative", name)
		}
	}
	return nil
}
