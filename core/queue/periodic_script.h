// The Lua script that decides, in Redis, whether one tick of a periodic
// entry is enqueued: every daemon that runs the entry sends it for every
// tick, and the one call that finds the tick not yet recorded writes the
// job and the record together. Two daemons racing on the same tick (or a
// daemon catching up at start while another enqueues the same tick) thus
// enqueue it once, without a leader or a lock: Redis runs one script at a
// time, and a script's writes are all done before the next one reads.
//
//   EVAL <script> 2 PREFIX:{SITE}:periodic STREAM NAME TICK_MS MODE FIELD...
// The hash PREFIX:{SITE}:periodic maps each entry NAME to the last tick
// enqueued (ms since the epoch, as decimal text). MODE is "always" (a tick
// that came due) or "if_recorded" (the catch-up of `missed: run_once`:
// enqueue only when a record exists: an entry that never ran starts fresh)
// or "now" (a run by hand, /api/v1 .../periodic/NAME/run: enqueued whatever
// the record says, and the record is left alone, so the schedule goes on
// as if it had not happened).
// FIELD... are the stream entry's field and value arguments for XADD.
// Returns one of
//   {"enqueued", ENTRY_ID}   the job was added and the tick recorded
//   {"done", RECORDED_MS}    a tick at or after this one is recorded: nothing
//   {"fresh"}                if_recorded and no record: nothing
//   {"error", KEY, REASON}   KEY cannot take it (another type): nothing
// A record that is not a number (written by hand) counts as older than any
// tick. The hash and the stream share the site's hash tag, so they live in
// the same Redis Cluster slot. Redis does not undo a script's earlier writes
// when a later command fails, so the script checks both keys' types and
// writes the job (XADD, with pcall) before the record.
#pragma once

namespace qd {

inline constexpr const char* kPeriodicScript = R"lua(
local function wrong_type(key, want)
  local t = redis.call('TYPE', key)['ok']
  if t ~= want and t ~= 'none' then return 'holds a ' .. t .. ', not a ' .. want end
  return nil
end
local why = wrong_type(KEYS[1], 'hash')
if why then return {'error', KEYS[1], why} end
local tick = tonumber(ARGV[2])
if ARGV[3] ~= 'now' then
  local last = redis.call('HGET', KEYS[1], ARGV[1])
  local recorded = last and tonumber(last)
  if recorded and recorded >= tick then return {'done', last} end
  if ARGV[3] == 'if_recorded' and not last then return {'fresh'} end
end
why = wrong_type(KEYS[2], 'stream')
if why then return {'error', KEYS[2], why} end
local id = redis.pcall('XADD', KEYS[2], '*', unpack(ARGV, 4))
if type(id) == 'table' and id['err'] then return {'error', KEYS[2], id['err']} end
if ARGV[3] ~= 'now' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return {'enqueued', id}
)lua";

}  // namespace qd
