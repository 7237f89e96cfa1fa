// SiteConsumer: everything one worker does in Redis for one site.
//
// Owns two RedisClients to the site's server: the reader, which spends its
// time in XREADGROUP ... BLOCK (a blocking read holds its connection), and
// the writer for everything else (group creation, replay, acks, retries,
// dead-lettering, XAUTOCLAIM, the delayed-job promoter). It fetches jobs
// into per-queue buffers; the QueueManager takes them (TakeNext), runs them
// and reports each outcome (Ack, Retry, Dead).
//
// Start-up: create the consumer group of every queue (id 0, MKSTREAM), then
// replay this consumer's pending entries (a worker in the same slot died
// holding them) one at a time: XREADGROUP id 0 COUNT 1 plus XPENDING for its
// delivery count, run it, ack it, read the next. Reading one at a time means
// only the entry actually being run counts a delivery, so the job that kills
// its worker is the only one that reaches max_attempts and goes to the dead
// stream ("worker died N times"); its neighbours in the batch do not.
// Then fetch new entries in batches. The replay runs again whenever the
// reader reconnects (a read in flight may have been delivered and its
// reply lost). Once the replay is done, its SiteHousekeeping takes over
// entries idle past a queue's visibility_timeout (a dead worker on any
// host), deletes the consumers of workers that are gone and promotes due
// delayed jobs; what it claims is held here like fetched jobs.
//
// A queue whose key another program overwrote with another type (a string,
// say) fails every XREADGROUP that names it, and with it the site's other
// queues. On a WRONGTYPE its WrongTypeWatch sets the bad queues aside, so
// the others are read at once, and resumes each once its key is a stream
// again or gone.
//
// Drain: stop fetching and claiming, wait for the read in flight, then give
// back what was fetched but not started by re-queueing it atomically (one
// script call: XADD a copy, XACK the original, which stays in the stream
// until its trim), so other workers take it at once instead of after the
// visibility timeout; a job is never lost (the original is acked only once
// its copy is written) nor doubled. If Redis is down at that moment the
// entries stay pending for this slot's replay.
//
// What becomes of each job (acks, retries, dead letters, the drain's
// re-queue) is written by its JobOutcomes. A job of a queue with a limit
// waits in its LimitGate until Redis grants it budget, before it joins its
// queue's ready buffer. Single-threaded: used only from
// the worker's loop.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/config/config.h"
#include "core/queue/fetch_plan.h"
#include "core/queue/job_outcomes.h"
#include "core/queue/limit_gate.h"
#include "core/queue/site_housekeeping.h"
#include "core/queue/site_queue.h"
#include "core/queue/wrong_type_watch.h"
#include "core/redis/redis_client.h"
#include "core/util/poll_backoff.h"
#include "core/util/weighted_round_robin.h"
#include "queuedaemon/queue_handler.h"

struct event;
struct event_base;
#include "core/queue/job_observer.h"

namespace qd {

class HandlerSet;

class SiteConsumer {
 public:
  using Queue = SiteQueue;

  // `wake` is called when jobs become ready. `consumer` = HOST:ID:SLOT.
  SiteConsumer(event_base* base, const SiteConfig& site, const RedisUrl& url,
               std::string consumer, const HandlerSet& handlers,
               std::function<void()> wake);
  ~SiteConsumer();

  void Start();
  void Drain();
  // Work in flight: a read, a requeue, unconfirmed or unsent acks.
  bool Busy() const;
  const std::string& name() const { return site_.name; }
  const SiteConfig& config() const { return site_; }
  const RedisUrl& url() const { return writer_.url(); }
  const std::string& consumer() const { return consumer_; }
  std::vector<Queue>& queues() { return queues_; }

  bool HasReady() const { return ready_count_ > 0 && !draining_; }
  size_t ready_count() const { return ready_count_; }
  // Paused: no new fetches or claims; what a read in flight delivers is
  // given back at once; held jobs still run. Resume fetches again.
  void SetPaused(bool paused);
  // Where fetch.batches and jobs.replayed are counted (may stay null).
  void set_stats(JobObserver* stats) { stats_ = stats; }
  // A connection with commands and no reply for `timeout` (plus the
  // blocking read's own wait) is dropped and made again; 0 = never.
  void set_reply_timeout(std::chrono::milliseconds timeout);
  // Moves the next job (weighted round robin over queues) into *out.
  bool TakeNext(HeldJob* out);

  // Before the job's handler runs: frees its unique lock when its queue
  // has unique_until: start (docs/unique-jobs.md).
  void Starting(const HeldJob& job);
  void Ack(const HeldJob& job);
  // Back to the delayed set with attempt+1, due after `delay`; dead instead
  // when attempts are used up.
  void Retry(const HeldJob& job, const std::string& reason,
             std::chrono::milliseconds delay);
  void Dead(const HeldJob& job, const std::string& reason);
  // The limits' slots held, for the LeaseKeeper (LimitGate::Leases).
  std::vector<LimitGate::Lease> LimitLeases() const { return limits_.Leases(); }
  // Sends one extra command on the writer (a handler's Enqueue).
  void Send(const std::vector<std::string>& args);
  // After a run chunk: flush acks, fetch more if the buffers run low.
  void AfterChunk();

 private:
  void OnWriterConnected();
  void EnsureLibrary();
  void OnReaderConnected();
  void CreateGroups();
  void ReplayNext();
  void FinishReplayRead();
  void MaybeFetch();
  // REQUIRES: what MaybeFetch() checks.
  void Fetch();
  void OnFetched(redisReply* reply);
  void HoldClaimed(std::vector<HeldJob>* claimed);  // SiteHousekeeping's
  void Requeue();
  bool Buffered(const HeldJob& job) const;
  void Hold(HeldJob job);
  void HoldGranted(HeldJob job);  // LimitGate's
  static void OnTimer(int fd, short what, void* arg);

  const SiteConfig& site_;
  std::string consumer_;
  std::function<void()> wake_;
  JobObserver* stats_ = nullptr;
  RedisClient reader_;
  RedisClient writer_;
  std::vector<Queue> queues_;
  JobOutcomes outcomes_;           // after writer_ and queues_, which it uses
  SiteHousekeeping housekeeping_;  // after writer_, queues_ and consumer_
  WrongTypeWatch wrong_type_;      // after writer_ and queues_
  LimitGate limits_;               // after writer_, queues_ and consumer_
  std::unordered_map<std::string, int> queue_by_key_;
  WeightedRoundRobin queue_turns_;  // by index into queues_
  size_t ready_count_ = 0;

  enum class Phase { kConnecting, kReplay, kFetch };
  Phase phase_ = Phase::kConnecting;
  bool draining_ = false;
  bool paused_ = false;
  bool read_in_flight_ = false;
  FetchPlan reading_;  // the read in flight, or the last one
  bool replay_in_flight_ = false;
  bool reconnect_replay_ = false;  // the replay after the reader reconnected
  bool library_warned_ = false;    // EnsureLibrary() logged a refusal
  std::vector<HeldJob> replay_batch_;
  std::unordered_map<std::string, int> replay_counts_;
  int replay_pending_replies_ = 0;
  PollBackoff poll_backoff_;

  // The next read in poll mode, and after errors; it fires MaybeFetch().
  event* fetch_timer_ = nullptr;
};

}  // namespace qd
