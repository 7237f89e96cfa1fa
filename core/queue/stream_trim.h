// StreamTrim: deletes the acknowledged entries of one queue stream in bulk
// (kTrimScript, core/queue/trim_script.h), as the daemon acks with XACK
// alone.
//
// When: every worker counts, per queue, the entries it acked, retried,
// dead-lettered or gave back since its last trim (SiteQueue::untrimmed).
// SiteHousekeeping trims each queue whose count is not 0 once a second,
// and every queue when it starts and every 10 s (what a worker that died
// left acked, what another program's group has read since);
// JobOutcomes trims at once when the count passes kTrimAfter, so a fast
// drain holds at most about that many acked entries per worker in Redis.
// Several workers trimming the same stream is harmless: each call computes
// the horizon afresh, atomically.
//
// An entry therefore stays in the stream after its ack until the next trim
// (about a second), and longer while an older entry of the stream is still
// pending (a long job, or a dead worker's job until the visibility timeout
// hands it over): XTRIM MINID cannot skip over it. That costs Redis memory,
// never a job. Loop thread only.
#pragma once

#include <cstdint>
#include <string>

namespace qd {

class RedisClient;
class SubjectLogLimiter;
struct SiteQueue;

// Acked entries of one worker, per queue, past which it trims at once.
inline constexpr int64_t kTrimAfter = 8192;

// Sends one trim of `queue`'s stream on `writer` and zeroes
// queue.untrimmed; an error reply is logged through `log` (at most once a
// minute per stream). No-op (and the count stays) while the writer is
// disconnected or the queue is set aside (its key holds another type).
// REQUIRES: `log` outlives the writer's pending callbacks.
void TrimStream(RedisClient& writer, const std::string& site, SiteQueue& queue,
                SubjectLogLimiter& log);

}  // namespace qd
