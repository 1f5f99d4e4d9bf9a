package tenancy

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outbound trunks' calls-per-second caps hold across every edge node: the
// pace of a trunk is one key in its workspace's slot,
//
//	{ws:<id>}:pace:<trunk id>  string  the next free dial time (ms, Redis's clock), with a TTL
//
// which a script advances by 1/cps per dial. Each dial gets the moment it
// may start; the caller waits until then, so the carrier sees the calls
// spaced, not in a burst each second. One clock (Redis TIME) for every
// node, so skew between nodes changes nothing.
func keyPace(ws, trunk string) string { return wsTag(ws) + ":pace:" + trunk }

// paceScript: KEYS pace; ARGV gap ms, max wait ms. Returns the wait in ms,
// or -1 when the next free moment is further than max wait.
var paceScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at < now then at = now end
local wait = at - now
if wait > tonumber(ARGV[2]) then return -1 end
redis.call('SET', KEYS[1], at + tonumber(ARGV[1]), 'PX', wait + tonumber(ARGV[1]) + 1000)
return wait`)

// TakeTrunkSlot reserves the next dial of outbound trunk trunk of ws
// under cps calls per second across all nodes: the dial may start after
// wait; ok is false when that would be later than maxWait (nothing is
// reserved then).
func (s *Store) TakeTrunkSlot(ctx context.Context, ws, trunk string, cps int, maxWait time.Duration) (wait time.Duration, ok bool, err error) {
	if !ValidWorkspaceID(ws) || !ValidID(trunk) {
		return 0, false, ErrNotFound
	}
	if cps <= 0 {
		cps = DefaultOutboundCPS
	}
	gap := max(1, 1000/cps)
	ms, err := paceScript.Run(ctx, s.rdb, []string{keyPace(ws, trunk)}, gap, maxWait.Milliseconds()).Int64()
	if err != nil {
		return 0, false, unavailable("trunk pace", err)
	}
	if ms < 0 {
		return 0, false, nil
	}
	return time.Duration(ms) * time.Millisecond, true, nil
}
