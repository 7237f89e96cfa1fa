// QueueHandler: what a plugin author writes to run jobs.
//
// One instance per configured queue, created in the master at start-up (and
// on reload) by the factory registered under the handler's name, so that a
// bad option stops start-up with a clear message instead of failing in a
// worker. Workers inherit the instance through fork: handle() runs in a
// worker process, one job at a time (no locking needed), and may block (the
// worker's loop waits; other workers keep serving). A thrown exception is a
// retry with the exception's text as its reason.
#pragma once

#include <spdlog/logger.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "queuedaemon/job.h"
#include "queuedaemon/status.h"

namespace qd {

// What a handler learns about where it runs, at creation.
struct HandlerConfig {
  std::string site;
  std::string queue;
  std::string handler;  // the registered name
  // The queue's keys that the framework does not know (e.g. exec's
  // `command`): a YAML map, possibly empty. Reject keys you do not know.
  YAML::Node options;
  std::string where;  // "FILE:LINE" of the queue, for messages
};

// The job's surroundings, valid during one handle() call.
class JobContext {
 public:
  virtual ~JobContext() = default;
  // A logger whose lines carry site, queue and jid.
  virtual spdlog::logger& log() = 0;
  // Adds to a counter reported with the worker's statistics.
  virtual void Count(std::string_view name, int64_t delta = 1) = 0;
  // Enqueues a job on `queue` of the same site (after `delay`, if > 0). It
  // is sent when the current job is acknowledged, in the same round trip.
  virtual void Enqueue(
      std::string_view queue, std::string_view payload,
      std::chrono::milliseconds delay = std::chrono::milliseconds(0)) = 0;
  // The job's deadline from the queue's `timeout` (0 = none), in ms.
  virtual std::chrono::milliseconds timeout() const = 0;
};

class QueueHandler {
 public:
  virtual ~QueueHandler() = default;
  virtual JobResult handle(const Job& job, JobContext& ctx) = 0;
};

// Creates the handler of one queue; on a bad option returns nullptr and sets
// *error to one line ("unknown option 'comand' (did you mean 'command'?)").
using QueueHandlerFactory = std::function<std::unique_ptr<QueueHandler>(
    const HandlerConfig& config, std::string* error)>;

}  // namespace qd
