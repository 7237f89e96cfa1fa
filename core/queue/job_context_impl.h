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

  // Internal, for built-in handlers whose outcome is known only later (the
  // xmpp handler waits for the server's confirmation): the job stays held
  // and is acked, retried or dead-lettered when the returned completer is
  // called (once, from the worker's loop, within the queue's
  // visibility_timeout); the handler's return value is then ignored. The
  // QueueManager sets `defer` before the handler runs.
  using Completer = std::function<void(JobResult)>;
  void set_defer(std::function<Completer()> defer) {
    defer_ = std::move(defer);
  }
  Completer Defer() { return defer_(); }
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
  std::function<Completer()> defer_;
};

}  // namespace qd
