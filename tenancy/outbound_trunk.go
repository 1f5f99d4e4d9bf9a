package tenancy

import (
	"encoding/json"
	"strings"
)

// OutboundTrunk is a carrier's termination trunk of a workspace (design
// section 11): where the edge sends the calls the workspace places (agent-
// placed calls, transfers to the PSTN). The password is write-only: the API
// never returns it, the tenant map the edges hold never carries it
// (LoadSnapshot drops it), and the edge reads it from Redis only when it
// dials through the trunk (Store.OutboundCredentials).
type OutboundTrunk struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Gateways []Gateway `json:"gateways"`
	Username string    `json:"username,omitempty"`
	// Password is write-only (see Redacted). The store keeps it only
	// sealed, in PasswordSealed (outbound_secret.go).
	Password string `json:"password,omitempty"`
	// PasswordSealed is the password sealed with Policy.Credentials, as
	// stored; only the store sets it (a client's value is discarded).
	PasswordSealed string         `json:"password_sealed,omitempty"`
	CallerID       CallerIDPolicy `json:"caller_id"`
	// MaxCPS caps the calls per second the edges place through the trunk
	// (all edge nodes together, store_trunkpace.go; carriers allow 1-30). 0: DefaultOutboundCPS.
	MaxCPS int `json:"max_cps"`
	// AllowedPrefixes are the E.164 prefixes a destination must start with.
	// Premium-rate ranges (PremiumPrefixes) stay blocked unless a listed
	// prefix lies inside one.
	AllowedPrefixes []string `json:"allowed_prefixes"`
	// RingTimeout is how long, in seconds, a destination may ring before
	// the call is given up (default DefaultRingTimeout).
	RingTimeout int `json:"ring_timeout,omitempty"`
}

// Gateway is one SIP peer of an outbound trunk. The edge tries gateways by
// ascending priority, and among equal priorities in an order drawn by
// weight (RFC 2782 semantics). A host name without a port is looked up as
// DNS SRV, then A/AAAA (RFC 3263; sip/gateway_resolve.go).
type Gateway struct {
	Host      string `json:"host"`
	Port      int    `json:"port,omitempty"`
	Transport string `json:"transport,omitempty"`
	Priority  int    `json:"priority"`
	Weight    int    `json:"weight"`
}

// CallerIDPolicy says which number the edge presents (From and
// P-Asserted-Identity) on calls through the trunk.
type CallerIDPolicy struct {
	// Mode is CallerIDOwnNumbers (the call's own from, a number of the
	// workspace) or CallerIDFixed (Number, a number of the workspace).
	Mode   string `json:"mode"`
	Number string `json:"number,omitempty"`
}

// Caller-ID modes.
const (
	CallerIDOwnNumbers = "own_numbers"
	CallerIDFixed      = "fixed"
)

// Defaults and bounds of outbound trunks.
const (
	DefaultOutboundCPS = 1
	MaxOutboundCPS     = 100
	DefaultRingTimeout = 45
	maxGateways        = 16
	maxAllowedPrefixes = 200
)

// PremiumPrefixes are premium-rate and shared-cost ranges, the first
// targets of toll fraud: a destination in one is refused unless an allowed
// prefix is at least as specific as the range (so "+1" does not open
// "+1900", but "+1900555" does).
var PremiumPrefixes = []string{
	"+1900", "+1976", // NANP premium
	"+449", "+4487", "+4470", // UK premium, shared cost, personal numbers
	"+49900", "+49137", "+49118", // DE premium, televoting, directory
	"+338", "+3389", // FR premium
	"+61190", "+6419", // AU, NZ premium
	"+39899", "+34803", "+34806", "+34807", // IT, ES premium
	"+881", "+882", "+883", // global satellite and international networks
}

// Validate checks every field of t; the caller-ID number's ownership is
// checked by the store, against the workspace's numbers.
func (t *OutboundTrunk) Validate() error {
	if err := validID("id", t.ID); err != nil {
		return err
	}
	if err := validName("name", t.Name); err != nil {
		return err
	}
	if len(t.Gateways) == 0 || len(t.Gateways) > maxGateways {
		return invalid("gateways", "must list 1 to %d gateways", maxGateways)
	}
	for i := range t.Gateways {
		if err := t.Gateways[i].validate(); err != nil {
			return err
		}
	}
	if (t.Username == "") != (t.Password == "") {
		return invalid("password", "username and password go together")
	}
	if t.Username != "" {
		if len(t.Username) > 64 || !printableASCII(t.Username) {
			return invalid("username", "1-64 printable ASCII characters without spaces or quotes")
		}
		if len(t.Password) < 8 || len(t.Password) > 128 || !printableASCII(t.Password) {
			return invalid("password", "must be 8 to 128 printable ASCII characters without spaces or quotes")
		}
	}
	switch t.CallerID.Mode {
	case CallerIDOwnNumbers:
		if t.CallerID.Number != "" {
			return invalid("caller_id.number", "only with mode fixed")
		}
	case CallerIDFixed:
		if !IsE164(t.CallerID.Number) {
			return invalid("caller_id.number", "must be an E.164 number of the workspace")
		}
	default:
		return invalid("caller_id.mode", "must be own_numbers or fixed")
	}
	if t.MaxCPS < 0 || t.MaxCPS > MaxOutboundCPS {
		return invalid("max_cps", "must be 0 (default %d) to %d", DefaultOutboundCPS, MaxOutboundCPS)
	}
	if t.RingTimeout < 0 || t.RingTimeout > 300 {
		return invalid("ring_timeout", "must be 0 (default %d) to 300 seconds", DefaultRingTimeout)
	}
	if len(t.AllowedPrefixes) == 0 || len(t.AllowedPrefixes) > maxAllowedPrefixes {
		return invalid("allowed_prefixes", "must list 1 to %d E.164 prefixes", maxAllowedPrefixes)
	}
	for _, p := range t.AllowedPrefixes {
		if !isE164Prefix(p) {
			return invalid("allowed_prefixes", "%q is not an E.164 prefix such as +1312", p)
		}
	}
	return nil
}

func (g *Gateway) validate() error {
	if !validHost(g.Host) {
		return invalid("gateways[].host", "must be an IP address or a DNS name")
	}
	if g.Port < 0 || g.Port > 65535 {
		return invalid("gateways[].port", "must be 1 to 65535 (0: 5060, 5061 for tls)")
	}
	switch g.Transport {
	case "", "udp", "tcp", "tls":
	default:
		return invalid("gateways[].transport", "must be udp, tcp or tls")
	}
	if g.Priority < 0 || g.Priority > 65535 {
		return invalid("gateways[].priority", "must be 0 to 65535")
	}
	if g.Weight < 0 || g.Weight > 65535 {
		return invalid("gateways[].weight", "must be 0 to 65535")
	}
	return nil
}

// TransportOrDefault is the gateway's transport, "udp" when unset.
func (g Gateway) TransportOrDefault() string {
	if g.Transport == "" {
		return "udp"
	}
	return g.Transport
}

// PortOrDefault is the gateway's port, 5060 (5061 for tls) when unset.
func (g Gateway) PortOrDefault() int {
	switch {
	case g.Port != 0:
		return g.Port
	case g.Transport == "tls":
		return 5061
	}
	return 5060
}

// CPS is the trunk's calls-per-second cap.
func (t *OutboundTrunk) CPS() int {
	if t.MaxCPS == 0 {
		return DefaultOutboundCPS
	}
	return t.MaxCPS
}

// RingTimeoutSeconds is the ring timeout in seconds.
func (t *OutboundTrunk) RingTimeoutSeconds() int {
	if t.RingTimeout == 0 {
		return DefaultRingTimeout
	}
	return t.RingTimeout
}

// Allows reports whether the trunk may dial E.164 number to: it starts
// with an allowed prefix, and if it is in a premium-rate range an allowed
// prefix at least as long as that range covers it.
func (t *OutboundTrunk) Allows(to string) bool {
	if !IsE164(to) {
		return false
	}
	best := ""
	for _, p := range t.AllowedPrefixes {
		if strings.HasPrefix(to, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return false
	}
	for _, prem := range PremiumPrefixes {
		if strings.HasPrefix(to, prem) && !strings.HasPrefix(best, prem) {
			return false
		}
	}
	return true
}

// Redacted returns t without its password, as the API and the tenant map
// show it.
func (t OutboundTrunk) Redacted() OutboundTrunk {
	t.Password, t.PasswordSealed = "", ""
	return t
}

// ItemID implements Item.
func (t *OutboundTrunk) ItemID() string { return t.ID }

// Redact implements Redactor.
func (t *OutboundTrunk) Redact() Item { r := t.Redacted(); return &r }

// keepSecrets keeps the stored password when a replace sends none for the
// same username (a read-modify-write of what GET shows).
func (t *OutboundTrunk) keepSecrets(old json.RawMessage) {
	var prev OutboundTrunk
	if t.Password != "" || json.Unmarshal(old, &prev) != nil {
		return
	}
	if t.Username != "" && t.Username == prev.Username {
		t.Password = prev.Password
	}
}

// isE164Prefix reports whether p is '+' and 1 to 15 digits, the first not 0.
func isE164Prefix(p string) bool {
	if len(p) < 2 || len(p) > 16 || p[0] != '+' || p[1] == '0' {
		return false
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// printableASCII reports whether s is non-empty visible ASCII without
// quotes or backslashes (safe in a digest header).
func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
