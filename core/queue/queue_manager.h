// QueueManager: the IoManager that consumes every configured site's queues
// in a worker and runs their jobs.
//
// Owns one SiteConsumer per site (the Redis side) and the run loop: jobs are
// taken one at a time, by smooth weighted round robin across the sites that
// have jobs ready (site `weight`; and by queue `weight` across a site's
// queues, WeightedRoundRobin both), and run in chunks of at most
// kChunkJobs jobs or kChunkTime, after which the loop gets control back for
// socket input. So a site with a million-job backlog delays another site's
// fresh job by at most the chunk in progress. A handler runs synchronously;
// its result decides ack, retry or dead (QueueHandler contract). After each
// chunk the acks are flushed and `after_chunk` runs (the worker's memory
// check: once per chunk instead of once per job, which keeps the hot path
// free of syscalls). A handler may defer its outcome (JobContext::Defer; the
// xmpp handler acks only once the server confirmed the message): the job
// stays held, Busy() stays true, and the outcome is applied when it comes.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config/config.h"
#include "core/queue/lease_keeper.h"
#include "core/queue/site_consumer.h"
#include "core/util/weighted_round_robin.h"
#include "queuedaemon/io_manager.h"

struct event;
#include "core/queue/job_observer.h"

namespace qd {

class HandlerSet;

class QueueManager : public IoManager {
 public:
  struct Hooks {
    // Around a job whose queue has a timeout (the master enforces it).
    std::function<void(const Job& job, std::chrono::milliseconds timeout)>
        job_started;
    std::function<void()> job_finished;
    std::function<void()> after_chunk;
  };

  // `consumer` is HOST:ID:SLOT. `config` and `handlers` must outlive this.
  QueueManager(const Config& config, const HandlerSet& handlers,
               std::string consumer, Hooks hooks);
  ~QueueManager() override;

  void Start() override;
  void Drain() override;
  bool Busy() const override;

  // Reports jobs, fetches and replays there. REQUIRES: before Start().
  void set_stats(JobObserver* stats) { stats_ = stats; }
  // Stops or restarts fetching for `site` ("*" = all); held jobs still run.
  // Before Start() it takes effect when the sites start.
  void SetPaused(const std::string& site, bool paused);
  // Jobs fetched and not finished (the one running included).
  int64_t Inflight() const;

  // Fetches again on every site: a queue's fetch gate may have opened
  // (HandlerConfig::fetch_again, through the HandlerHost).
  void GatesChanged();

  // Counters of this worker since it started ("jobs.handled", ...).
  const std::map<std::string, int64_t>& counters() const { return counters_; }

 private:
  static void OnRun(int fd, short what, void* arg);
  void Wake();
  void RunChunk();
  void RunOne(SiteConsumer& site, HeldJob& job);
  // Acks, retries or dead-letters a job that ran, and counts it.
  void Finish(SiteConsumer& site, const HeldJob& held, int attempt,
              const JobResult& result,
              std::vector<std::vector<std::string>> enqueued);
  void Complete(uint64_t token, JobResult result);

  // Jobs whose handler deferred the outcome (JobContext::Defer), by token.
  struct Deferred {
    SiteConsumer* site;
    HeldJob held;
    int attempt;
    std::vector<std::vector<std::string>> enqueued;
  };
  std::unordered_map<uint64_t, Deferred> deferred_;
  uint64_t next_token_ = 0;
  uint64_t running_token_ = 0;  // the deferral of the job in handle()
  std::optional<JobResult> early_result_;  // completed inside handle()

  const Config& config_;
  const HandlerSet& handlers_;
  std::string consumer_;
  Hooks hooks_;
  std::vector<std::unique_ptr<SiteConsumer>> sites_;
  WeightedRoundRobin site_turns_;  // by index into sites_
  event* run_event_ = nullptr;
  bool running_ = false;
  bool draining_ = false;
  std::map<std::string, int64_t> counters_;
  std::unique_ptr<LeaseKeeper> leases_;  // started with the first site
  JobObserver* stats_ = nullptr;
  std::map<std::string, bool> paused_;  // by site, "*" = all
};

}  // namespace qd
