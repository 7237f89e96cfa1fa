// DeadScript: the Lua script that moves dead entries back to their queue
// or drops them, for `queuectl dead retry|purge` and the HTTP API's dead
// actions alike (one text, one command builder).
//
//   EVAL <script> 2 DEAD STREAM NOW_MS ids ID...
//   EVAL <script> 2 DEAD STREAM NOW_MS upto LAST_ID LIMIT
//   EVAL <script> 2 DEAD STREAM NOW_MS purge LAST_ID LIMIT
// "ids" moves the entries with these ids; "upto" moves the oldest entries
// up to and including LAST_ID ("+": the newest), at most LIMIT; "purge"
// deletes them instead. Replies: {moved, more, MISSING_ID...}: how many
// entries were moved (or deleted), 1 when entries up to LAST_ID remain
// (upto, purge), and for "ids" the ids that were not in DEAD.
//
// A moved entry becomes XADD STREAM * payload P jid J attempt 0
// enqueued_at NOW plus its unknown fields, in their order (the daemon's
// dead-letter fields error, failed_at, attempts, origin_* are dropped). J
// is the entry's jid, else its origin_id (the id the daemon used as jid),
// else none. Each XADD and its XDEL happen in one script call: a job is
// never lost nor doubled, however many callers race (Redis runs one
// script at a time).
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qd {

struct DeadScript {
  // Entries one call moves or deletes at most: a script holds Redis for
  // its whole run, so a larger job is several calls.
  static constexpr int64_t kMaxPerCall = 1000;

  struct Reply {
    int64_t moved = 0;
    bool more = false;
    std::vector<std::string> missing;
  };

  static std::vector<std::string> RetryIds(const std::string& dead_key,
                                           const std::string& stream_key,
                                           const std::vector<std::string>& ids,
                                           int64_t now_ms);
  static std::vector<std::string> RetryUpTo(const std::string& dead_key,
                                            const std::string& stream_key,
                                            const std::string& last_id,
                                            int64_t limit, int64_t now_ms);
  static std::vector<std::string> PurgeUpTo(const std::string& dead_key,
                                            const std::string& last_id,
                                            int64_t limit);
  // False (and *why) for an error reply or an unexpected shape.
  static bool Parse(const redisReply* reply, Reply* out, std::string* why);
};

inline constexpr const char* kDeadScript = R"lua(
local dead, stream, now, mode = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local skip = {payload = true, jid = true, attempt = true, enqueued_at = true,
  error = true, failed_at = true, attempts = true, origin_queue = true,
  origin_id = true}
local function move(entry)
  local f = entry[2]
  local payload, jid, origin = '', nil, nil
  for i = 1, #f, 2 do
    if f[i] == 'payload' then payload = f[i + 1]
    elseif f[i] == 'jid' then jid = f[i + 1]
    elseif f[i] == 'origin_id' then origin = f[i + 1] end
  end
  if jid == nil or jid == '' then jid = origin end
  local args = {'XADD', stream, '*', 'payload', payload}
  if jid ~= nil and jid ~= '' then
    args[#args + 1] = 'jid'; args[#args + 1] = jid
  end
  args[#args + 1] = 'attempt'; args[#args + 1] = '0'
  args[#args + 1] = 'enqueued_at'; args[#args + 1] = now
  for i = 1, #f, 2 do
    if not skip[f[i]] then
      args[#args + 1] = f[i]; args[#args + 1] = f[i + 1]
    end
  end
  redis.call(unpack(args))
  redis.call('XDEL', dead, entry[1])
end
if mode == 'ids' then
  local moved, missing = 0, {}
  for i = 3, #ARGV do
    local found = redis.call('XRANGE', dead, ARGV[i], ARGV[i], 'COUNT', 1)
    if #found == 1 then
      move(found[1])
      moved = moved + 1
    else
      missing[#missing + 1] = ARGV[i]
    end
  end
  local reply = {moved, 0}
  for _, id in ipairs(missing) do reply[#reply + 1] = id end
  return reply
end
local last, limit = ARGV[3], tonumber(ARGV[4])
local batch = redis.call('XRANGE', dead, '-', last, 'COUNT', limit)
for _, entry in ipairs(batch) do
  if mode == 'purge' then redis.call('XDEL', dead, entry[1]) else move(entry) end
end
local left = redis.call('XRANGE', dead, '-', last, 'COUNT', 1)
return {#batch, #left}
)lua";

}  // namespace qd
