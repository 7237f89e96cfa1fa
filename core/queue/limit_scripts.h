// The Lua scripts of the concurrency and rate limits (docs/limits.md, which
// gives the same protocol for other languages). Every decision is made
// inside Redis, atomically and on the server's clock (TIME), so daemons on
// hosts with skewed clocks agree and a limit holds across all of them.
//
// Keys, with T = PREFIX:{SITE}: and a bucket B = NAME, or NAME:KEY when the
// job has a `limit_key` field KEY (one budget per key):
//   T limit:B:held    hash: HOLDER -> concurrency slots it holds. A holder
//                     is a worker (its consumer name HOST:ID:SLOT), which
//                     runs its jobs in the slots it holds, or an entry a
//                     waiter was moved back to (QUEUE/ID), whose slot
//                     waits for it. Slots in use = the sum.
//   T limit:B:run     sorted set: HOLDER -> its lease expiry (ms); an
//                     expired holder's slots are free again.
//   T limit:B:pend    sorted set: a rate grant not yet started, member
//                     QUEUE/ID/DELIVERY, score = expiry (ms).
//   T limit:B:starts  sorted set: the starts of the last window, member
//                     QUEUE/ID/DELIVERY, score = when it was confirmed.
//   T limit:B:wait    list: the jobs waiting for budget, oldest first, each
//                     a job member as the delayed set holds them (JSON,
//                     job_member_lua.h).
//   T limits          sorted set of the buckets with waiters, score = when
//                     a sweep should look at it again (ms).
//   T limit:NAME:keys sorted set of the KEYs a limit saw, score = last use:
//                     what the stats count.
// A worker asks for a slot only when it has a job and none free; it keeps
// it for its next jobs of the bucket, and gives it back once it has none
// left or others wait (it says how many it holds at least every 10 ms and
// the reply tells it whether any wait). So a limit never reached costs no
// Redis command per job. A rate counts its pending grants and the starts
// confirmed within the window: a grant is confirmed only as its job
// starts (just before the handler is called), so every start that
// happened in a window is counted, pending or confirmed, whenever a later
// grant is decided, and no window ever holds more than the rate.
//
// Common arguments (kLimitLua reads them; `at` then points at the rest):
//   EVAL <script> 1 T..limits  T GROUP PEND_LEASE_MS HOLDER
//        NL {NAME CONCURRENCY RATE WINDOW_MS LEASE_MS}xNL
//        NQ {QUEUE LEASE_MS}xNQ ...
// with 0 for a bound a limit does not have; a queue's lease is its
// visibility_timeout, a limit's the longest of its queues'. Every key is
// derived from T, which holds the site's hash tag: they all live in the
// Redis Cluster slot of the declared key. Redis does not undo a script's
// writes when a command in it fails, so a key of the wrong type is checked
// (TYPE) before anything moves.
#pragma once

#include <string>

#include "core/queue/job_member_lua.h"

namespace qd {

inline constexpr const char* kLimitLua = R"lua(
local T, group, pend_lease, holder = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local limits, leases = {}, {}
local at = 6
for _ = 1, tonumber(ARGV[5]) do
  limits[ARGV[at]] = {name = ARGV[at], c = tonumber(ARGV[at + 1]),
                      r = tonumber(ARGV[at + 2]), w = tonumber(ARGV[at + 3]),
                      lease = tonumber(ARGV[at + 4])}
  at = at + 5
end
local nq = tonumber(ARGV[at])
at = at + 1
for _ = 1, nq do
  leases[ARGV[at]] = tonumber(ARGV[at + 1])
  at = at + 2
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local held = {}  -- KEY, REASON pairs: keys of the wrong type met

-- A bucket as this call sees it; nil for a limit not configured.
local buckets = {}
local function bucket(id)
  local b = buckets[id]
  if b then return b end
  local name = string.match(id, '^[^:]+')
  local def = limits[name]
  if def == nil then return nil end
  local base = T .. 'limit:' .. id
  b = {id = id, def = def, held = base .. ':held', run = base .. ':run',
       pend = base .. ':pend', starts = base .. ':starts', wait = base .. ':wait',
       used = 0, mine = 0, started = 0, loaded = false}
  -- A wait list of another type (another program wrote it) holds no
  -- waiters; park() says so and leaves the job where it is.
  local waiting = redis.pcall('LLEN', b.wait)
  b.waiting = type(waiting) == 'number' and waiting or 0
  b.was = b.waiting
  if #id > #name then
    redis.call('ZADD', T .. 'limit:' .. name .. ':keys', now, string.sub(id, #name + 2))
  end
  buckets[id] = b
  return b
end

-- Drops expired holders, grants and starts out of the window, then counts
-- what is left: once per call, when a decision needs it.
local function load(b)
  if b.loaded then return end
  b.loaded = true
  if b.def.c > 0 then
    local gone = redis.call('ZRANGEBYSCORE', b.run, '-inf', now)
    if #gone > 0 then
      redis.call('HDEL', b.held, unpack(gone))
      redis.call('ZREMRANGEBYSCORE', b.run, '-inf', now)
    end
    local all = redis.call('HGETALL', b.held)
    for i = 1, #all, 2 do
      local n = tonumber(all[i + 1]) or 0
      b.used = b.used + n
      if all[i] == holder then b.mine = n end
    end
  end
  if b.def.r > 0 then
    redis.call('ZREMRANGEBYSCORE', b.pend, '-inf', now)
    redis.call('ZREMRANGEBYSCORE', b.starts, '-inf', now - b.def.w)
    b.started = redis.call('ZCARD', b.pend) + redis.call('ZCARD', b.starts)
  end
end

-- Writes that holder H holds N slots (its lease renewed), or none. The
-- caller keeps b.used.
local function hold(b, h, n, lease)
  if n > 0 then
    redis.call('HSET', b.held, h, n)
    redis.call('ZADD', b.run, now + lease, h)
  else
    redis.call('HDEL', b.held, h)
    redis.call('ZREM', b.run, h)
  end
end

-- The worker says it holds N slots of the bucket.
local function mine(b, n)
  load(b)
  b.used = b.used - b.mine + n
  b.mine = n
end

-- Budget for one more job. `ahead` (a grant for a job that is not the
-- first of its bucket in the call) leaves half of each bound to others.
-- `free`: the worker holds an idle slot for it; `hr`: its rate grant is
-- held (reserved) already.
local function room(b, ahead, free, hr)
  load(b)
  local k = ahead and 2 or 1
  local d = b.def
  return (d.c == 0 or free or b.used * k < d.c) and
         (d.r == 0 or hr or b.started * k < d.r)
end

-- When a sweep should look at a bucket with waiters: once a start leaves
-- the window or a holder's lease ends, and at least every 5 s. A pending
-- grant frees its budget a window after it is confirmed (now at the
-- earliest), or when it expires unconfirmed.
local function due(b)
  if b.stuck then return now + 10000 end
  if room(b, false) then return now end
  local d = now + 5000
  local function first(key, plus)
    local s = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if s[2] then d = math.min(d, tonumber(s[2]) + plus) end
    return s[2] ~= nil
  end
  if b.def.c > 0 then first(b.run, 0) end
  if b.def.r > 0 then
    if first(b.pend, 0) then d = math.min(d, now + b.def.w) end
    first(b.starts, b.def.w)
  end
  return math.max(d, now)
end

-- Marks a job moved back from a wait list (once, however often it waited):
-- its worker then asks for it, which takes over the slot reserved for it,
-- instead of running it on an idle slot of its own and leaving the
-- reservation held until its lease ends.
local function waited(args)
  for i = 1, #args, 2 do
    if args[i] == 'limit_waited' then return end
  end
  args[#args + 1] = 'limit_waited'
  args[#args + 1] = '1'
end

-- Moves waiters back to their streams while the budget allows, each with
-- its slot (holder QUEUE/ID) and rate grant (QUEUE/ID/1) reserved for its
-- new entry, so that no newcomer can take the budget before it.
local function promote(b)
  while b.waiting > 0 and room(b, false) do
    local member = redis.call('LPOP', b.wait)
    if not member then
      b.waiting = 0
      break
    end
    b.waiting = b.waiting - 1
    local queue, args = parse(member, leases)
    if queue ~= nil then waited(args) end
    if queue == nil then
      redis.call('XADD', T .. 'dead:_malformed', '*', 'payload', member,
                 'error', args, 'failed_at', tostring(now))
    else
      local key = T .. 'q:' .. queue
      local t = redis.call('TYPE', key)['ok']
      local id = {err = 'holds a ' .. t .. ', not a stream'}
      if t == 'stream' or t == 'none' then
        id = redis.pcall('XADD', key, '*', unpack(args))
      end
      if type(id) ~= 'string' then
        redis.call('LPUSH', b.wait, member)
        b.waiting = b.waiting + 1
        b.stuck = true
        held[#held + 1] = key
        held[#held + 1] = id['err']
        break
      end
      local m = queue .. '/' .. id
      if b.def.c > 0 then
        hold(b, m, 1, leases[queue])
        b.used = b.used + 1
      end
      if b.def.r > 0 then
        redis.call('ZADD', b.pend, now + pend_lease, m .. '/1')
        b.started = b.started + 1
      end
    end
  end
end

-- The index of buckets with waiters, for every bucket the call touched.
local function finish()
  for id, b in pairs(buckets) do
    if b.waiting > 0 then
      redis.call('ZADD', KEYS[1], due(b), id)
    elseif b.was > 0 or b.swept then
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
)lua";

// Asks budget for jobs a worker holds, in the order they would run:
//   ... NB {BUCKET HELD FREE}xNB  N {BUCKET QUEUE ID DELIVERY MEMBER}xN
// HELD is how many slots of BUCKET the worker (HOLDER) holds as it knows
// it (this corrects what a worker that died in the same slot left), FREE
// how many of those are idle: a granted job takes one of those first.
// MEMBER is the job as a wait-list member (DelayedJob::Encode), or "" to
// leave it out while the job is expected to get its budget. Returns
// {CODES, {KEY, REASON, ...}}, a code per job:
//   1 granted (a slot, now counted for HOLDER, and a rate grant)
//   0 not granted: a grant ahead (not the first of its bucket in the call)
//     that would take more than half the budget; ask again in its turn
//   2 parked: XACKed in its stream (the entry goes with the stream's next
//     trim, stream_trim.h) and pushed to the bucket's wait list, in one
//     step; the worker forgets it
//   3 it must wait and its MEMBER was left out: nothing changed; ask again
//     with the member
//   4 it must wait and the wait list holds another type (KEY, REASON say
//     which): nothing changed; it stays pending, to come back through
//     XAUTOCLAIM
//   5 no longer pending in its stream (acked by another worker): forget it
// A job waits when its bucket has waiters already (they go first) or no
// budget. A job whose slot or grant is reserved (a waiter moved back to
// its entry) goes first and takes them over, and so does a job delivered
// before (its worker died running it); if the budget refuses it, it waits
// at the head of the list.
inline const std::string kLimitAcquireScript =
    std::string(kJobMemberLua) + kLimitLua + R"lua(
local function park(b, queue, jid, member, head, m, hc, hr, deliv)
  if member == '' then return 3 end
  local t = redis.call('TYPE', b.wait)['ok']
  if t ~= 'list' and t ~= 'none' then
    held[#held + 1] = b.wait
    held[#held + 1] = 'holds a ' .. t .. ', not a list'
    return 4
  end
  local stream = T .. 'q:' .. queue
  if redis.call('XACK', stream, group, jid) == 0 then return 5 end
  redis.call(head and 'LPUSH' or 'RPUSH', b.wait, member)
  b.waiting = b.waiting + 1
  if hc then
    hold(b, m, 0, 0)
    b.used = b.used - 1
  end
  if hr and redis.call('ZREM', b.pend, m .. '/' .. deliv) == 1 then
    b.started = b.started - 1
  end
  return 2
end

-- Takes a slot (an idle one of the worker's first) and a rate grant.
local function take(b, m, deliv, hc, hr)
  if b.def.c > 0 then
    if hc then  -- the reserved slot passes to the worker
      hold(b, m, 0, 0)
      b.mine = b.mine + 1
    elseif b.free > 0 then
      b.free = b.free - 1
    else
      b.mine = b.mine + 1
      b.used = b.used + 1
    end
    b.dirty = true
  end
  if b.def.r > 0 then
    if redis.call('ZADD', b.pend, now + pend_lease, m .. '/' .. deliv) == 1 then
      b.started = b.started + 1
    end
  end
end

for _ = 1, tonumber(ARGV[at]) do
  local b = bucket(ARGV[at + 1])
  if b ~= nil and b.def.c > 0 then
    mine(b, tonumber(ARGV[at + 2]))
    b.free = tonumber(ARGV[at + 3])
    b.dirty = true
  end
  at = at + 3
end
at = at + 1
local codes, waits, seen = {}, {}, {}
for i = 1, tonumber(ARGV[at]) do
  local id, queue, jid, deliv, member = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3],
                                       ARGV[at + 4], ARGV[at + 5]
  at = at + 5
  local b = bucket(id)
  local code = 1
  if b ~= nil then
    load(b)
    b.free = b.free or 0
    local m = queue .. '/' .. jid
    local hc = b.def.c > 0 and redis.call('HEXISTS', b.held, m) == 1
    local hr = b.def.r > 0 and redis.call('ZSCORE', b.pend, m .. '/' .. deliv) ~= false
    -- First in line: a reserved entry, or one delivered before (its worker
    -- died running it, or it was claimed).
    if hc or hr or deliv ~= '1' then
      if room(b, false, hc or b.free > 0, hr) then
        take(b, m, deliv, hc, hr)
      else
        code = park(b, queue, jid, member, true, m, hc, hr, deliv)
      end
    elseif waits[id] or b.waiting > 0 or not room(b, false, b.free > 0) then
      code = park(b, queue, jid, member, false)
    elseif seen[id] and not room(b, true, b.free > 0) then
      code = 0
    else
      take(b, m, deliv)
    end
    if code == 2 or code == 3 or code == 4 then waits[id] = true end
    seen[id] = true
  end
  codes[i] = code
end
for _, b in pairs(buckets) do
  if b.dirty then hold(b, holder, b.mine, b.def.lease) end
end
finish()
return {codes, held}
)lua";

// A job that started: its rate grant becomes a start, counted from now.
//   EVAL <script> 2 T..limit:B:pend T..limit:B:starts QUEUE/ID/DELIVERY
// A grant that expired before this came still started: it is counted all
// the same. Sent as the worker commits to run the job, just before its
// handler is called (and flushed then, so that a handler that blocks the
// loop cannot hold it back): a confirmation is never earlier than what it
// counts by more than that step. Returns 1 when the grant was still there.
inline constexpr const char* kLimitConfirmScript = R"lua(
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local pending = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], now, ARGV[1])
return pending
)lua";

// What a worker holds now, and what became of its unstarted rate grants:
//   ... NB {BUCKET HELD}xNB  N {BUCKET OP QUEUE ID DELIVERY}xN
// HELD: the slots of BUCKET the worker (HOLDER) keeps, its lease renewed;
// 0 gives them all back. OP "x": a rate grant given back unstarted;
// "c": a confirmation whose reply was lost, sent again (as
// kLimitConfirmScript; counting a start twice errs on the safe side).
// Then waiters move back to their streams while the budget allows.
// Returns {WAITING, {KEY, REASON, ...}}: per listed bucket, how many jobs
// still wait (the worker gives back what it holds idle when some do), and
// the waiters held back because their stream holds another type.
inline const std::string kLimitHoldScript =
    std::string(kJobMemberLua) + kLimitLua + R"lua(
local listed = {}
for _ = 1, tonumber(ARGV[at]) do
  local b = bucket(ARGV[at + 1])
  if b ~= nil and b.def.c > 0 then
    mine(b, tonumber(ARGV[at + 2]))
    hold(b, holder, b.mine, b.def.lease)
  end
  listed[#listed + 1] = ARGV[at + 1]
  at = at + 2
end
at = at + 1
for _ = 1, tonumber(ARGV[at]) do
  local b, op = bucket(ARGV[at + 1]), ARGV[at + 2]
  local grant = ARGV[at + 3] .. '/' .. ARGV[at + 4] .. '/' .. ARGV[at + 5]
  at = at + 5
  if b ~= nil and b.def.r > 0 then
    load(b)
    local pending = redis.call('ZREM', b.pend, grant) == 1
    if op == 'c' then
      redis.call('ZADD', b.starts, now, grant)
      if not pending then b.started = b.started + 1 end
    elseif pending then
      b.started = b.started - 1
    end
  end
end
for _, b in pairs(buckets) do promote(b) end
finish()
local waiting = {}
for i, id in ipairs(listed) do
  waiting[i] = buckets[id] and buckets[id].waiting or 0
end
return {waiting, held}
)lua";

// The sweep, for budget that time frees (a start leaving its window, the
// lease of a worker that died): up to MAX buckets whose time came.
//   ... MAX
// Returns {MS, {KEY, REASON, ...}}: MS until the next bucket is due, -1
// when none waits. Also drops the keys no job used for a day.
inline const std::string kLimitSweepScript =
    std::string(kJobMemberLua) + kLimitLua + R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[at]))
for _, id in ipairs(ids) do
  local b = bucket(id)
  if b == nil then
    redis.call('ZADD', KEYS[1], now + 1000, id)  -- a limit of another config
  else
    b.swept = true
    promote(b)
  end
end
finish()
for name, _ in pairs(limits) do
  redis.call('ZREMRANGEBYSCORE', T .. 'limit:' .. name .. ':keys', '-inf', now - 86400000)
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if first[2] then wait = math.max(0, tonumber(first[2]) - now) end
return {wait, held}
)lua";

// What each limit holds now, for queuectl stats and /metrics:
//   (common arguments; HOLDER and the queues are not used)
// Returns {NAME, KEYS, RUNNING, PENDING, STARTED, WAITING} per limit: KEYS
// the limit_keys used within a day (the first 1000 are counted), RUNNING
// the slots held (by workers, for their jobs, and for waiters moved back),
// PENDING rate grants not started yet, STARTED the starts within the
// window, WAITING the jobs in wait lists. Writes nothing.
inline const std::string kLimitStatsScript =
    std::string(kJobMemberLua) + kLimitLua + R"lua(
local out = {}
for name, def in pairs(limits) do
  local keys = redis.call('ZRANGEBYSCORE', T .. 'limit:' .. name .. ':keys',
                          now - 86400000, '+inf', 'LIMIT', 0, 1000)
  local row = {name, #keys, 0, 0, 0, 0}
  local function add(id)
    local base = T .. 'limit:' .. id
    local alive = redis.call('ZRANGEBYSCORE', base .. ':run', '(' .. now, '+inf')
    for _, h in ipairs(alive) do
      row[3] = row[3] + (tonumber(redis.call('HGET', base .. ':held', h)) or 0)
    end
    row[4] = row[4] + redis.call('ZCOUNT', base .. ':pend', '(' .. now, '+inf')
    row[5] = row[5] + redis.call('ZCOUNT', base .. ':starts', '(' .. (now - def.w), '+inf')
    row[6] = row[6] + redis.call('LLEN', base .. ':wait')
  end
  add(name)
  for _, key in ipairs(keys) do add(name .. ':' .. key) end
  out[#out + 1] = row
end
return out
)lua";

// Renews the leases of the slots a worker holds while a handler blocks its
// loop (LeaseKeeper):
//   EVAL <script> 1 ANY_KEY_OF_THE_SITE HOLDER {RUN_KEY LEASE_MS}...
// Only a lease still there is renewed (ZADD XX): one a sweep dropped as
// expired stays dropped. Returns how many were renewed.
inline constexpr const char* kLimitRenewScript = R"lua(
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local renewed = 0
for i = 2, #ARGV - 1, 2 do
  renewed = renewed + redis.call('ZADD', ARGV[i], 'XX', 'CH', now + tonumber(ARGV[i + 1]), ARGV[1])
end
return renewed
)lua";

}  // namespace qd
