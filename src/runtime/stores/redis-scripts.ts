/**
 * The Lua scripts of the Redis stores: every store operation that must be atomic is one script, so
 * Redis runs it as one step however many agent processes share the server.
 *
 * Numbers cross the boundary as text: JavaScript formats them with `String(n)` (shortest round-trip
 * form) and Lua writes results with `%.17g`, so sums are the same IEEE doubles the memory store computes.
 */
import { createHash } from 'node:crypto';

/** A Lua script and its SHA-1 (for EVALSHA). */
export interface LuaScript {
  readonly name: string;
  readonly text: string;
  readonly sha: string;
}

function script(name: string, text: string): LuaScript {
  return Object.freeze({ name, text, sha: createHash('sha1').update(text).digest('hex') });
}

/** Scope fields of a single-use record, in the order the scripts pass them. */
export const SCOPE_FIELDS = ['tenant', 'session', 'run', 'intent', 'plan'] as const;

/** Shared Lua helpers of the single-use scripts: `base` is `<prefix><store>:`. */
const SINGLE_USE_HELPERS = `
local FIELDS = {'tenant', 'session', 'run', 'intent', 'plan'}
local function recordKey(base, id) return base .. 'r:' .. id end
local function indexKey(base, field, value) return base .. 'i:' .. field .. ':' .. value end
local function unindex(base, id, scope)
  redis.call('SREM', base .. 'i:all', id)
  for i, f in ipairs(FIELDS) do
    if scope[i] then redis.call('SREM', indexKey(base, f, scope[i]), id) end
  end
end
`;

/**
 * put. KEYS[1] record; ARGV: base, id, expiresAt, ttlMs, record JSON, tenant, session, run, intent, plan.
 * Writes the record (replacing one with the same id), indexes it by every scope field and in the
 * `all` set, keeps each index alive at least as long as the record, and drops up to two sampled
 * index members whose record is gone or no longer live (so indexes stay proportional to live records).
 */
export const PUT = script('put', `${SINGLE_USE_HELPERS}
local base, id = ARGV[1], ARGV[2]
local ttl = tonumber(ARGV[4])
local old = redis.call('HMGET', KEYS[1], 'tenant', 'session', 'run', 'intent', 'plan')
if old[1] then unindex(base, id, old) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'live', 'exp', ARGV[3], 'rec', ARGV[5],
  'tenant', ARGV[6], 'session', ARGV[7], 'run', ARGV[8], 'intent', ARGV[9], 'plan', ARGV[10])
redis.call('PEXPIRE', KEYS[1], ttl)
local function index(key)
  redis.call('SADD', key, id)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  for _, m in ipairs(redis.call('SRANDMEMBER', key, 2)) do
    if redis.call('HGET', recordKey(base, m), 'state') ~= 'live' then redis.call('SREM', key, m) end
  end
end
index(base .. 'i:all')
for i, f in ipairs(FIELDS) do index(indexKey(base, f, ARGV[5 + i])) end
return 1
`);

/**
 * take or peek. KEYS[1] record; ARGV: base, id, now, mode ('take' | 'peek').
 * Answers {status} or {'ok', record JSON}; a take marks the record used, drops its body and unindexes it.
 * Order as the memory store: unknown, used, revoked, expired (now >= expiresAt), ok.
 */
export const TAKE = script('take', `${SINGLE_USE_HELPERS}
local h = redis.call('HMGET', KEYS[1], 'state', 'exp', 'rec', 'tenant', 'session', 'run', 'intent', 'plan')
local state = h[1]
if not state then return {'unknown'} end
if state ~= 'live' then return {state} end
if tonumber(ARGV[3]) >= tonumber(h[2]) then return {'expired'} end
if ARGV[4] == 'take' then
  redis.call('HSET', KEYS[1], 'state', 'used')
  redis.call('HDEL', KEYS[1], 'rec')
  unindex(ARGV[1], ARGV[2], {h[4], h[5], h[6], h[7], h[8]})
end
return {'ok', h[3]}
`);

/**
 * revoke. KEYS[1] the record (mode 'id') or the tenant's `all` index (routes the script to the
 * tenant's slot; every key it touches shares the tag). ARGV: base, mode ('all' | 'id' | 'filter'), id, mask (five '0'/'1' for tenant, session,
 * run, intent, plan), then the five values. Marks every matching live record revoked (an expired
 * but unused record counts, as in the memory store) and answers how many. Filters walk the index of
 * the most selective field given (run, plan, intent, session, tenant); `all` walks the `all` index.
 */
export const REVOKE = script('revoke', `${SINGLE_USE_HELPERS}
local base, mode, id, mask = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local want = {}
for i = 1, 5 do
  if string.sub(mask, i, i) == '1' then want[i] = ARGV[4 + i] end
end
local function revokeOne(m, idx)
  local rk = recordKey(base, m)
  local h = redis.call('HMGET', rk, 'state', 'tenant', 'session', 'run', 'intent', 'plan')
  if h[1] ~= 'live' then
    if idx then redis.call('SREM', idx, m) end
    return 0
  end
  for i = 1, 5 do
    if want[i] ~= nil and want[i] ~= h[i + 1] then return 0 end
  end
  redis.call('HSET', rk, 'state', 'revoked')
  redis.call('HDEL', rk, 'rec')
  unindex(base, m, {h[2], h[3], h[4], h[5], h[6]})
  return 1
end
if mode == 'id' then return revokeOne(id, nil) end
local idx = nil
if mode == 'all' then
  idx = base .. 'i:all'
else
  for _, i in ipairs({3, 5, 4, 2, 1}) do
    if want[i] ~= nil then
      idx = indexKey(base, FIELDS[i], want[i])
      break
    end
  end
end
if not idx then return 0 end
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', idx)) do n = n + revokeOne(m, idx) end
return n
`);

/** note. KEYS[1] a tenant lookup (string) or the tenants set; ARGV: 'set' | 'add', the tenant, ttlMs (kept at least that long). */
export const NOTE = script('note', `
local ttl = tonumber(ARGV[3])
if ARGV[1] == 'set' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SADD', KEYS[1], ARGV[2])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return 1
`);

/** tenant of. KEYS[1] the lookup key of a record id. Answers the tenant or nil. */
export const TENANT_OF = script('tenant_of', `
return redis.call('GET', KEYS[1])
`);

/** members. KEYS[1] a set. Answers its members. */
export const MEMBERS = script('members', `
return redis.call('SMEMBERS', KEYS[1])
`);

/**
 * consume. KEYS: the counters (one slot: hash-tagged by tenant); ARGV per counter (5 each): windowed
 * ('1' | '0'), window start, limit, cost, ttlMs (a windowed counter's, or a quota's retention; '0': kept for good). Checks every counter, then (only if all fit) adds every cost.
 * Answers {0} or {index (1-based) of the first counter that did not fit, its usage}.
 * A counter is a hash {w: window start, v: value}; a windowed counter from another window reads 0.
 */
export const CONSUME = script('consume', `
local function fmt(n) return string.format('%.17g', n) end
local function used(key, windowed, ws)
  local c = redis.call('HMGET', key, 'w', 'v')
  if not c[2] then return 0 end
  if windowed == '1' and c[1] ~= ws then return 0 end
  return tonumber(c[2])
end
for i = 1, #KEYS do
  local a = (i - 1) * 5
  local u = used(KEYS[i], ARGV[a + 1], ARGV[a + 2])
  if u + tonumber(ARGV[a + 4]) > tonumber(ARGV[a + 3]) then return {i, fmt(u)} end
end
for i = 1, #KEYS do
  local a = (i - 1) * 5
  local key, ws, cost = KEYS[i], ARGV[a + 2], tonumber(ARGV[a + 4])
  local c = redis.call('HMGET', key, 'w', 'v')
  if (not c[2]) or c[1] ~= ws then
    redis.call('HSET', key, 'w', ws, 'v', fmt(cost))
    if ARGV[a + 5] ~= '0' then redis.call('PEXPIRE', key, ARGV[a + 5]) else redis.call('PERSIST', key) end
  else
    redis.call('HSET', key, 'v', fmt(tonumber(c[2]) + cost))
    if ARGV[a + 1] == '0' and ARGV[a + 5] ~= '0' then redis.call('PEXPIRE', key, ARGV[a + 5]) end
  end
end
return {0}
`);

/** value. KEYS[1] counter; ARGV: windowed, window start. Answers the usage as text. */
export const VALUE = script('value', `
local c = redis.call('HMGET', KEYS[1], 'w', 'v')
if not c[2] then return '0' end
if ARGV[1] == '1' and c[1] ~= ARGV[2] then return '0' end
return c[2]
`);

/**
 * Shared Lua of the session scripts. A session is three keys: KEYS[1] a hash of the scalars
 * (meta = JSON of id, tenant, createdAt, expiresAt, metadata), KEYS[2] a hash of counts per action,
 * KEYS[3] a list of history entries (JSON). `read` answers them as one array, the history as one
JSON array text (one bulk string to transfer and one JSON.parse instead of one per entry).
 */
const SESSION_HELPERS = `
local function fmt(n) return string.format('%.17g', n) end
local function read()
  local h = redis.call('HMGET', KEYS[1], 'meta', 'revoked', 'n', 'risk', 'last', 'ver')
  if not h[1] then return false end
  local hasLast = '0'
  if h[5] then hasLast = '1' end
  local history = '[' .. table.concat(redis.call('LRANGE', KEYS[3], 0, -1), ',') .. ']'
  return {h[1], h[2], h[3], h[4], hasLast, h[5] or '', redis.call('HGETALL', KEYS[2]), history, h[6] or '0'}
end
`;

/**
 * session create. KEYS: hash, counts, history; ARGV: ttlMs, historyLimit, meta JSON, revoked, actionsRun,
 * cumulativeRisk, hasLast, lastAction, version, number of count pairs, the pairs, then the history entries.
 */
export const SESSION_CREATE = script('session_create', `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'meta', ARGV[3], 'revoked', ARGV[4], 'n', ARGV[5], 'risk', ARGV[6], 'ver', ARGV[9])
if ARGV[7] == '1' then redis.call('HSET', KEYS[1], 'last', ARGV[8]) end
local np = tonumber(ARGV[10])
for i = 1, np do redis.call('HSET', KEYS[2], ARGV[9 + 2 * i], ARGV[10 + 2 * i]) end
for i = 11 + 2 * np, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
`);

/** session get. KEYS: hash, counts, history. Answers the session as `read` does, or nil. */
export const SESSION_GET = script('session_get', `${SESSION_HELPERS}
return read()
`);

/**
 * session record. KEYS: hash, counts, history; ARGV: historyLimit, action, entry JSON, risk.
 * Adds one run of the action, its risk and the entry (keeping the last historyLimit), atomically;
 * answers the updated session, or nil for an unknown one.
 */
export const SESSION_RECORD = script('session_record', `${SESSION_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local h = redis.call('HMGET', KEYS[1], 'n', 'risk')
local count = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
local ver = tonumber(redis.call('HGET', KEYS[1], 'ver') or '0')
redis.call('HSET', KEYS[1], 'n', fmt(tonumber(h[1]) + 1), 'risk', fmt(tonumber(h[2]) + tonumber(ARGV[4])), 'last', ARGV[2], 'ver', fmt(ver + 1))
redis.call('HSET', KEYS[2], ARGV[2], fmt(count + 1))
redis.call('RPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[1]), -1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return read()
`);

/**
 * session reserve. KEYS: hash, counts, history; ARGV: expected version, action, risk, now.
 * Answers {'unknown'}, {'revoked'}, {'expired'}, {'conflict', session} when the version moved, or
 * {'ok', session} after counting one run of the action, adding its risk, setting the last action
 * and bumping the version: one step, so concurrent decisions on the same facts cannot all pass.
 */
export const SESSION_RESERVE = script('session_reserve', `${SESSION_HELPERS}
local h = redis.call('HMGET', KEYS[1], 'meta', 'revoked', 'n', 'risk', 'ver')
if not h[1] then return {'unknown'} end
if h[2] == '1' then return {'revoked'} end
if tonumber(ARGV[4]) >= tonumber(cjson.decode(h[1])['expiresAt']) then return {'expired'} end
local ver = tonumber(h[5] or '0')
if tonumber(ARGV[1]) >= 0 and ver ~= tonumber(ARGV[1]) then return {'conflict', read()} end
local count = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
redis.call('HSET', KEYS[1], 'n', fmt(tonumber(h[3]) + 1), 'risk', fmt(tonumber(h[4]) + tonumber(ARGV[3])), 'last', ARGV[2], 'ver', fmt(ver + 1))
redis.call('HSET', KEYS[2], ARGV[2], fmt(count + 1))
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return {'ok', read()}
`);

/**
 * session complete. KEYS: hash, counts, history; ARGV: historyLimit, entry JSON.
 * Appends the outcome entry (keeping the last historyLimit); answers the session, or nil for an unknown one.
 */
export const SESSION_COMPLETE = script('session_complete', `${SESSION_HELPERS}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[1]), -1)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
return read()
`);

/** session revoke. KEYS[1] hash. Answers 1 when the session exists (now revoked), else 0. */
export const SESSION_REVOKE = script('session_revoke', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'revoked', '1')
return 1
`);
