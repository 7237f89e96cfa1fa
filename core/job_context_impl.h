// JobContextImpl: the JobContext a handler gets, for one job.
//
// Lives on the stack of QueueManager::RunOne. Jobs the handler enqueues are
// kept here and sent by Commit() on the site's writer connection, in the
// same pipeline as the job's ack, only when the job succeeded.
#pragma once

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

  // Sends the enqueued jobs (call after the job succeeded).
  void Commit();

 private:
  SiteConsumer& site_;
  const std::string& queue_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, int64_t>& counters_;
  std::vector<std::vector<std::string>> enqueued_;
};

}  // namespace qd
