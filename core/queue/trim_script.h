// The Lua script that deletes a queue stream's acknowledged entries in bulk
// (XTRIM MINID), in place of an XDEL per acked job.
//
// Why: on Redis 7.0 an XDEL costs the server about as much as the read and
// the ack of the entry together (test/bench/RESULTS-notes.md); Redis 8.2's
// XACKDEL is not there. So the daemon acks with XACK alone and leaves the
// entry in the stream until a trim, which removes a whole run of entries in
// one call (whole radix-tree nodes at a time).
//
//   EVAL <script> 1 STREAM GROUP   ->  {trimmed, MINID} or {0}
//
// What may go: only entries below every group's horizon. For each consumer
// group of STREAM (the daemon's "workers" and any group another program
// made) the horizon is the smaller of
//   - its oldest pending entry (delivered, not acked: XPENDING's summary),
//   - the id right after its last-delivered-id (everything above it is not
//     delivered yet, whoever wrote it).
// XTRIM MINID h deletes the entries with an id below h, so nothing a group
// has not acked, and nothing a group has not read yet, is ever deleted.
// Reading the groups and trimming is one script call, so no read, ack or
// XADD slips in between; and a producer's XADD always gets an id above the
// stream's last id, hence above every group's last-delivered-id.
//
// Nothing is trimmed while GROUP (the daemon's own) does not exist: a
// stream that producers filled before any daemon ran is read from "0" when
// the first worker creates the group (XGROUP CREATE ... 0 MKSTREAM), and
// none of it may go before then, whatever other groups have read. Nor is a
// stream without groups trimmed.
//
// An id's sequence part with 14 digits or more (ids written by hand) is not
// incremented, as Lua numbers could not hold the sum exactly: the horizon is
// then the last-delivered-id itself, which keeps that one acked entry one
// trim longer. STREAM holding another type, or missing: nothing happens.
#pragma once

namespace qd {

inline constexpr const char* kTrimScript = R"lua(
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups['err'] then return {0} end
local function parts(id)
  return string.match(id, '^(%d+)%-(%d+)$')
end
local function below(a, b)  -- decimal strings without leading zeros
  if #a ~= #b then return #a < #b end
  return a < b
end
local function before(x, y)
  local xm, xs = parts(x)
  local ym, ys = parts(y)
  if xm ~= ym then return below(xm, ym) end
  return below(xs, ys)
end
local function next_id(id)
  local ms, seq = parts(id)
  if #seq >= 14 then return id end
  return ms .. '-' .. string.format('%d', tonumber(seq) + 1)
end
local horizon = nil
local ours = false
for _, g in ipairs(groups) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  if f['name'] == ARGV[1] then ours = true end
  local h = next_id(f['last-delivered-id'])
  if f['pending'] > 0 then
    local oldest = redis.call('XPENDING', KEYS[1], f['name'])[2]
    if before(oldest, h) then h = oldest end
  end
  if horizon == nil or before(h, horizon) then horizon = h end
end
if not ours or horizon == nil then return {0} end
return {redis.call('XTRIM', KEYS[1], 'MINID', horizon), horizon}
)lua";

}  // namespace qd
