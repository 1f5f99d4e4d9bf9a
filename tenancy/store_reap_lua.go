package tenancy

import "github.com/redis/go-redis/v9"

// reapLua defines reap(active, calls, events, ids, now, ended_at, maxlen),
// the Lua every script that frees a call's slot without its edge runs
// (reapExpiredScript, reapNodeScript, admitScript), so that no path
// releases a slot without ending its record. For each call id it removes
// the id from active and, when the call's record is not ended yet,
// rewrites the record (state ended, ended_at, end_reason node_lost) and
// appends call.ended (reason, duration_ms, talk_ms, node_id; the media
// statistics died with the node) to the workspace's events, trimmed as
// AppendEvent trims them. It returns a flat list: id, node id, outcome
// (see the Reap* outcomes). ms parses the RFC 3339 times of records into
// Unix milliseconds (Redis's Lua has no os.time).
const reapLua = `
local function ms(s)
  if type(s) ~= 'string' then return nil end
  local y, mo, d, h, mi, sec, frac, zone = string.match(s, '^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.?(%d*)(.*)$')
  if not y then return nil end
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + tonumber(d) - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  local t = ((days * 24 + tonumber(h)) * 60 + tonumber(mi)) * 60 + tonumber(sec)
  local sign, oh, om = string.match(zone, '^([+-])(%d%d):(%d%d)$')
  if sign then
    local off = (tonumber(oh) * 60 + tonumber(om)) * 60
    if sign == '+' then t = t - off else t = t + off end
  end
  local f = 0
  if frac ~= '' then f = math.floor(tonumber('0.' .. frac) * 1000) end
  return t * 1000 + f
end

local function reap(active, calls, events, ids, now, ended_at, maxlen)
  local out = {}
  for _, id in ipairs(ids) do
    redis.call('ZREM', active, id)
    local outcome, node = 'missing', ''
    local raw = redis.call('HGET', calls, id)
    if raw then
      local ok, rec = pcall(cjson.decode, raw)
      if not ok or type(rec) ~= 'table' then
        outcome = 'undecodable'
      else
        if type(rec.node_id) == 'string' then node = rec.node_id end
        if rec.state == 'ended' then
          outcome = 'already_ended'
        else
          rec.state, rec.ended_at, rec.end_reason = 'ended', ended_at, 'node_lost'
          redis.call('HSET', calls, id, cjson.encode(rec))
          local data = {reason = 'node_lost', node_id = node, duration_ms = 0, talk_ms = 0}
          local started, answered = ms(rec.started_at), ms(rec.answered_at)
          if started then data.duration_ms = math.max(0, now - started) end
          if answered then data.talk_ms = math.max(0, now - answered) end
          redis.call('XADD', events, 'MAXLEN', '~', maxlen, '*', 'type', 'call.ended', 'time', ended_at,
            'call_id', id, 'data', cjson.encode(data))
          outcome = 'ended'
        end
      end
    end
    out[#out + 1] = id
    out[#out + 1] = node
    out[#out + 1] = outcome
  end
  return out
end

-- dropped frees the slots of ids of a deleted workspace and writes nothing.
local function dropped(active, ids)
  local out = {}
  for _, id in ipairs(ids) do
    redis.call('ZREM', active, id)
    out[#out + 1] = id
    out[#out + 1] = ''
    out[#out + 1] = 'workspace_deleted'
  end
  return out
end
`

// reapExpiredScript ends the calls of one workspace whose leases expired
// (their edge stopped renewing them), at most a batch per run.
//
//	KEYS: active, calls, events, tombstone
//	ARGV: now ms, ended_at (RFC 3339), events max length, batch
var reapExpiredScript = redis.NewScript(reapLua + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
if #ids == 0 then return {} end
if redis.call('EXISTS', KEYS[4]) == 1 then return dropped(KEYS[1], ids) end
return reap(KEYS[1], KEYS[2], KEYS[3], ids, tonumber(ARGV[1]), ARGV[2], ARGV[3])`)

// reapNodeScript ends, lease or not, the calls of one workspace whose
// record names edge node ARGV[4] (a node that has just started: none of
// them can still be alive).
//
//	KEYS: active, calls, events, tombstone
//	ARGV: now ms, ended_at (RFC 3339), events max length, node id
var reapNodeScript = redis.NewScript(reapLua + `
local ids = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local ok, rec = pcall(cjson.decode, raw)
    if ok and type(rec) == 'table' and rec.node_id == ARGV[4] then ids[#ids + 1] = id end
  end
end
if #ids == 0 then return {} end
if redis.call('EXISTS', KEYS[4]) == 1 then return dropped(KEYS[1], ids) end
return reap(KEYS[1], KEYS[2], KEYS[3], ids, tonumber(ARGV[1]), ARGV[2], ARGV[3])`)
