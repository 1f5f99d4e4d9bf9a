package tenancy

import (
	"errors"
	"fmt"
)

// Policy is what the platform (not a workspace) decides about every
// workspace's configuration: quotas per kind, how wide and how shared trunk
// CIDRs may be, the SIP digest realm trunk credentials are stored for, and
// the key that encrypts data-source credentials. Zero fields take the
// defaults documented on each (withDefaults); the control plane sets it from
// edge-admin's environment (README, "Platform policy").
type Policy struct {
	// Quotas bound each kind of configuration per workspace.
	Quotas Quotas
	// MinPrefixV4 and MinPrefixV6 are the widest trunk CIDRs accepted:
	// a trunk CIDR shorter than /MinPrefixV4 (IPv4) or /MinPrefixV6 (IPv6)
	// is refused with 422 allowed_cidrs, so that no tenant's 0.0.0.0/0
	// trunk defeats "drop unknown sources" for everyone. Defaults 16 and
	// 48; AllowWideCIDRs lifts the rule.
	MinPrefixV4, MinPrefixV6 int
	// AllowWideCIDRs accepts trunk CIDRs of any width. Default false.
	AllowWideCIDRs bool
	// AllowOverlappingCIDRs accepts a trunk CIDR that overlaps a trunk CIDR
	// of another workspace. Default false: such a write is a 409 (one
	// answer whatever the other trunk is; see ErrCIDROverlap).
	AllowOverlappingCIDRs bool
	// PlatformAssignsNumbers makes phone numbers platform-assigned: only
	// the platform token adds a number to a workspace (after verifying it
	// with the carrier); the workspace's admins may change the service and
	// label of the numbers they hold, and delete them. A workspace key adding
	// a number gets 403, the same whether or not any workspace holds it.
	// Default false: admins claim numbers themselves, first come first
	// served (README, "Phone numbers").
	PlatformAssignsNumbers bool
	// Realm is the SIP digest realm the edges challenge with
	// (EDGE_SIP_REALM, read by edge and edge-admin alike). Trunk passwords
	// are kept only as HA1 for this realm (RFC 7616 section 3.4.2), so
	// changing it means setting every credentialed trunk's password again.
	// Default "edge".
	Realm string
	// Secrets encrypts data-source credentials at rest. Nil: data sources
	// with credentials are refused (422 credentials).
	Secrets *SecretBox
	// Credentials seals outbound-trunk passwords at rest
	// (EDGE_CREDENTIALS_KEY, held by edge-admin, which seals, and by the
	// edges, which open a password for the dial that needs it). Nil on
	// edge-admin: outbound trunks with a password are refused (422
	// password).
	Credentials *SecretBox
}

// Quotas bound a workspace's configuration. Zero takes the default shown
// on each field; a negative value means unlimited.
type Quotas struct {
	Services       int // default 100
	Numbers        int // default 1000
	Trunks         int // default 20
	SafetyPolicies int // default 50
	DataSources    int // default 50
	Accounts       int // default 200
	// KeysPerAccount and KeysPerWorkspace bound live API keys. Defaults
	// 10 and 500.
	KeysPerAccount   int
	KeysPerWorkspace int
	// ContextGraphBytes and AgentConfigBytes bound a service's
	// context_graph and agent_config. Defaults 65536 and 16384 (the hard
	// bounds of validation, 262144 and 65536, stay above them).
	ContextGraphBytes int
	AgentConfigBytes  int
}

// DefaultRealm is the digest realm when none is configured.
const DefaultRealm = "edge"

func (p Policy) withDefaults() Policy {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	q := &p.Quotas
	set(&q.Services, 100)
	set(&q.Numbers, 1000)
	set(&q.Trunks, 20)
	set(&q.SafetyPolicies, 50)
	set(&q.DataSources, 50)
	set(&q.Accounts, 200)
	set(&q.KeysPerAccount, 10)
	set(&q.KeysPerWorkspace, 500)
	set(&q.ContextGraphBytes, 64<<10)
	set(&q.AgentConfigBytes, 16<<10)
	set(&p.MinPrefixV4, 16)
	set(&p.MinPrefixV6, 48)
	if p.Realm == "" {
		p.Realm = DefaultRealm
	}
	return p
}

// Validate reports an unusable policy.
func (p Policy) Validate() error {
	p = p.withDefaults()
	if p.MinPrefixV4 < 0 || p.MinPrefixV4 > 32 || p.MinPrefixV6 < 0 || p.MinPrefixV6 > 128 {
		return errors.New("policy: minimum trunk prefixes must be 0-32 (IPv4) and 0-128 (IPv6)")
	}
	for _, c := range p.Realm {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("policy: realm %q must be printable ASCII without quotes or backslashes", p.Realm)
		}
	}
	return nil
}

// of returns the quota of a configuration kind (<0: unlimited) and its
// name in errors.
func (q Quotas) of(kind Kind) (int, string) {
	switch kind.Name {
	case KindService.Name:
		return q.Services, "services"
	case KindNumber.Name:
		return q.Numbers, "phone_numbers"
	case KindTrunk.Name:
		return q.Trunks, "trunks"
	case KindSafetyPolicy.Name:
		return q.SafetyPolicies, "safety_policies"
	case KindDataSource.Name:
		return q.DataSources, "data_sources"
	}
	return -1, ""
}

// ErrQuota: the write would take the workspace over a platform quota.
var ErrQuota = errors.New("quota exceeded")

// QuotaError names the quota a write ran into; it matches ErrQuota. The
// admin API answers it 409 quota_exceeded.
type QuotaError struct {
	// Quota is the quota's name, e.g. "services" or "api_keys_per_account".
	Quota string
	Limit int
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("quota %s reached: at most %d (a platform quota)", e.Quota, e.Limit)
}

// Is reports whether target is ErrQuota.
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// checkQuota fails when n more items would take a workspace holding have
// over limit (<0: unlimited).
func checkQuota(name string, limit, have int) error {
	if limit >= 0 && have >= limit {
		return &QuotaError{Quota: name, Limit: limit}
	}
	return nil
}
