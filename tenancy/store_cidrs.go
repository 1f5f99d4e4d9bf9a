package tenancy

import (
	"context"
	"net/netip"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Trunk CIDRs are registered globally so that overlaps between workspaces
// are refused atomically, in two keys of one slot:
//
//	{edgecidrs}:owners  hash  "<ws>/<trunk id>" -> its CIDRs as bit strings,
//	                          space-separated
//	{edgecidrs}:index   zset  "<bits>|<ws>/<trunk id>", all scored 0
//
// A bit string is "4" or "6" followed by the prefix's bits. Two CIDRs
// overlap exactly when one bit string starts with the other, so the claim
// script finds the registered CIDRs containing a new one by looking up
// each of its prefixes, and those inside it by one lexicographic range:
// O(prefix length × log n) per CIDR, however many trunks the platform has,
// so no tenant's trunk writes slow Redis down for the others.
const (
	keyTrunkCIDRs     = "{edgecidrs}:owners"
	keyTrunkCIDRIndex = "{edgecidrs}:index"
)

// errCIDROverlap is the one answer (409 conflict) to a trunk CIDR that
// overlaps a CIDR of a trunk of another workspace: the message is the same
// whatever, and whoever, the other trunk is, so the answer tells no more
// than "not available". The platform lifts the rule with
// Policy.AllowOverlappingCIDRs.
func errCIDROverlap() error {
	return conflict("allowed_cidrs: a CIDR is not available (it overlaps a CIDR registered on this platform)")
}

// cidrLua holds the functions the CIDR scripts share.
const cidrLua = `
local function foreign(members, mine)
  for _, m in ipairs(members) do
    local owner = string.match(m, '|(.*)$') or ''
    if string.sub(owner, 1, #mine) ~= mine then return true end
  end
  return false
end
local function unindex(field, list)
  for b in string.gmatch(list or '', '%S+') do redis.call('ZREM', KEYS[2], b .. '|' .. field) end
end
local function index(field, list)
  for b in string.gmatch(list or '', '%S+') do redis.call('ZADD', KEYS[2], 0, b .. '|' .. field) end
end
local function store(field, list)
  if list == '' then redis.call('HDEL', KEYS[1], field) else redis.call('HSET', KEYS[1], field, list) end
end
`

// claimCIDRsScript replaces a trunk's registration unless one of its
// CIDRs overlaps a CIDR of another workspace's trunk.
//
//	KEYS: owners, index
//	ARGV: field, "<ws>/", allow overlaps ("1"), bit strings...
var claimCIDRsScript = redis.NewScript(cidrLua + `
if ARGV[3] ~= '1' then
  for j = 4, #ARGV do
    local b = ARGV[j]
    for l = 1, #b do
      local p = string.sub(b, 1, l)
      if foreign(redis.call('ZRANGEBYLEX', KEYS[2], '[' .. p .. '|', '[' .. p .. '|\255'), ARGV[2]) then return {0, ''} end
    end
    if foreign(redis.call('ZRANGEBYLEX', KEYS[2], '[' .. b, '[' .. b .. '\255'), ARGV[2]) then return {0, ''} end
  end
end
local old = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local new = table.concat(ARGV, ' ', 4)
unindex(ARGV[1], old)
index(ARGV[1], new)
store(ARGV[1], new)
return {1, old}`)

// restoreCIDRsScript puts back a registration's previous value if it
// still holds the value a failed write claimed.
//
//	KEYS: owners, index
//	ARGV: field, claimed, previous
var restoreCIDRsScript = redis.NewScript(cidrLua + `
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
unindex(ARGV[1], cur)
index(ARGV[1], ARGV[3])
store(ARGV[1], ARGV[3])
return 1`)

// releaseCIDRsScript drops a registration.
//
//	KEYS: owners, index
//	ARGV: field
var releaseCIDRsScript = redis.NewScript(cidrLua + `
unindex(ARGV[1], redis.call('HGET', KEYS[1], ARGV[1]))
redis.call('HDEL', KEYS[1], ARGV[1])
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
	seen := map[string]bool{}
	var bits []string
	for _, p := range tr.Prefixes() {
		if b := prefixBits(p); !seen[b] {
			seen[b] = true
			bits = append(bits, b)
			args = append(args, b)
		}
	}
	res, err := claimCIDRsScript.Run(ctx, s.rdb, []string{keyTrunkCIDRs, keyTrunkCIDRIndex}, args...).Slice()
	if err != nil {
		return noop, unavailable("claim trunk cidrs", err)
	}
	if ok, _ := res[0].(int64); ok != 1 {
		return noop, errCIDROverlap()
	}
	old, _ := res[1].(string)
	mine := strings.Join(bits, " ")
	return func() {
		_ = restoreCIDRsScript.Run(context.WithoutCancel(ctx), s.rdb, []string{keyTrunkCIDRs, keyTrunkCIDRIndex}, field, mine, old).Err()
	}, nil
}

// releaseCIDRs drops a deleted trunk's registration.
func (s *Store) releaseCIDRs(ctx context.Context, ws, trunkID string) {
	_ = releaseCIDRsScript.Run(ctx, s.rdb, []string{keyTrunkCIDRs, keyTrunkCIDRIndex}, ws+"/"+trunkID).Err()
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
