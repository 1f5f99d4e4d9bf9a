package operators

import (
	"fmt"
	"time"
)

// Config tunes a Handler. DefaultConfig sets every default; Validate checks
// it.
type Config struct {
	// NodeID is this edge node's id, the one the SIP server writes into
	// call records (sip.Config.NodeID, EDGE_NODE_ID). Required.
	NodeID string
	// AdvertiseAddr is the "host:port" other edge nodes reach this node's
	// HTTP server at, registered in Redis so that a join of a call of this
	// node arriving elsewhere is forwarded here (EDGE_HTTP_ADVERTISE_ADDR,
	// default EDGE_HTTP_ADDR). Empty: not registered (a single node).
	AdvertiseAddr string
	// NodeTTL is the lease of the node's registration; it is renewed every
	// NodeTTL/3. Default 15s.
	NodeTTL time.Duration
	// RecheckInterval is how often the key, role and operator config of
	// every operator on this node are checked again; an operator that no
	// longer passes is dropped. Default 2s.
	RecheckInterval time.Duration
	// OperatorLease is the lease of an operator's presence record (who is
	// on a call), renewed at every recheck. Default 15s.
	OperatorLease time.Duration
	// JoinTimeout bounds a join: the WebRTC negotiation including ICE
	// gathering. Default 10s.
	JoinTimeout time.Duration
	// JoinRate is the sustained number of join attempts per second allowed
	// per API key; JoinBurst the bucket size. Over it: 429. Defaults 0.5/s,
	// burst 5.
	JoinRate  float64
	JoinBurst int
	// MaxOperatorsPerCall caps the operators on one call at once (409
	// beyond). Default 4.
	MaxOperatorsPerCall int
	// EscalationRate is the sustained escalations per second allowed per
	// workspace; EscalationBurst the bucket size. Over it: 429, so that one
	// workspace's flood neither pushes its own audit trail out of its event
	// stream nor costs the other tenants' Redis. Defaults 1/s, burst 10.
	EscalationRate  float64
	EscalationBurst int
	// AuthFailRate is the sustained failed authentications per second
	// allowed from one client address; AuthFailBurst the bucket size. Past
	// it unknown keys from that address get 429; a valid key never does.
	// Defaults 0.2/s, burst 10.
	AuthFailRate  float64
	AuthFailBurst int
	// ForwardSecret signs and checks the forward tokens with which nodes
	// hand each other operators' requests (forward_token.go); every node of
	// a deployment has the same one, at least 32 bytes (EDGE_NODE_SECRET,
	// else one kept in Redis). Empty: this node neither forwards nor
	// accepts forwarded requests (a single node).
	ForwardSecret []byte
	// ForwardTimeout bounds a request forwarded to the node holding a
	// call. Default 20s.
	ForwardTimeout time.Duration
	// StreamKeepalive is the interval of SSE comments on an idle event
	// stream. Default 15s.
	StreamKeepalive time.Duration
	// StreamReauth is how often a live event stream checks its key again;
	// the stream ends when the key stops working. Default 5s.
	StreamReauth time.Duration
	// MaxStreams caps the event and level streams open at once on this
	// node (503 with Retry-After beyond). Default 64.
	MaxStreams int
	// MaxStreamsPerWorkspace and MaxStreamsPerKey cap them per workspace
	// and per API key, so no tenant takes every slot. Defaults 16 and 4.
	MaxStreamsPerWorkspace int
	MaxStreamsPerKey       int
	// StoreTimeout bounds each Redis operation not tied to a request.
	// Default 3s.
	StoreTimeout time.Duration
}

// DefaultConfig returns the defaults, the one place they are set.
func DefaultConfig() Config {
	return Config{
		NodeTTL:                15 * time.Second,
		RecheckInterval:        2 * time.Second,
		OperatorLease:          15 * time.Second,
		JoinTimeout:            10 * time.Second,
		JoinRate:               0.5,
		JoinBurst:              5,
		MaxOperatorsPerCall:    4,
		EscalationRate:         1,
		EscalationBurst:        10,
		AuthFailRate:           0.2,
		AuthFailBurst:          10,
		ForwardTimeout:         20 * time.Second,
		StreamKeepalive:        15 * time.Second,
		StreamReauth:           5 * time.Second,
		MaxStreams:             64,
		MaxStreamsPerWorkspace: 16,
		MaxStreamsPerKey:       4,
		StoreTimeout:           3 * time.Second,
	}
}

// Validate reports whether c can be used, naming the field at fault.
func (c Config) Validate() error {
	bad := func(field, why string) error { return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why) }
	switch {
	case c.NodeID == "" || len(c.NodeID) > 128:
		return bad("NodeID", "must be 1-128 characters")
	case len(c.AdvertiseAddr) > 256:
		return bad("AdvertiseAddr", "must be at most 256 characters")
	case len(c.ForwardSecret) > 0 && len(c.ForwardSecret) < 32:
		return bad("ForwardSecret", "must be at least 32 bytes")
	case c.NodeTTL < time.Second:
		return bad("NodeTTL", "must be at least 1s")
	case c.RecheckInterval <= 0:
		return bad("RecheckInterval", "must be positive")
	case c.OperatorLease <= c.RecheckInterval:
		return bad("OperatorLease", "must be longer than RecheckInterval")
	case c.JoinTimeout <= 0:
		return bad("JoinTimeout", "must be positive")
	case c.JoinRate <= 0 || c.JoinBurst < 1:
		return bad("JoinRate", "must be positive, with JoinBurst >= 1")
	case c.MaxOperatorsPerCall < 1:
		return bad("MaxOperatorsPerCall", "must be at least 1")
	case c.EscalationRate <= 0 || c.EscalationBurst < 1:
		return bad("EscalationRate", "must be positive, with EscalationBurst >= 1")
	case c.AuthFailRate <= 0 || c.AuthFailBurst < 1:
		return bad("AuthFailRate", "must be positive, with AuthFailBurst >= 1")
	case c.ForwardTimeout <= 0:
		return bad("ForwardTimeout", "must be positive")
	case c.StreamKeepalive <= 0 || c.StreamReauth <= 0:
		return bad("StreamKeepalive", "and StreamReauth must be positive")
	case c.MaxStreams < 1 || c.MaxStreamsPerWorkspace < 1 || c.MaxStreamsPerKey < 1:
		return bad("MaxStreams", "and MaxStreamsPerWorkspace and MaxStreamsPerKey must be at least 1")
	case c.StoreTimeout <= 0:
		return bad("StoreTimeout", "must be positive")
	}
	return nil
}
