// The Lua script that moves due jobs from PREFIX:{SITE}:delayed into their
// streams. Each member moves all or nothing: it leaves the sorted set only
// in the script call whose XADD succeeded, so a job is never lost or doubled
// between the two keys, whoever runs the script (every worker does, on a
// timer; the script makes that safe).
//
//   EVAL <script> 1 PREFIX:{SITE}:delayed NOW_MS LIMIT PREFIX:{SITE}: HOLD_MS
//        QUEUE...
// returns {moved, KEY, REASON, KEY, REASON, ...}: the number of jobs moved,
// then one pair per member held back because its target could not take it
// (KEY is not a stream: another program wrote a string there, say). A
// held-back member stays in the set, due HOLD_MS later, so it is tried again
// at that pace (not on every run) and moves by itself once the key is fixed.
// A member is refused to PREFIX:{SITE}:dead:_malformed, with the reason,
// when parse() (job_member_lua.h) refuses it: not a JSON object with a
// "queue" among the site's QUEUEs, no payload, a bad base64 field, a field
// given twice, a number that would not arrive as written. The stream
// keys are derived inside the script; they share the site's hash tag, so
// they live in the same Redis Cluster slot as the declared key.
#pragma once

#include <string>

#include "core/queue/job_member_lua.h"

namespace qd {

inline const std::string kPromoterScript = std::string(kJobMemberLua) + R"lua(
local queues = {}
for i = 5, #ARGV do queues[ARGV[i]] = true end

-- Redis does not undo a script's writes when a command in it fails, so
-- each target is checked (TYPE) and written with pcall, and the member is
-- removed only after its XADD succeeded.
local held = {}
local function hold(member, key, reason)
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[4]), member)
  held[#held + 1] = key
  held[#held + 1] = reason
end

local function xadd(member, key, args)
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'stream' and t ~= 'none' then
    hold(member, key, 'holds a ' .. t .. ', not a stream')
    return false
  end
  local r = redis.pcall('XADD', key, '*', unpack(args))
  if type(r) == 'table' and r['err'] then
    hold(member, key, r['err'])
    return false
  end
  redis.call('ZREM', KEYS[1], member)
  return true
end

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, member in ipairs(due) do
  local queue, args = parse(member, queues)
  if queue ~= nil then
    if xadd(member, ARGV[3] .. 'q:' .. queue, args) then moved = moved + 1 end
  else
    xadd(member, ARGV[3] .. 'dead:_malformed',
         {'payload', member, 'error', args, 'failed_at', ARGV[1]})
  end
end
table.insert(held, 1, moved)
return held
)lua";

}  // namespace qd
