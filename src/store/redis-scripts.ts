/**
 * The Lua scripts of the Redis job store. Redis runs a script as one command
 * (nothing else runs meanwhile), so each operation that reads and writes
 * several keys is atomic, across every process on the same database.
 *
 * Keys are built inside the scripts from the prefix in ARGV[1], so they suit
 * one Redis server (or a replicated one), not Redis Cluster. The layout, under
 * the prefix (see redis-job-store.ts):
 *   job:<id>                 hash: body (the record's JSON without version and owner), version,
 *                            owner?, status, active, counted, surface, user, place?, day,
 *                            createdAt, updatedAt
 *   active:<surface>         zset id -> createdAt: unfinished jobs
 *   owned:<surface>:<owner>  zset id -> createdAt: unfinished jobs of one owner
 *   unowned:<surface>        zset id -> createdAt: unfinished jobs without one
 *   owners:<surface>         set of owners that have unfinished jobs there
 *   active-by-user:<user>    set of a person's unfinished jobs
 *   queued-by-user:<user>    set of a person's queued jobs
 *   queue                    zset id -> createdAt: every queued job
 *   daily:<day>:<user>       hash all -> n, p:<place> -> n: counted admissions of a UTC day (expires)
 *   recent:<user>            zset id -> createdAt, the newest RECENT_CAP jobs
 *   finished                 zset id -> updatedAt: finished jobs, for purging
 *   lease:<instance>         hash expiresAt, host?, pid?, started? (expires a while after it lapses)
 *   host:<host>              set of instances with a lease on that host
 *   event:<key>              string: the expiry of a claimed platform event (expires then)
 *   stats:<key>              string: render statistics JSON
 * Optional values travel as '' (none) or '+value', since a script argument can't be nil.
 */

/** Shared by the scripts that change a job's indexes. */
const PRELUDE = `
local P = ARGV[1]
local function opt(v) if v == '' then return false end return string.sub(v, 2) end
local function activeIn(id, surface, user, owner, createdAt)
  redis.call('ZADD', P..'active:'..surface, createdAt, id)
  redis.call('SADD', P..'active-by-user:'..user, id)
  if owner then
    redis.call('ZADD', P..'owned:'..surface..':'..owner, createdAt, id)
    redis.call('SADD', P..'owners:'..surface, owner)
  else
    redis.call('ZADD', P..'unowned:'..surface, createdAt, id)
  end
end
local function activeOut(id, surface, user, owner)
  redis.call('ZREM', P..'active:'..surface, id)
  redis.call('SREM', P..'active-by-user:'..user, id)
  if owner then
    local k = P..'owned:'..surface..':'..owner
    redis.call('ZREM', k, id)
    if redis.call('EXISTS', k) == 0 then redis.call('SREM', P..'owners:'..surface, owner) end
  else
    redis.call('ZREM', P..'unowned:'..surface, id)
  end
end
local function queued(id, user, createdAt, on)
  if on then
    redis.call('ZADD', P..'queue', createdAt, id)
    redis.call('SADD', P..'queued-by-user:'..user, id)
  else
    redis.call('ZREM', P..'queue', id)
    redis.call('SREM', P..'queued-by-user:'..user, id)
  end
end
local function daily(user, day, place, delta, ttl)
  local k = P..'daily:'..day..':'..user
  if delta > 0 then
    redis.call('HINCRBY', k, 'all', 1)
    if place then redis.call('HINCRBY', k, 'p:'..place, 1) end
    redis.call('PEXPIRE', k, ttl)
  elseif redis.call('EXISTS', k) == 1 then
    if tonumber(redis.call('HGET', k, 'all') or '0') > 0 then redis.call('HINCRBY', k, 'all', -1) end
    if place and tonumber(redis.call('HGET', k, 'p:'..place) or '0') > 0 then redis.call('HINCRBY', k, 'p:'..place, -1) end
  end
end
`;

/**
 * ARGV: prefix, id, body, status, active, counted, surface, user, place?, day, owner?, createdAt,
 * updatedAt, perUserActive, queueCap?, userDaily?, placeDaily? (limits '' = none), dailyTtlMs, recentCap.
 * Returns 'ok' or the first limit reached, in the order of admission.ts's limitsReached.
 */
export const ADMIT = `${PRELUDE}
local id, body, status, active, counted, surface, user = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local place, day, owner, createdAt, updatedAt = opt(ARGV[9]), ARGV[10], opt(ARGV[11]), ARGV[12], ARGV[13]
local perUserActive, queueCap, userDaily, placeDaily = tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[17])
local k = P..'job:'..id
if redis.call('EXISTS', k) == 1 then return redis.error_reply('ERR a job with id '..id..' exists') end
local counts = P..'daily:'..day..':'..user
if redis.call('SCARD', P..'active-by-user:'..user) >= perUserActive then return 'user_active' end
if userDaily and tonumber(redis.call('HGET', counts, 'all') or '0') >= userDaily then return 'user_daily' end
if placeDaily and place and tonumber(redis.call('HGET', counts, 'p:'..place) or '0') >= placeDaily then return 'place_daily' end
if queueCap and redis.call('ZCARD', P..'queue') >= queueCap then return 'queue_length' end
redis.call('HSET', k, 'body', body, 'version', '1', 'status', status, 'active', active, 'counted', counted, 'surface', surface,
  'user', user, 'day', day, 'createdAt', createdAt, 'updatedAt', updatedAt)
if place then redis.call('HSET', k, 'place', place) end
if owner then redis.call('HSET', k, 'owner', owner) end
if active == '1' then activeIn(id, surface, user, owner, createdAt) else redis.call('ZADD', P..'finished', updatedAt, id) end
if status == 'queued' then queued(id, user, createdAt, true) end
if counted == '1' then daily(user, day, place, 1, ARGV[18]) end
local recent = P..'recent:'..user
redis.call('ZADD', recent, createdAt, id)
redis.call('ZREMRANGEBYRANK', recent, 0, -(tonumber(ARGV[19]) + 1))
return 'ok'
`;

/**
 * Compare-and-set. ARGV: prefix, id, expected version, new version, body, status, active, counted,
 * updatedAt, dailyTtlMs. Returns {1, owner|nil} when it landed, {0} for an unknown job, or
 * {0, body, version, owner|nil} with what is stored.
 */
export const WRITE = `${PRELUDE}
local id, expected, version, body, status, active, counted, updatedAt = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local k = P..'job:'..id
local cur = redis.call('HMGET', k, 'version', 'body', 'owner', 'status', 'active', 'counted', 'surface', 'user', 'place', 'day', 'createdAt')
if not cur[1] then return {0} end
if cur[1] ~= expected then return {0, cur[2], cur[1], cur[3]} end
local owner, oldStatus, oldActive, oldCounted, surface, user, place, day, createdAt = cur[3], cur[4], cur[5], cur[6], cur[7], cur[8], cur[9], cur[10], cur[11]
redis.call('HSET', k, 'body', body, 'version', version, 'status', status, 'active', active, 'counted', counted, 'updatedAt', updatedAt)
if oldActive ~= active then
  if active == '1' then
    activeIn(id, surface, user, owner, createdAt)
    redis.call('ZREM', P..'finished', id)
  else
    activeOut(id, surface, user, owner)
  end
end
if active == '0' then redis.call('ZADD', P..'finished', updatedAt, id) end
if (oldStatus == 'queued') ~= (status == 'queued') then queued(id, user, createdAt, status == 'queued') end
if oldCounted ~= counted then daily(user, day, place, counted == '1' and 1 or -1, ARGV[10]) end
return {1, owner}
`;

/**
 * Takes over orphans: unfinished jobs of the surfaces with no owner, or an owner (not self) that is
 * declared dead or has no lease fresh at \`now\`; the oldest \`limit\`, each version bumped.
 * ARGV: prefix, self, now, limit, surface count, surfaces..., dead owners...
 * Returns {body, version, body, version, ...} in order of creation.
 */
export const CLAIM = `${PRELUDE}
local self, now, limit, nSurfaces = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local dead = {}
for i = 6 + nSurfaces, #ARGV do dead[ARGV[i]] = true end
local found = {}
local function collect(key, surface, owner)
  local r = redis.call('ZRANGE', key, 0, limit - 1, 'WITHSCORES')
  for i = 1, #r, 2 do found[#found + 1] = {r[i], tonumber(r[i + 1]), surface, owner, key} end
end
for s = 6, 5 + nSurfaces do
  local surface = ARGV[s]
  collect(P..'unowned:'..surface, surface, false)
  for _, owner in ipairs(redis.call('SMEMBERS', P..'owners:'..surface)) do
    if owner ~= self then
      local gone = dead[owner]
      if not gone then
        local expiresAt = redis.call('HGET', P..'lease:'..owner, 'expiresAt')
        gone = (not expiresAt) or tonumber(expiresAt) <= now
      end
      if gone then collect(P..'owned:'..surface..':'..owner, surface, owner) end
    end
  end
end
table.sort(found, function(a, b) if a[2] ~= b[2] then return a[2] < b[2] end return a[1] < b[1] end)
local out = {}
for i = 1, math.min(limit, #found) do
  local id, createdAt, surface, owner, from = found[i][1], found[i][2], found[i][3], found[i][4], found[i][5]
  local k = P..'job:'..id
  local version = redis.call('HINCRBY', k, 'version', 1)
  redis.call('HSET', k, 'owner', self)
  redis.call('ZREM', from, id)
  if owner and redis.call('EXISTS', from) == 0 then redis.call('SREM', P..'owners:'..surface, owner) end
  redis.call('ZADD', P..'owned:'..surface..':'..self, redis.call('HGET', k, 'createdAt'), id)
  redis.call('SADD', P..'owners:'..surface, self)
  out[#out + 1] = redis.call('HGET', k, 'body')
  out[#out + 1] = version
end
return out
`;

/** ARGV: prefix, before, limit. Deletes finished jobs last written before \`before\`, oldest first; returns how many. */
export const PURGE = `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', P..'finished', '-inf', '('..ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  local k = P..'job:'..id
  local f = redis.call('HMGET', k, 'active', 'counted', 'user', 'day', 'place')
  if f[1] == '0' then
    if f[2] == '1' then daily(f[3], f[4], f[5], -1, 0) end
    redis.call('ZREM', P..'recent:'..f[3], id)
    redis.call('DEL', k)
    n = n + 1
  end
  redis.call('ZREM', P..'finished', id)
end
return n
`;

/** ARGV: prefix, user, day, place?. Returns {active, queued, today, today in place, queue length}. */
export const USAGE = `
local P, user, day, place = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local counts = P..'daily:'..day..':'..user
local inPlace = 0
if place ~= '' then inPlace = tonumber(redis.call('HGET', counts, 'p:'..string.sub(place, 2)) or '0') end
return {redis.call('SCARD', P..'active-by-user:'..user), redis.call('SCARD', P..'queued-by-user:'..user),
  tonumber(redis.call('HGET', counts, 'all') or '0'), inPlace, redis.call('ZCARD', P..'queue')}
`;

/** ARGV: prefix, user, limit. Returns {body, version, owner|nil, ...}, newest first. */
export const RECENT = `
local P = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('ZREVRANGE', P..'recent:'..ARGV[2], 0, tonumber(ARGV[3]) - 1)) do
  local f = redis.call('HMGET', P..'job:'..id, 'body', 'version', 'owner')
  if f[1] then
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
    out[#out + 1] = f[3]
  end
end
return out
`;

/**
 * ARGV: prefix, instance, expiresAt, host?, pid?, started?, ttlMs. A new lease gets every field; an
 * existing one only its expiry (as the SQLite store does). The key expires \`ttlMs\` from now.
 */
export const PUT_LEASE = `
local P = ARGV[1]
local k = P..'lease:'..ARGV[2]
local ttl = tonumber(ARGV[7])
local host
if redis.call('EXISTS', k) == 1 then
  redis.call('HSET', k, 'expiresAt', ARGV[3])
  host = redis.call('HGET', k, 'host')
else
  redis.call('HSET', k, 'expiresAt', ARGV[3])
  if ARGV[4] ~= '' then host = string.sub(ARGV[4], 2); redis.call('HSET', k, 'host', host) end
  if ARGV[5] ~= '' then redis.call('HSET', k, 'pid', string.sub(ARGV[5], 2)) end
  if ARGV[6] ~= '' then redis.call('HSET', k, 'started', string.sub(ARGV[6], 2)) end
end
redis.call('PEXPIRE', k, ttl)
if host then
  local hk = P..'host:'..host
  redis.call('SADD', hk, ARGV[2])
  if redis.call('PTTL', hk) < ttl then redis.call('PEXPIRE', hk, ttl) end
end
return 1
`;

/** ARGV: prefix, host, now. Returns {instance, expiresAt, pid|'', started|'', ...} of fresh leases. */
export const LEASES_ON_HOST = `
local P, host, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local hk = P..'host:'..host
local out = {}
for _, instance in ipairs(redis.call('SMEMBERS', hk)) do
  local f = redis.call('HMGET', P..'lease:'..instance, 'expiresAt', 'host', 'pid', 'started')
  if not f[1] then
    redis.call('SREM', hk, instance)
  elseif f[2] == host and tonumber(f[1]) > now then
    out[#out + 1] = instance
    out[#out + 1] = f[1]
    out[#out + 1] = f[3] or ''
    out[#out + 1] = f[4] or ''
  end
end
return out
`;

/**
 * KEYS: the event's key. ARGV: now, expiresAt, expiresAt - now. True (1) for the first claim, or
 * when the last one's expiry has passed; the key then holds the new expiry and expires with it.
 */
export const CLAIM_EVENT = `
local seen = redis.call('GET', KEYS[1])
if seen and tonumber(seen) > tonumber(ARGV[1]) then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) else redis.call('DEL', KEYS[1]) end
return 1
`;

/** ARGV: prefix, ids…. Each job's version, or '' for one that isn't stored. */
export const VERSIONS = `
local out = {}
for i = 2, #ARGV do out[i - 1] = redis.call('HGET', ARGV[1] .. 'job:' .. ARGV[i], 'version') or '' end
return out
`;
