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
// when it is not a JSON object with a "queue" among the site's QUEUEs, has
// a "NAME_b64" that is not strict base64 (NAME_b64 carries field NAME as
// base64, as DelayedJob writes values that are not UTF-8), gives a field
// both ways, or has a number that would not arrive as written (cjson reads
// numbers as doubles: integers up to 2^53 and numbers whose 14-digit text
// reads back the same pass). Values that are not strings arrive as their
// JSON text: true, null, {"a":1} (an object's keys in any order, an empty
// array as {}). A member without "payload" (or "payload_b64") is refused
// too, as the worker refuses a stream entry without one. The stream
// keys are derived inside the script; they share the site's hash tag, so
// they live in the same Redis Cluster slot as the declared key.
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

-- Strict, as DelayedJob::Decode: padded, the alphabet only.
local function b64valid(s)
  return #s % 4 == 0 and s:find('^[A-Za-z0-9+/]*=?=?$') ~= nil
end

-- cjson decodes every number to a double and prints one with 14 digits: a
-- number is carried only if that text reads back as the same number.
local function exact(n)
  return tonumber(string.format('%.14g', n)) == n
end

local function nested_ok(v)
  if type(v) == 'number' then return exact(v) end
  if type(v) == 'table' then
    for _, x in pairs(v) do
      if not nested_ok(x) then return false end
    end
  end
  return true
end

-- A value as the text of its stream field: a string as it is, anything
-- else as its JSON text; nil and the reason when that text would not be
-- what the producer wrote.
local function field_text(k, v)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'boolean' then return tostring(v) end
  if v == cjson.null then return 'null' end
  if t == 'number' then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format('%d', v) end
    if exact(v) then return string.format('%.14g', v) end
  elseif t == 'table' and nested_ok(v) then
    local ok, text = pcall(cjson.encode, v)
    if ok then return text end
  end
  return nil, 'field "' .. k .. '": a number that cannot be carried exactly (or a value that cannot be written back as JSON); give it as a string'
end

local queues = {}
for i = 5, #ARGV do queues[ARGV[i]] = true end

-- The stream entry of `member`: its queue and XADD's field arguments
-- ("payload" first, the rest by name), or nil and the reason.
local function parse(member)
  local ok, job = pcall(cjson.decode, member)
  if not ok or type(job) ~= 'table' or type(job['queue']) ~= 'string' or job['queue'] == '' then
    return nil, 'delayed member is not a JSON object with a "queue"'
  end
  if not queues[job['queue']] then
    return nil, 'queue "' .. job['queue'] .. '" is not a queue of this site'
  end
  local fields, names = {}, {}
  for k, v in pairs(job) do
    if type(k) ~= 'string' then return nil, 'delayed member is not a JSON object' end
    if k ~= 'queue' then
      local text, why = field_text(k, v)
      if text == nil then return nil, why end
      local name = k
      if #k > 4 and k:sub(-4) == '_b64' then
        name = k:sub(1, -5)
        if not b64valid(text) then return nil, 'field "' .. k .. '" is not valid base64' end
        text = b64decode(text)
      end
      if fields[name] ~= nil then
        return nil, 'field "' .. name .. '" is given twice (as ' .. name .. ' and ' .. name .. '_b64)'
      end
      fields[name] = text
      if name ~= 'payload' then names[#names + 1] = name end
    end
  end
  if fields['payload'] == nil then
    return nil, 'no "payload" (nor "payload_b64"): not run'
  end
  local args = {'payload', fields['payload']}
  table.sort(names)
  for _, name in ipairs(names) do
    args[#args + 1] = name
    args[#args + 1] = fields[name]
  end
  return job['queue'], args
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
  local queue, args = parse(member)
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
