// JobOutcomes: writes to Redis what became of each job of one site.
//
//   ack      ids collect per queue (SiteQueue::acks) and go out after each
//            run chunk as one MULTI/XACK/XDEL/EXEC per queue, pipelined; a
//            connection lost before EXEC answered puts them back
//   retry    MULTI: ZADD the job (attempt+1, error) to the delayed set, due
//            after the handler's delay or retry_base * 2^attempt (capped at
//            retry_max, times a jitter in [0.5, 1]); XACK; XDEL
//   dead     MULTI: XADD to the dead stream with error, failed_at, attempts,
//            origin_queue, origin_id; XACK; XDEL
//   requeue  (drain) MULTI: XADD a copy of every fetched, unstarted job;
//            XACK + XDEL the originals
// Each is atomic, so a job is never lost or doubled between keys. With the
// writer disconnected a retry, dead letter or requeue is not sent: the entry
// stays pending and comes back through XAUTOCLAIM or the slot's replay.
// Uses the SiteConsumer's writer connection and queues; loop thread only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/queue/site_queue.h"
#include "core/redis/redis_client.h"

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

  RedisClient& writer_;
  const SiteConfig& site_;
  std::vector<SiteQueue>& queues_;
  std::string delayed_key_;
  int acks_in_flight_ = 0;
  int requeues_in_flight_ = 0;
};

}  // namespace qd
