package tenancy

import (
	"context"
	"net/netip"
	"strings"

	"github.com/redis/go-redis/v9"
)

// edge:trunkcidrs is a global hash "<ws>/<trunk id>" -> the trunk's CIDRs
// as bit strings ("4" or "6", then the prefix's bits), space-separated.
// Two CIDRs overlap exactly when one bit string starts with the other, so
// the claim script decides overlaps atomically without CIDR arithmetic.
const keyTrunkCIDRs = "edge:trunkcidrs"

// ErrCIDROverlap is the one answer (409 conflict) to a trunk CIDR that
// overlaps a CIDR of a trunk of another workspace: the message is the same
// whatever, and whoever, the other trunk is, so the answer tells no more
// than "not available". The platform lifts the rule with
// Policy.AllowOverlappingCIDRs.
func errCIDROverlap() error {
	return conflict("allowed_cidrs: a CIDR is not available (it overlaps a CIDR registered on this platform)")
}

// claimCIDRsScript sets a trunk's entry unless one of its CIDRs overlaps a
// CIDR of another workspace's trunk.
//
//	KEYS: the index
//	ARGV: field, "<ws>/", allow overlaps ("1"), bit strings...
var claimCIDRsScript = redis.NewScript(`
if ARGV[3] ~= '1' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, #ARGV[2]) ~= ARGV[2] then
      for b in string.gmatch(all[i+1], '%S+') do
        for j = 4, #ARGV do
          local a = ARGV[j]
          if (#a <= #b and string.sub(b, 1, #a) == a) or (#b < #a and string.sub(a, 1, #b) == b) then
            return {0, ''}
          end
        end
      end
    end
  end
end
local old = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local new = table.concat(ARGV, ' ', 4)
if new == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], new) end
return {1, old}`)

// restoreCIDRsScript puts back an entry's previous value if it still
// holds the value a failed write claimed.
var restoreCIDRsScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`)

// claimCIDRs registers tr's CIDRs for workspace ws, refusing overlaps with
// other workspaces' trunks (errCIDROverlap). release puts the previous
// registration back when the write then fails.
func (s *Store) claimCIDRs(ctx context.Context, ws string, tr *Trunk) (release func(), err error) {
	noop := func() {}
	field := ws + "/" + tr.ID
	args := []any{field, ws + "/", "0"}
	if s.policy.AllowOverlappingCIDRs {
		args[2] = "1"
	}
	bits := make([]string, 0, len(tr.AllowedCIDRs))
	for _, p := range tr.Prefixes() {
		bits = append(bits, prefixBits(p))
	}
	for _, b := range bits {
		args = append(args, b)
	}
	res, err := claimCIDRsScript.Run(ctx, s.rdb, []string{keyTrunkCIDRs}, args...).Slice()
	if err != nil {
		return noop, unavailable("claim trunk cidrs", err)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		return noop, errCIDROverlap()
	}
	old, _ := res[1].(string)
	mine := strings.Join(bits, " ")
	return func() {
		_ = restoreCIDRsScript.Run(context.WithoutCancel(ctx), s.rdb, []string{keyTrunkCIDRs}, field, mine, old).Err()
	}, nil
}

// releaseCIDRs drops a deleted trunk's registration.
func (s *Store) releaseCIDRs(ctx context.Context, ws, trunkID string) {
	_ = s.rdb.HDel(ctx, keyTrunkCIDRs, ws+"/"+trunkID).Err()
}

// prefixBits is p as its family digit followed by its prefix bits.
func prefixBits(p netip.Prefix) string {
	p = p.Masked()
	var sb strings.Builder
	if p.Addr().Is4() {
		sb.WriteByte('4')
	} else {
		sb.WriteByte('6')
	}
	raw := p.Addr().AsSlice()
	for i := range p.Bits() {
		if raw[i/8]&(0x80>>(i%8)) != 0 {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

// checkPolicy applies the platform's rules that depend on its policy
// rather than on the item alone: trunk CIDR width and the size quotas of a
// service's context graph and agent config (422, naming the field and the
// quota).
func (s *Store) checkPolicy(item Item) error {
	switch it := item.(type) {
	case *Trunk:
		if s.policy.AllowWideCIDRs {
			return nil
		}
		for _, p := range it.Prefixes() {
			min := s.policy.MinPrefixV4
			if p.Addr().Is6() {
				min = s.policy.MinPrefixV6
			}
			if p.Bits() < min {
				return invalid("allowed_cidrs", "%s is wider than this platform allows (at most /%d for IPv4, /%d for IPv6)",
					p, s.policy.MinPrefixV4, s.policy.MinPrefixV6)
			}
		}
	case *Service:
		q := s.policy.Quotas
		if q.ContextGraphBytes >= 0 && len(it.ContextGraph) > q.ContextGraphBytes {
			return invalid("context_graph", "larger than the quota context_graph_bytes (%d bytes)", q.ContextGraphBytes)
		}
		if q.AgentConfigBytes >= 0 && len(it.AgentConfig) > q.AgentConfigBytes {
			return invalid("agent_config", "larger than the quota agent_config_bytes (%d bytes)", q.AgentConfigBytes)
		}
	}
	return nil
}
