"""The Lua scripts behind the Redis store. Each touches the keys of one room only (all of them carry
the room as a hash tag), so each runs atomically on one Redis Cluster slot.

Message entries live in a sorted set scored by `seq`; the member is the seq in 16 hex digits (so two
entries never collide), the ts in 12 hex digits (so that retention by age needs no decoding) and the
MessagePack of `[user_id, alias, role, text]`.
"""

# KEYS: seq, log, nonce (or a dummy in the room's slot), epoch, hidden
# ARGV: has_nonce, ts-prefixed entry (no seq), keep (count), nonce ttl (s), fresh epoch, max age (ms), cutoff ts,
#       hidden ('1': held for review, kept out of history until released)
# Retention is applied here, on the room being written: the count cap, then up to 16 entries past
# the age cutoff; a room nobody writes to expires whole once its newest entry is past the age.
APPEND = """
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], ARGV[5]) end
if ARGV[1] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then return {tonumber(seen), 1} end
end
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, string.format('%016x', seq) .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', seq - tonumber(ARGV[3]))
local cutoff = tonumber(ARGV[7])
for _ = 1, 16 do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not oldest or tonumber(string.sub(oldest, 17, 28), 16) >= cutoff then break end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, 0)
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if ARGV[8] == '1' then
  redis.call('SADD', KEYS[5], seq)
  redis.call('PEXPIRE', KEYS[5], ARGV[6])
end
if ARGV[1] == '1' then redis.call('SET', KEYS[3], seq, 'EX', ARGV[4]) end
return {seq, 0}
"""

# KEYS: seq, log, epoch, hidden
# ARGV: mode ('latest' | 'since' | 'before'), seq, limit, keep, fresh epoch
# Returns {last_seq, epoch, entry...}; entries oldest first, hidden ones left out; 'since' reads
# limit+1 to tell `more`. A room retains at most `keep` entries, so the scan is bounded.
READ = """
if redis.call('EXISTS', KEYS[3]) == 0 then redis.call('SET', KEYS[3], ARGV[5]) end
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = last - tonumber(ARGV[4])
local limit = tonumber(ARGV[3])
local entries
if ARGV[1] == 'latest' then
  entries = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '(' .. floor)
elseif ARGV[1] == 'since' then
  local from = math.max(tonumber(ARGV[2]), floor)
  entries = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. from, '+inf')
  limit = limit + 1
else
  local upper = ARGV[2] == '' and '+inf' or ('(' .. ARGV[2])
  entries = redis.call('ZREVRANGEBYSCORE', KEYS[2], upper, '(' .. floor)
end
local hidden = redis.call('SCARD', KEYS[4]) > 0
local kept = {}
for i = 1, #entries do
  if #kept >= limit then break end
  local e = entries[i]
  if not hidden or redis.call('SISMEMBER', KEYS[4], tonumber(string.sub(e, 1, 16), 16)) == 0 then
    kept[#kept + 1] = e
  end
end
local out = {last, redis.call('GET', KEYS[3])}
if ARGV[1] == 'since' then
  for i = 1, #kept do out[#out + 1] = kept[i] end
else
  for i = #kept, 1, -1 do out[#out + 1] = kept[i] end
end
return out
"""

# KEYS: members (user id -> alias|role), conns (node:conn -> user id), node's rooms set (other slot: not used)
# ARGV: user id, alias, role, conn field
# Returns {changed, count, alias}
PRESENCE_ADD = """
redis.call('HSET', KEYS[2], ARGV[4], ARGV[1])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  return {0, redis.call('HLEN', KEYS[1]), current}
end
local taken = {}
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  taken[string.match(v, '^(.*)|[^|]*$')] = true
end
local alias = ARGV[2]
if taken[alias] then
  local n = 2
  while taken[ARGV[2] .. ' (' .. n .. ')'] do n = n + 1 end
  alias = ARGV[2] .. ' (' .. n .. ')'
end
local value = alias .. '|' .. ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], value)
return {1, redis.call('HLEN', KEYS[1]), value}
"""

# KEYS: members, conns; ARGV: conn field...(one or more)
# Returns {user id, changed, count, alias|role} for each user whose connection was removed
PRESENCE_REMOVE = """
local out = {}
for i = 1, #ARGV do
  local user = redis.call('HGET', KEYS[2], ARGV[i])
  if user then
    redis.call('HDEL', KEYS[2], ARGV[i])
    local still = false
    for _, other in ipairs(redis.call('HVALS', KEYS[2])) do
      if other == user then still = true; break end
    end
    local value = redis.call('HGET', KEYS[1], user) or ''
    if not still then redis.call('HDEL', KEYS[1], user) end
    out[#out + 1] = {user, still and 0 or 1, redis.call('HLEN', KEYS[1]), value}
  end
end
return out
"""

# KEYS: bucket; ARGV: rate (per s), burst. Redis's own clock, so nodes' clocks need not agree.
# Returns the ms to wait (0: allowed)
TAKE = """
local state = redis.call('HMGET', KEYS[1], 't', 's')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""

# KEYS: open flags (zset), decisions (hash), flags (hash); ARGV: flag id, "state|by|at"
# Decides a flag only while it is open, so two facilitators on two nodes cannot both decide it.
FLAG_DECIDE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return false end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return redis.call('HGET', KEYS[3], ARGV[1])
"""

# Crisis cases: every key carries the hash tag {cases}, so each script runs on one slot. Hashes keyed
# by case id: base (JSON of what never changes), state, severity, claimed (user JSON), raised
# ("last_ms|count"), closed ("ms|outcome"), history (JSON array); `user` maps a member to their
# unresolved case; `unresolved` is the set of unresolved ids; `resolved` scores ids by close time.
_APPEND_EVENT = """
local function add_event(key, id, event)
  local h = redis.call('HGET', key, id)
  if h then h = string.sub(h, 1, -2) .. ',' .. event .. ']' else h = '[' .. event .. ']' end
  redis.call('HSET', key, id, h)
end
"""

# KEYS: user, unresolved, base, state, severity, history
# ARGV: user id, new id, base JSON, severity, opened event JSON, joined event JSON
# Returns {id, 1 if new else 0}
CASE_OPEN = _APPEND_EVENT + """
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id and redis.call('SISMEMBER', KEYS[2], id) == 1 then
  if tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[5], id) or '0') then
    redis.call('HSET', KEYS[5], id, ARGV[4])
  end
  add_event(KEYS[6], id, ARGV[6])
  return {id, 0}
end
id = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('SADD', KEYS[2], id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', KEYS[4], id, 'open')
redis.call('HSET', KEYS[5], id, ARGV[4])
add_event(KEYS[6], id, ARGV[5])
return {id, 1}
"""

# KEYS: state, claimed, closed, history, user, unresolved, resolved
# ARGV: id, ",from,states,", new state, claimer JSON ('' unless claim), "ms|outcome" ('' unless resolve),
#       event JSON, the case's user id, now ms
# Returns 1 when applied, 0 when the case is missing or its state does not allow it.
CASE_UPDATE = _APPEND_EVENT + """
local state = redis.call('HGET', KEYS[1], ARGV[1])
if not state or not string.find(ARGV[2], ',' .. state .. ',', 1, true) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[5]) end
add_event(KEYS[4], ARGV[1], ARGV[6])
if ARGV[3] == 'resolved' then
  if redis.call('HGET', KEYS[5], ARGV[7]) == ARGV[1] then redis.call('HDEL', KEYS[5], ARGV[7]) end
  redis.call('SREM', KEYS[6], ARGV[1])
  redis.call('ZADD', KEYS[7], ARGV[8], ARGV[1])
end
return 1
"""

# KEYS: state, raised, history; ARGV: id, expected last_raised, now ms, event JSON
# Records one escalation, once: only while the case is open and nobody raised it since `expected`.
CASE_RAISED = _APPEND_EVENT + """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= 'open' then return 0 end
local raised = redis.call('HGET', KEYS[2], ARGV[1]) or '0|0'
local sep = string.find(raised, '|', 1, true)
if string.sub(raised, 1, sep - 1) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. '|' .. (tonumber(string.sub(raised, sep + 1)) + 1))
add_event(KEYS[3], ARGV[1], ARGV[4])
return 1
"""

# KEYS: lease; ARGV: holder, ttl ms. Take the lease, or renew it for its holder: 1 if held by holder.
LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
