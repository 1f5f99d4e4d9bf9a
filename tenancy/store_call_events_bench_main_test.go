package tenancy_test

import "github.com/redis/go-redis/v9"

// The scripts of a call's writes as they were before issue 13 (commit
// 697568a), verbatim, so that BenchmarkCallWrites measures the writes of
// that version against the store's in one run (mainCallWrites).

const mainReapLua = `
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

const mainEventOnceLua = `
local function xadd_once(events, evonce, once, keep, maxlen, first)
  local args = {'XADD', events, 'MAXLEN', '~', maxlen, '*'}
  for i = first, #ARGV do args[#args + 1] = ARGV[i] end
  local id = redis.call(unpack(args))
  local t = redis.call('TIME')
  redis.call('ZADD', evonce, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), once)
  redis.call('ZREMRANGEBYRANK', evonce, 0, -(tonumber(keep) + 1))
  return id
end

local function event_once(events, evonce, once, keep, maxlen, first)
  if redis.call('ZSCORE', evonce, once) then return '' end
  return xadd_once(events, evonce, once, keep, maxlen, first)
end
`

var mainAdmitScript = redis.NewScript(mainReapLua + mainEventOnceLua + `
if redis.call('EXISTS', KEYS[5]) == 1 then return {'deleted'} end
local out = reap(KEYS[1], KEYS[3], KEYS[6],
  redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[11])),
  tonumber(ARGV[1]), ARGV[9], ARGV[10])
table.insert(out, 1, 'ok')
local maxc = tonumber(ARGV[3])
if maxc > 0 and redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf') >= maxc then out[1] = 'concurrent' return out end
local maxcps = tonumber(ARGV[4])
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], 2000) end
if maxcps > 0 and n > maxcps then out[1] = 'cps' return out end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[7], ARGV[5])
local over = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[8])
if over > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, over - 1)) do
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, over - 1)
end
if ARGV[12] ~= '' then event_once(KEYS[6], KEYS[7], ARGV[12], ARGV[13], ARGV[14], 15) end
return out`)

var mainRecordEventScript = redis.NewScript(mainEventOnceLua + `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
if redis.call('ZSCORE', KEYS[4], ARGV[4]) then return '' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[3] == '1' then redis.call('ZREM', KEYS[5], ARGV[1]) end
return xadd_once(KEYS[3], KEYS[4], ARGV[4], ARGV[5], ARGV[6], 7)`)

var mainIssueTokenScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`)
