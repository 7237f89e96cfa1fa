// FakeJobContext: a JobContext for tests of queue handlers (built-in and
// plugins). Its logger writes "LEVEL message" lines into a string; counters,
// enqueued jobs and a deferred job's outcome are kept for the test to look
// at. One test, one thread.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "queuedaemon/queue_handler.h"

namespace qd {

class FakeJobContext : public JobContext {
 public:
  explicit FakeJobContext(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0))
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_st>(out_)),
        logger_("test", sink_),
        timeout_(timeout) {
    logger_.set_pattern("%l %v");
    logger_.set_level(spdlog::level::trace);
  }

  spdlog::logger& log() override { return logger_; }
  void Count(std::string_view name, int64_t delta) override {
    counts[std::string(name)] += delta;
  }
  void Enqueue(std::string_view queue, std::string_view payload,
               std::chrono::milliseconds delay) override {
    (void)delay;
    enqueued.emplace_back(std::string(queue), std::string(payload));
  }
  std::chrono::milliseconds timeout() const override { return timeout_; }
  // The completion stores the first result it is called with in
  // `completed`.
  JobCompletion Defer() override {
    deferred = true;
    return [this](JobResult result) {
      if (!completed) completed = std::move(result);
    };
  }

  // Everything logged so far, one "LEVEL message" per line.
  std::string logged() const { return out_.str(); }

  std::map<std::string, int64_t> counts;
  std::vector<std::pair<std::string, std::string>> enqueued;
  bool deferred = false;  // Defer() was called
  std::optional<JobResult> completed;

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
  spdlog::logger logger_;
  std::chrono::milliseconds timeout_;
};

}  // namespace qd
