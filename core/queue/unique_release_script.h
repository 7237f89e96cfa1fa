// The Lua script that frees unique locks (docs/unique-jobs.md): a lock is
// deleted only while it still names the job that frees it. A lock that
// expired (unique_for) and was taken by a newer job with the same key holds
// that job's jid, so an older job's completion leaves it alone.
//
//   EVAL <script> N LOCK... JID...
// frees LOCK i when it holds JID i; returns how many it freed. A lock key of
// another type (another program wrote it) is left alone, as is a missing
// one. An EVAL script, not part of the "qd" function library, so that a
// Redis that lost the library (restarted without persistence, FUNCTION
// FLUSH) still frees the locks it has. The same loop ends kOutcomeScript,
// which frees a dead letter's lock in the call that moves it.
#pragma once

namespace qd {

inline constexpr const char* kUniqueReleaseScript = R"lua(
local freed = 0
for i = 1, #KEYS do
  if redis.pcall('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    freed = freed + 1
  end
end
return freed
)lua";

}  // namespace qd
