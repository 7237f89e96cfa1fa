// The Lua script that moves due jobs from PREFIX:{SITE}:delayed into their
// streams, atomically: a member is removed from the sorted set in the same
// script call that adds its stream entry, so a job is never lost or doubled
// between the two keys, whoever runs the script (every worker does, on a
// timer; the script makes that safe).
//
//   EVAL <script> 1 PREFIX:{SITE}:delayed NOW_MS LIMIT PREFIX:{SITE}:
// returns the number of jobs moved. A member that is not a JSON object with
// a "queue" goes to PREFIX:{SITE}:dead:_malformed with the reason. The
// stream keys are derived inside the script; they share the site's hash tag,
// so they live in the same Redis Cluster slot as the declared key.
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

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local moved = 0
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
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
    redis.call('XADD', ARGV[3] .. 'q:' .. job['queue'], '*', unpack(args))
    moved = moved + 1
  else
    redis.call('XADD', ARGV[3] .. 'dead:_malformed', '*', 'payload', member,
               'error', 'delayed member is not a JSON object with a "queue"',
               'failed_at', ARGV[1])
  end
end
return moved
)lua";

}  // namespace qd
