// The Lua script that moves jobs out of their stream (a retry into the
// delayed set, a dead letter into the dead stream, a drain's copy back into
// the stream itself) all or nothing: an entry is acked only in the call
// whose write of it succeeded. MULTI/EXEC would not do: Redis runs the rest
// of a transaction when one command in it fails, so a ZADD or XADD refused
// with WRONGTYPE (another program wrote the key) would still be followed by
// the XACK, and the job would be lost. The acked entry stays in STREAM
// until the stream's next trim (stream_trim.h).
//
//   EVAL <script> 2+L STREAM TARGET [LOCK...] GROUP OP N ID... ITEM... [JID...]
// OP is "zadd" (TARGET is a sorted set; an ITEM is SCORE MEMBER) or "xadd"
// (TARGET is a stream; an ITEM is a count C and then C field and value
// arguments); the i-th ITEM belongs to the i-th ID. The L unique locks
// (a dead letter's: unique_release_script.h) are freed, each only while it
// holds its JID, once every ID moved. Returns {moved} or,
// when an item could not be written, {moved, KEY, REASON}: the items before
// it were moved, it and the ones after it were not. A job not moved stays
// pending in STREAM, untouched; it comes back through XAUTOCLAIM after the
// visibility timeout or the slot's replay, and moves once the key is fixed.
// STREAM, TARGET and the locks share the site's hash tag, so they live in
// the same Redis Cluster slot.
#pragma once

namespace qd {

inline constexpr const char* kOutcomeScript = R"lua(
local want = ARGV[2] == 'zadd' and 'zset' or 'stream'
local n = tonumber(ARGV[3])
local t = redis.call('TYPE', KEYS[2])['ok']
if t ~= want and t ~= 'none' then
  return {0, KEYS[2], 'holds a ' .. t .. ', not a ' .. want}
end
t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'stream' and t ~= 'none' then
  return {0, KEYS[1], 'holds a ' .. t .. ', not a stream'}
end
local moved = {}
local failed = nil
local at = 4 + n
for i = 1, n do
  local r
  if ARGV[2] == 'zadd' then
    r = redis.pcall('ZADD', KEYS[2], ARGV[at], ARGV[at + 1])
    at = at + 2
  else
    local c = tonumber(ARGV[at])
    r = redis.pcall('XADD', KEYS[2], '*', unpack(ARGV, at + 1, at + c))
    at = at + 1 + c
  end
  if type(r) == 'table' and r['err'] then
    failed = r['err']
    break
  end
  moved[#moved + 1] = ARGV[3 + i]
end
if #moved > 0 then
  redis.call('XACK', KEYS[1], ARGV[1], unpack(moved))
end
if failed then return {#moved, KEYS[2], failed} end
for i = 3, #KEYS do
  if redis.pcall('GET', KEYS[i]) == ARGV[at + i - 3] then
    redis.call('DEL', KEYS[i])
  end
end
return {#moved}
)lua";

}  // namespace qd
