package tenancy

import (
	"net/netip"
)

// Trunk is a carrier's SIP trunk into a workspace: calls are admitted from
// its CIDRs and, when it has credentials, after a digest challenge.
type Trunk struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	AllowedCIDRs []string `json:"allowed_cidrs"`
	Username     string   `json:"username,omitempty"`
	// Password is write-only: the API never returns it (see Redacted),
	// and the store never keeps it: it keeps HA1 instead.
	Password string `json:"password,omitempty"`
	// Carrier settings (design section 10), checked by validateCarrier.
	DefaultCountryCode   string `json:"default_country_code,omitempty"`
	MaxRequestsPerSecond int    `json:"max_requests_per_second,omitempty"`
	AcceptsRefer         bool   `json:"accepts_refer,omitempty"`
	// Media settings (design section 10), both optional, checked by
	// validateMedia.
	// MediaEncryption: disable | allow (default) | require SDES-SRTP.
	MediaEncryption string `json:"media_encryption,omitempty"`
	// RTPLatching: strict (default) | learn (latch to the first packet's
	// source when the SDP address is private or unreachable: NAT).
	RTPLatching string `json:"rtp_latching,omitempty"`
	// HA1 is set by the store from Password (for the platform's realm);
	// whatever a client sends here is ignored, and the API never shows it.
	HA1 *DigestHA1 `json:"ha1,omitempty"`
}

// Validate checks every field of t.
func (t *Trunk) Validate() error {
	if err := validID("id", t.ID); err != nil {
		return err
	}
	if err := validName("name", t.Name); err != nil {
		return err
	}
	if len(t.AllowedCIDRs) == 0 || len(t.AllowedCIDRs) > 256 {
		return invalid("allowed_cidrs", "must list 1 to 256 CIDRs")
	}
	for _, c := range t.AllowedCIDRs {
		if _, err := ParseCIDR(c); err != nil {
			return invalid("allowed_cidrs", "%q is not a CIDR such as 203.0.113.0/24", c)
		}
	}
	if (t.Username == "") != (t.Password == "" && t.HA1 == nil) {
		return invalid("password", "username and password go together")
	}
	if t.Username != "" {
		if len(t.Username) > 64 || !ValidID(toLowerASCII(t.Username)) {
			return invalid("username", "1-64 characters of letters, digits, '-' and '_'")
		}
		if t.Password != "" && (len(t.Password) < 12 || len(t.Password) > 128) {
			return invalid("password", "must be 12 to 128 characters")
		}
	}
	if err := t.validateMedia(); err != nil {
		return err
	}
	return t.validateCarrier()
}

// validateMedia checks the optional media settings (design section 10).
func (t *Trunk) validateMedia() error {
	switch t.MediaEncryption {
	case "", "disable", "allow", "require":
	default:
		return invalid("media_encryption", "must be disable, allow or require")
	}
	switch t.RTPLatching {
	case "", "strict", "learn":
	default:
		return invalid("rtp_latching", "must be strict or learn")
	}
	return nil
}

// Prefixes returns the parsed CIDRs (Validate must have passed).
func (t *Trunk) Prefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(t.AllowedCIDRs))
	for _, c := range t.AllowedCIDRs {
		if p, err := ParseCIDR(c); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ParseCIDR parses a prefix, also accepting a bare address as a /32 or /128.
func ParseCIDR(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// Redacted returns t without its password and HA1, as the API shows it.
func (t Trunk) Redacted() Trunk {
	t.Password, t.HA1 = "", nil
	return t
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
