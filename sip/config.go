package sip

import (
	"fmt"
	"net/netip"
	"os"
	"time"
)

// Config tunes a Server. DefaultConfig sets every default; Validate checks it.
type Config struct {
	// NodeID names this edge node in call records and control requests
	// (EDGE_NODE_ID). Default: the host name.
	NodeID string
	// PublicIP is the address written into SDP and Contact headers, as
	// trunks and services reach this edge (EDGE_PUBLIC_IP). Required.
	PublicIP netip.Addr
	// ServiceIP is the address written into SDP and From towards services,
	// for an edge with a separate inside network (EDGE_SERVICE_IP).
	// Default: PublicIP.
	ServiceIP netip.Addr

	// NoAnswerTimeout bounds the time from the trunk's INVITE to the
	// service's answer; then the trunk gets 480. Default 30s.
	NoAnswerTimeout time.Duration
	// MaxDuration bounds an answered call; then both legs get BYE.
	// Default 4h.
	MaxDuration time.Duration
	// ByeTimeout bounds each BYE the edge sends. Default 5s.
	ByeTimeout time.Duration

	// LeaseTTL is the lease of each call in the call registry; the edge
	// renews it every LeaseTTL/3. Default 30s.
	LeaseTTL time.Duration
	// ControlWait is how long one read of the control stream blocks.
	// Default 5s.
	ControlWait time.Duration
	// StoreTimeout bounds each call-state write to Redis. Default 3s.
	StoreTimeout time.Duration

	// DropUnknownSources drops requests from addresses in no trunk of any
	// workspace without an answer instead of answering 403. Default false.
	DropUnknownSources bool
	// RateLimit is the sustained number of requests per second accepted
	// from one source IP; RateBurst the bucket size. Over it, requests are
	// dropped. Zero RateLimit disables the limit. Defaults 50/s, burst 100.
	RateLimit float64
	RateBurst int
	// TrustedCIDRs are exempt from the per-source rate limit (load tests).
	TrustedCIDRs []netip.Prefix

	// Realm is the digest realm of 407 challenges. Default "edge".
	Realm string
	// NonceTTL is how long a digest nonce is accepted. Default 5m.
	NonceTTL time.Duration

	// DrainTimeout bounds Drain when its context has no deadline.
	// Default 5m.
	DrainTimeout time.Duration
}

// DefaultConfig returns the defaults, the one place they are set.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "edge"
	}
	return Config{
		NodeID:          host,
		NoAnswerTimeout: 30 * time.Second,
		MaxDuration:     4 * time.Hour,
		ByeTimeout:      5 * time.Second,
		LeaseTTL:        30 * time.Second,
		ControlWait:     5 * time.Second,
		StoreTimeout:    3 * time.Second,
		RateLimit:       50,
		RateBurst:       100,
		Realm:           "edge",
		NonceTTL:        5 * time.Minute,
		DrainTimeout:    5 * time.Minute,
	}
}

// Validate reports whether c can be used, naming the field at fault.
func (c Config) Validate() error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why) }
	switch {
	case c.NodeID == "" || len(c.NodeID) > 128:
		return bad("NodeID", "must be 1-128 characters")
	case !c.PublicIP.IsValid() || c.PublicIP.IsUnspecified() || c.PublicIP.IsMulticast():
		return bad("PublicIP", "must be a unicast IP address")
	case c.ServiceIP.IsValid() && (c.ServiceIP.IsUnspecified() || c.ServiceIP.IsMulticast()):
		return bad("ServiceIP", "must be a unicast IP address")
	case c.NoAnswerTimeout <= 0:
		return bad("NoAnswerTimeout", "must be positive")
	case c.MaxDuration <= 0:
		return bad("MaxDuration", "must be positive")
	case c.ByeTimeout <= 0:
		return bad("ByeTimeout", "must be positive")
	case c.LeaseTTL < time.Second:
		return bad("LeaseTTL", "must be at least 1s")
	case c.ControlWait <= 0 || c.ControlWait >= c.LeaseTTL:
		return bad("ControlWait", "must be positive and below LeaseTTL")
	case c.StoreTimeout <= 0:
		return bad("StoreTimeout", "must be positive")
	case c.RateLimit < 0 || (c.RateLimit > 0 && c.RateBurst < 1):
		return bad("RateLimit", "must be >= 0, with RateBurst >= 1 when set")
	case c.Realm == "" || len(c.Realm) > 64:
		return bad("Realm", "must be 1-64 characters")
	case c.NonceTTL < time.Second:
		return bad("NonceTTL", "must be at least 1s")
	case c.DrainTimeout <= 0:
		return bad("DrainTimeout", "must be positive")
	}
	for _, p := range c.TrustedCIDRs {
		if !p.IsValid() {
			return bad("TrustedCIDRs", "holds an invalid prefix")
		}
	}
	return nil
}
