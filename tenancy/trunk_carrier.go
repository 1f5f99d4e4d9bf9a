package tenancy

// Bounds of a trunk's carrier settings (design section 10).
const (
	// DefaultTrunkRequestsPerSecond is a trunk's per-source budget of
	// out-of-dialog requests when max_requests_per_second is unset.
	DefaultTrunkRequestsPerSecond = 500
	// MaxTrunkRequestsPerSecond bounds max_requests_per_second.
	MaxTrunkRequestsPerSecond = 100_000
)

// validateCarrier checks the carrier settings of t: default_country_code
// is an ITU-T E.164 country code (1 to 3 digits, not starting with 0) or
// empty; max_requests_per_second is 0 (the default, 500) or 1 to
// MaxTrunkRequestsPerSecond. accepts_refer is a plain boolean.
func (t *Trunk) validateCarrier() error {
	if cc := t.DefaultCountryCode; cc != "" {
		if len(cc) > 3 || cc[0] == '0' || !allDigits(cc) {
			return invalid("default_country_code", "must be 1 to 3 digits of a country code, not starting with 0 (\"1\", \"44\")")
		}
	}
	if r := t.MaxRequestsPerSecond; r < 0 || r > MaxTrunkRequestsPerSecond {
		return invalid("max_requests_per_second", "must be 1 to %d (0 or unset: %d)", MaxTrunkRequestsPerSecond, DefaultTrunkRequestsPerSecond)
	}
	return nil
}

// RequestsPerSecond returns the trunk's per-source budget of out-of-dialog
// requests: max_requests_per_second, or DefaultTrunkRequestsPerSecond.
func (t *Trunk) RequestsPerSecond() int {
	if t.MaxRequestsPerSecond > 0 {
		return t.MaxRequestsPerSecond
	}
	return DefaultTrunkRequestsPerSecond
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
