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
	// ByeTimeout bounds each BYE the edge sends; sipgo's client
	// transaction retransmits it over UDP meanwhile (RFC 3261 section
	// 17.1.2.2). Default 64*T1 (Timer F, 32s).
	ByeTimeout time.Duration
	// MediaTimeout ends an answered call when either leg has sent no RTP
	// for this long while the call is not on hold (end reason
	// media_timeout_trunk or media_timeout_service). Zero disables it.
	// Default 30s.
	MediaTimeout time.Duration
	// T1 is the round-trip estimate of RFC 3261 section 17.1.1.1 for the
	// retransmissions and timeouts the edge's own dialog code runs: its
	// 2xx to an INVITE until the ACK (given up after 64*T1, end reason
	// no_ack), reliable provisional responses until their PRACK (RFC 3262
	// section 3). sipgo's transactions keep their own (sip.T1). Tests
	// lower it. Default 500ms.
	T1 time.Duration
	// SessionExpires is the session interval the edge asks for and uses
	// when a peer names none (RFC 4028, EDGE_SESSION_EXPIRES). Default
	// 1800s; at least MinSE.
	SessionExpires time.Duration
	// MinSE is the shortest session interval the edge accepts (RFC 4028
	// section 5: a smaller Session-Expires is refused 422 with this
	// Min-SE). Default and floor 90s; only the package's tests may go
	// lower (see shortTimers), to run a refresh in seconds.
	MinSE time.Duration
	// shortTimers lets MinSE go below 90s. Unexported: tests of package
	// sip set it (one refresh at the 90s minimum takes 45s); nothing
	// outside the package can.
	shortTimers bool

	// OperatorWait bounds how long a caller waits on hold audio for an
	// operator after a REFER to the operators (takeover.go): then the
	// agent, if still on the call, has the caller back; if gone, the call
	// ends (no_operator). Default 2m.
	OperatorWait time.Duration
	// ReinviteTimeout bounds an offer the edge forwards to the other leg
	// (re-INVITE or UPDATE, RFC 3261 section 14) and the refreshes it
	// sends. Default 64*T1 (32s).
	ReinviteTimeout time.Duration

	// LeaseTTL is the lease of each call in the call registry; the edge
	// renews it every LeaseTTL/3. Default 30s.
	LeaseTTL time.Duration
	// ControlWait is how long one read of the control stream (and of the
	// dial stream) blocks. A stopping server waits for its last read to
	// return (a blocked Redis read ignores its context), so this bounds
	// how long a drained edge takes to exit. Default 1s.
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

	// MaxCallsPerWorkspace is each workspace's share of this node's media
	// ports, in calls (media_share.go); over it a workspace's next call
	// gets 486. 0: no share. cmd/edge sets it from EDGE_RTP_PORTS and
	// EDGE_WORKSPACE_MEDIA_SHARE.
	MaxCallsPerWorkspace int

	// Streams: SIP over TCP and TLS (transport_streams_limits.go).
	// MaxStreamConns bounds the connections open at once, in all, and
	// MaxStreamConnsPerSource from one address; beyond, a new connection
	// is closed at once. Defaults 4096 and 32.
	MaxStreamConns          int
	MaxStreamConnsPerSource int
	// StreamIdleTimeout closes a connection from a source in no trunk after
	// that long without a message (RFC 5626 CRLF keepalives count);
	// CarrierStreamIdleTimeout is the same for carriers' connections, which
	// carry long calls with few messages. Defaults 60s and 15m.
	StreamIdleTimeout        time.Duration
	CarrierStreamIdleTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake (the first read of a TLS
	// connection). Default 10s.
	TLSHandshakeTimeout time.Duration

	// Realm is the digest realm of 407 challenges. Default "edge".
	Realm string
	// NonceTTL is how long a digest nonce is accepted. Default 5m.
	NonceTTL time.Duration

	// DrainTimeout bounds Drain when its context has no deadline.
	// Default 5m.
	DrainTimeout time.Duration
	// MaxSetups bounds the call setups the edge works on at once
	// (overload.go); the next INVITE gets 503 with Retry-After, and one
	// workspace holds at most half. 0: unbounded. Default 1024: above
	// the setups a Redis stall of a few seconds holds at 100 calls/s per
	// workspace (they then go on from memory, admit_local.go).
	MaxSetups int
	// OverloadLatency is the p99 of the Go scheduler's latency over 100 ms
	// past which the CPU counts as saturated and the bound in force drops
	// below MaxSetups (overload_cpu.go). 0: the bound stays MaxSetups.
	// Default 5ms (tens of microseconds to a few ms while the CPU keeps up).
	OverloadLatency time.Duration
}

// DefaultConfig returns the defaults, the one place they are set.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "edge"
	}
	return Config{
		NodeID:                   host,
		NoAnswerTimeout:          30 * time.Second,
		MaxDuration:              4 * time.Hour,
		ByeTimeout:               32 * time.Second,
		MediaTimeout:             30 * time.Second,
		T1:                       500 * time.Millisecond,
		ReinviteTimeout:          32 * time.Second,
		OperatorWait:             2 * time.Minute,
		SessionExpires:           1800 * time.Second,
		MinSE:                    90 * time.Second,
		LeaseTTL:                 30 * time.Second,
		ControlWait:              time.Second,
		StoreTimeout:             3 * time.Second,
		RateLimit:                50,
		RateBurst:                100,
		MaxStreamConns:           4096,
		MaxStreamConnsPerSource:  32,
		StreamIdleTimeout:        60 * time.Second,
		CarrierStreamIdleTimeout: 15 * time.Minute,
		TLSHandshakeTimeout:      10 * time.Second,
		Realm:                    "edge",
		NonceTTL:                 5 * time.Minute,
		DrainTimeout:             5 * time.Minute,
		MaxSetups:                1024,
		OverloadLatency:          5 * time.Millisecond,
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
	case c.MediaTimeout < 0:
		return bad("MediaTimeout", "must not be negative")
	case c.T1 <= 0 || c.T1 > 10*time.Second:
		return bad("T1", "must be positive and at most 10s")
	case c.ReinviteTimeout <= 0:
		return bad("ReinviteTimeout", "must be positive")
	case c.OperatorWait <= 0:
		return bad("OperatorWait", "must be positive")
	case c.MinSE < time.Second || (!c.shortTimers && c.MinSE < 90*time.Second):
		return bad("MinSE", "must be at least 90s (RFC 4028 section 4)")
	case c.SessionExpires < c.MinSE || c.SessionExpires%time.Second != 0 || c.MinSE%time.Second != 0:
		return bad("SessionExpires", "must be whole seconds, at least MinSE")
	case c.LeaseTTL < time.Second:
		return bad("LeaseTTL", "must be at least 1s")
	case c.ControlWait <= 0 || c.ControlWait >= c.LeaseTTL:
		return bad("ControlWait", "must be positive and below LeaseTTL")
	case c.StoreTimeout <= 0:
		return bad("StoreTimeout", "must be positive")
	case c.RateLimit < 0 || (c.RateLimit > 0 && c.RateBurst < 1):
		return bad("RateLimit", "must be >= 0, with RateBurst >= 1 when set")
	case c.MaxCallsPerWorkspace < 0:
		return bad("MaxCallsPerWorkspace", "must not be negative")
	case c.MaxStreamConns < 1 || c.MaxStreamConnsPerSource < 1:
		return bad("MaxStreamConns", "and MaxStreamConnsPerSource must be at least 1")
	case c.StreamIdleTimeout <= 0 || c.CarrierStreamIdleTimeout <= 0 || c.TLSHandshakeTimeout <= 0:
		return bad("StreamIdleTimeout", "CarrierStreamIdleTimeout and TLSHandshakeTimeout must be positive")
	case c.Realm == "" || len(c.Realm) > 64:
		return bad("Realm", "must be 1-64 characters")
	case c.NonceTTL < time.Second:
		return bad("NonceTTL", "must be at least 1s")
	case c.MaxSetups < 0:
		return bad("MaxSetups", "must not be negative")
	case c.OverloadLatency < 0 || c.OverloadLatency > time.Minute:
		return bad("OverloadLatency", "must be 0-1m")
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
