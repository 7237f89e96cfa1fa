// JobContextImpl: the JobContext a handler gets, for one job.
//
// Lives on the stack of QueueManager::RunOne. Jobs the handler enqueues are
// kept here and handed over (TakeEnqueued) to be sent on the site's writer
// connection, in the same pipeline as the job's ack, only when the job
// succeeded.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "queuedaemon/queue_handler.h"

namespace qd {

class SiteConsumer;

class JobContextImpl : public JobContext {
 public:
  JobContextImpl(SiteConsumer& site, const std::string& queue,
                 std::chrono::milliseconds timeout,
                 std::map<std::string, int64_t>& counters);

  spdlog::logger& log() override;
  void Count(std::string_view name, int64_t delta) override;
  void Enqueue(std::string_view queue, std::string_view payload,
               std::chrono::milliseconds delay) override;
  std::chrono::milliseconds timeout() const override { return timeout_; }

  // The job's outcome comes through the returned completion (the
  // JobContext contract); the QueueManager sets `defer`, which makes it,
  // before the handler runs.
  JobCompletion Defer() override { return defer_(); }
  void set_defer(std::function<JobCompletion()> defer) {
    defer_ = std::move(defer);
  }
  // The commands that enqueue the handler's jobs, handed over to be sent
  // with the ack, only when the job succeeded.
  std::vector<std::vector<std::string>> TakeEnqueued() {
    return std::move(enqueued_);
  }

 private:
  SiteConsumer& site_;
  const std::string& queue_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, int64_t>& counters_;
  std::vector<std::vector<std::string>> enqueued_;
  std::function<JobCompletion()> defer_;
};

}  // namespace qd
