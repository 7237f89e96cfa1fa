// The Lua script that moves due jobs from PREFIX:{SITE}:delayed into their
// streams. Each member moves all or nothing: it leaves the sorted set only
// in the script call whose XADD succeeded, so a job is never lost or doubled
// between the two keys, whoever runs the script (every worker does, on a
// timer; the script makes that safe).
//
//   EVAL <script> 1 PREFIX:{SITE}:delayed NOW_MS LIMIT PREFIX:{SITE}: HOLD_MS
// returns {moved, KEY, REASON, KEY, REASON, ...}: the number of jobs moved,
// then one pair per member held back because its target could not take it
// (KEY is not a stream: another program wrote a string there, say). A
// held-back member stays in the set, due HOLD_MS later, so it is tried again
// at that pace (not on every run) and moves by itself once the key is fixed.
// A member that is not a JSON object with a "queue" goes to
// PREFIX:{SITE}:dead:_malformed with the reason. The stream keys are derived
// inside the script; they share the site's hash tag, so they live in the
// same Redis Cluster slot as the declared key.
#pragma once

namespace qd {

inline constexpr const char* kPromoterScript = R"lua(
local function b64decode(s)
  local alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  s = string.gsub(s, '[^' .. alphabet .. '=]', '')
  return (s:gsub('.', function(x)
    if x == '=' then return '' end
    local r, f = '', (alphabet:find(x, 1, true) - 1)
    for i = 6, 1, -1 do r = r .. (f % 2 ^ i - f % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end):gsub('%d%d%d?%d?%d?%d?%d?%d?', function(x)
    if #x ~= 8 then return '' end
    local c = 0
    for i = 1, 8 do c = c + (x:sub(i, i) == '1' and 2 ^ (8 - i) or 0) end
    return string.char(c)
  end))
end

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
  local ok, job = pcall(cjson.decode, member)
  if ok and type(job) == 'table' and type(job['queue']) == 'string' and job['queue'] ~= '' then
    local args = {}
    local has_payload = false
    for k, v in pairs(job) do
      if k ~= 'queue' then
        if k == 'payload_b64' then
          k = 'payload'
          v = b64decode(tostring(v))
        end
        if k == 'payload' then has_payload = true end
        args[#args + 1] = k
        args[#args + 1] = tostring(v)
      end
    end
    if not has_payload then
      args[#args + 1] = 'payload'
      args[#args + 1] = ''
    end
    if xadd(member, ARGV[3] .. 'q:' .. job['queue'], args) then moved = moved + 1 end
  else
    xadd(member, ARGV[3] .. 'dead:_malformed',
         {'payload', member, 'error', 'delayed member is not a JSON object with a "queue"',
          'failed_at', ARGV[1]})
  end
end
table.insert(held, 1, moved)
return held
)lua";

}  // namespace qd
