// WorkerStats: the IoManager that reports what a worker does
// (docs/architecture.md's StatsManager): statsd lines over UDP and the slot's
// shared board.
//
// The QueueManager calls JobStarted/JobFinished around every handler call
// (memory writes only: the board's stores and the StatsdSink's in-memory
// aggregation). Every monitor.interval the timer adds the gauges
// (worker.rss, worker.inflight) and the state event, then flushes the sink
// in one batch of datagrams. Metric names (each prefixed by monitor.prefix,
// tagged host, id, slot and, for job metrics, site and queue):
//   counters  jobs.handled (succeeded), jobs.failed (the handler failed:
//             retry or dead), jobs.retried, jobs.dead, jobs.replayed
//             (taken back from a dead or stuck worker), fetch.batches
//   timers    job.duration, job.queue_latency (enqueue to start; the
//             entry's enqueued_at, else its stream id's time)
//   gauges    worker.rss (bytes), worker.inflight (jobs held)
//   events    state: init, listening, busy, idle, recycle, shutdown; busy
//             and idle are sampled once per interval (no event per job).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/queue/job_observer.h"
#include "core/stats/statsd_sink.h"
#include "queuedaemon/io_manager.h"

namespace qd {

class SlotBoard;
struct Config;

class WorkerStats : public IoManager, public JobObserver {
 public:
  using Outcome = JobObserver::Outcome;

  // `board` may be null (no master). A bad monitor.udp was refused by the
  // config loader; if the socket still cannot be made, statsd is off and
  // the reason logged.
  WorkerStats(const Config& config, int slot, SlotBoard* board);
  ~WorkerStats() override;

  // Jobs held by the worker (fetched, not finished), for worker.inflight.
  void set_inflight(std::function<int64_t()> inflight) {
    inflight_ = std::move(inflight);
  }

  void Start() override;

  // Around one handler call; `tags` are the queue's (site, queue).
  void JobStarted(const StatsdSink::Tags& tags, std::string_view site,
                  std::string_view queue, std::string_view id,
                  int64_t enqueued_ms) override;
  void JobFinished(const StatsdSink::Tags& tags, Outcome outcome) override;
  void Count(std::string_view name, const StatsdSink::Tags& tags,
             int64_t n = 1) override;

  // Work state for the events: busy/idle are sampled at the next flush;
  // the others are sent at once (the process may exit before the next).
  void SetBusy(bool busy) override { busy_ = busy; }
  void Event(const std::string& state);

  StatsdSink* sink() { return sink_.get(); }

 private:
  void OnTimer() override;
  void Flush();

  const Config& config_;
  SlotBoard* board_;
  std::unique_ptr<StatsdSink> sink_;
  std::function<int64_t()> inflight_;
  int64_t job_started_us_ = 0;
  bool busy_ = false;
  std::string reported_state_;
};

}  // namespace qd
