// The Redis Function library "qd" (Redis 7.0 and later): an atomic enqueue
// any client can call, with or without a unique lock (docs/unique-jobs.md).
//
//   FCALL qd_enqueue 1 PREFIX:{SITE}:q:QUEUE payload P [FIELD VALUE]...
//   FCALL qd_version 0          (FCALL_RO works too)
// qd_enqueue adds one entry to the stream with the fields given, in the
// order given, and returns its id. Two fields are special:
//   unique_key K   first checks the lock PREFIX:{SITE}:unique:QUEUE/K: if it
//                  exists, nothing is written and the reply is nil; else
//                  the entry is added and the lock set to the job's jid
//                  (the `jid` field when given and not empty, else the new
//                  entry id, which is the jid the daemon gives such a job
//                  and keeps across retries). The field stays in the entry:
//                  the worker finds the lock through it.
//   unique_for MS  the lock's expiry in ms (a whole number, 1 to
//                  999999999999999; default kDefaultUniqueForMs, so a job
//                  deleted by hand never holds its key for ever); needs
//                  unique_key; not written to the entry.
// Bad arguments get an error reply that names the problem, and nothing is
// written. The lock key is derived from the stream key, as the promoter
// script derives its streams: both carry the site's hash tag, so they live
// in the same Redis Cluster slot. The queue name comes last in the lock key,
// before a "/": queue names may hold ':' but never '/', so two queues'
// locks cannot meet.
//
// qd_version returns kEnqueueLibraryVersion. The daemon and queuectl load
// this text (EnqueueLibraryLoader) only when no library "qd" is loaded or
// the loaded one reports an older version, so daemons of two versions
// sharing a server do not replace each other's library in turn. A later
// version must keep every call of an earlier one working.
#pragma once

#include <cstdint>

namespace qd {

inline constexpr int64_t kEnqueueLibraryVersion = 1;
inline constexpr int64_t kDefaultUniqueForMs = 24 * 3600 * 1000;

// The version and the default above are repeated in the text: keep them
// equal (EnqueueLibraryTest checks).
inline constexpr const char* kEnqueueLibrary = R"lua(#!lua name=qd
local VERSION = 1
local DEFAULT_UNIQUE_FOR = '86400000'
-- unpack() takes at most ~8000 values; a job with more fields is refused
-- with this message rather than Lua's.
local MAX_ARGS = 7000

local function fail(why)
  return redis.error_reply('ERR qd_enqueue: ' .. why)
end

local function enqueue(keys, args)
  if #keys ~= 1 then
    return fail('give one key, the stream PREFIX:{SITE}:q:QUEUE, got ' .. #keys)
  end
  local base, queue = string.match(keys[1], '^(.*}:)q:([^{}/]+)$')
  if base == nil then
    return fail('key "' .. keys[1] .. '" is not a queue stream PREFIX:{SITE}:q:QUEUE')
  end
  if #args % 2 ~= 0 then
    return fail(#args .. ' arguments after the key: give field value pairs')
  end
  if #args > MAX_ARGS then
    return fail('more than ' .. MAX_ARGS / 2 .. ' fields')
  end
  local fields = {}
  local payload, unique_key, unique_for, jid
  for i = 1, #args, 2 do
    local name, value = args[i], args[i + 1]
    if name == 'unique_for' then
      unique_for = value
    else
      if name == 'payload' then payload = value end
      if name == 'unique_key' then unique_key = value end
      if name == 'jid' and value ~= '' then jid = value end
      fields[#fields + 1] = name
      fields[#fields + 1] = value
    end
  end
  if payload == nil then return fail('no "payload" field') end
  if unique_key == '' then return fail('unique_key is empty') end
  local ttl = DEFAULT_UNIQUE_FOR
  if unique_for ~= nil then
    if unique_key == nil then return fail('unique_for without unique_key') end
    if not string.match(unique_for, '^%d+$') or #unique_for > 15 or
       tonumber(unique_for) == 0 then
      return fail('unique_for "' .. unique_for ..
                  '": give the lock time in ms, a whole number above 0')
    end
    ttl = unique_for  -- as text: Lua would print a long number as 1e+14
  end
  if unique_key == nil then
    return redis.call('XADD', keys[1], '*', unpack(fields))
  end
  local lock = base .. 'unique:' .. queue .. '/' .. unique_key
  if redis.call('EXISTS', lock) == 1 then return false end
  -- XADD first: when it fails (a key of another type), no lock is left.
  local id = redis.call('XADD', keys[1], '*', unpack(fields))
  redis.call('SET', lock, jid or id, 'PX', ttl)
  return id
end

redis.register_function('qd_enqueue', enqueue)
redis.register_function{
  function_name = 'qd_version',
  callback = function() return VERSION end,
  flags = {'no-writes'},
}
)lua";

}  // namespace qd
