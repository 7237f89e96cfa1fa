// JobOutcomes: writes to Redis what became of each job of one site.
//
//   ack      ids collect per queue (SiteQueue::acks) and go out after each
//            run chunk as one MULTI/XACK/EXEC per queue, pipelined; a
//            connection lost before EXEC answered puts them back. The locks
//            of unique jobs among them (SiteQueue::releases) are freed by
//            one EVAL inside the same MULTI; other jobs add nothing
//   retry    ZADD the job (attempt+1, error) to the delayed set, due after
//            the handler's delay or retry_base * 2^attempt (capped at
//            retry_max, times a jitter in [0.5, 1]); XACK. A unique
//            job keeps its lock (and its jid, the lock's value)
//   dead     XADD to the dead stream with error, failed_at, attempts,
//            origin_queue, origin_id; XACK; free a unique job's lock
//   requeue  (drain) XADD a copy of every fetched, unstarted job; XACK the
//            originals; a unique job's copy keeps its jid
// No XDEL: an acked entry stays in its stream until a trim deletes the
// acked entries in bulk (stream_trim.h); this worker counts them
// (SiteQueue::untrimmed) and trims at once past kTrimAfter.
// Retry, dead and requeue run as one script call (outcome_script.h) that
// acks and deletes an entry only after its write succeeded: a delayed set
// or dead stream of the wrong type (another program wrote it) leaves the
// job pending, to come back through XAUTOCLAIM or the slot's replay, and is
// logged, naming the key, at most once a minute. So a job is never lost or
// doubled between keys. With the writer disconnected a retry, dead letter
// or requeue is not sent: the entry stays pending the same way.
// Uses the SiteConsumer's writer connection and queues; loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/queue/site_queue.h"
#include "core/queue/unique_lock.h"
#include "core/redis/redis_client.h"
#include "core/util/subject_log_limiter.h"

namespace qd {

class JobOutcomes {
 public:
  // `queues` may still be empty here; it is read at each call.
  JobOutcomes(RedisClient& writer, const SiteConfig& site,
              std::vector<SiteQueue>& queues);

  // A negative `delay` means the queue's backoff.
  void Retry(const HeldJob& job, const std::string& reason,
             std::chrono::milliseconds delay);
  void Dead(const HeldJob& job, const std::string& reason);
  void FlushAcks();
  // Gives back every job in the queues' `ready` buffers and empties them.
  void Requeue();
  // Acks unsent (while connected) or unanswered, requeues unanswered.
  bool Busy() const;

 private:
  std::chrono::milliseconds RetryDelay(const QueueConfig& q, int attempt) const;
  // Moves the entries `ids` of q's stream to `target` with kOutcomeScript
  // (`op` "zadd" or "xadd", `items` as the script takes them); an entry is
  // acked only when its write succeeded. A target that refuses
  // is logged, naming the key, at most once a minute.
  void Move(SiteQueue& q, const std::string& target, std::string_view op,
            const std::vector<std::string_view>& ids,
            const std::vector<std::string_view>& items,
            std::function<void()> done, const UniqueLock* lock = nullptr);
  using Releases = std::vector<std::pair<std::string, std::string>>;

  RedisClient& writer_;
  const SiteConfig& site_;
  std::vector<SiteQueue>& queues_;
  std::string delayed_key_;
  int acks_in_flight_ = 0;
  int requeues_in_flight_ = 0;
  SubjectLogLimiter held_log_{std::chrono::minutes(1)};
  SubjectLogLimiter trim_log_{std::chrono::minutes(1)};
};

}  // namespace qd
