// The Lua that reads a job member: a JSON object whose "queue" names the
// target queue and whose other keys become the fields of the stream entry
// (DelayedJob's format, docs/queues.md "Delayed jobs"). Shared by the
// scripts that move such members into streams: the promoter (the delayed
// set) and the limit scripts (a limit's wait list), so that both accept
// and refuse exactly the same members. It defines one function for the
// script that follows it:
//   parse(member, queues) -> QUEUE, XADD's field arguments
//                         -> nil, the reason it is refused
// refusing a member that is not a JSON object with a "queue" among the
// keys of `queues`, has a "NAME_b64" that is not strict base64 (NAME_b64
// carries field NAME as base64, as DelayedJob writes values that are not
// UTF-8), gives a field both ways, has no "payload" (nor "payload_b64"),
// or has a number that would not arrive as written (cjson reads numbers
// as doubles: integers up to 2^53 and numbers whose 14-digit text reads
// back the same pass). Values that are not strings arrive as their JSON
// text: true, null, {"a":1} (an object's keys in any order, an empty array
// as {}).
#pragma once

namespace qd {

inline constexpr const char* kJobMemberLua = R"lua(
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

-- The stream entry of `member`: its queue and XADD's field arguments
-- ("payload" first, the rest by name), or nil and the reason. `queues`
-- holds the site's queue names as keys.
local function parse(member, queues)
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
)lua";

}  // namespace qd
