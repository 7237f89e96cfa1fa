// QueueHandler: what a plugin author writes to run jobs.
//
// One instance per configured queue, created in the master at start-up (and
// on reload) by the factory registered under the handler's name, so that a
// bad option stops start-up with a clear message instead of failing in a
// worker. Workers inherit the instance through fork: handle() runs in a
// worker process, one job at a time (no locking needed), and may block (the
// worker's loop waits; other workers keep serving). A thrown exception is a
// retry with the exception's text as its reason. A handler whose outcome
// is known only later defers it (JobContext::Defer); one whose jobs can run
// only in some workers, or only at some times, closes its fetch gate
// (QueueHandler::FetchOpen).
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

class XmppSender;

// What a handler learns about where it runs, at creation.
struct HandlerConfig {
  std::string site;
  std::string queue;
  std::string handler;  // the registered name
  // The queue's keys that the framework does not know (e.g. exec's
  // `command`): a YAML map, possibly empty. Reject keys you do not know
  // (queuedaemon/handler_options.h does it, with the daemon's wording).
  YAML::Node options;
  std::string where;  // "FILE:LINE" of the queue, for messages
  // The worker's XMPP links (queuedaemon/xmpp_sender.h), valid as long as
  // the handler: keep the pointer. Set by the daemon; null in a
  // HandlerConfig that a test builds by hand.
  XmppSender* xmpp = nullptr;
  // Call it (from the worker's loop; copy it to keep it) when the handler's
  // FetchOpen() may have turned true: the worker's sites then fetch again.
  // A site whose queues are all closed does not read at all, so without
  // this call it would not notice that a gate opened. Does nothing in the
  // master. Set by the daemon; empty in a hand-made config.
  std::function<void()> fetch_again;
};

// The outcome of a deferred job (JobContext::Defer): call it once, from the
// worker's loop, with the job's result.
using JobCompletion = std::function<void(JobResult result)>;

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

  // Defers the job's outcome, for a handler that learns it only later (the
  // xmpp handler waits for the server's confirmation). Call it at most once,
  // inside handle(); handle() then returns at once and its return value is
  // ignored (return JobResult::Ok()). The job stays held by this worker (it
  // counts as in flight: a draining worker waits for it) until the returned
  // completion is called with the result, which is applied as handle()'s
  // would have been: ack (and the jobs Enqueue()d), retry or dead letter.
  // Call the completion once, from the worker's loop (an XmppSender's
  // `done`, an IoManager callback), within the queue's visibility_timeout:
  // nothing renews the job's lease meanwhile, so after that another worker
  // may claim the job and run it again. Calling it inside handle() is
  // allowed (that result is the outcome); calls after the first are
  // ignored. A completion dropped without being called leaves the job held:
  // it stays pending in Redis until the visibility_timeout passes and a
  // worker claims it (a new delivery), and this worker stays busy, so once
  // asked to drain it never exits by itself (at shutdown the master kills
  // it after daemon.shutdown_timeout).
  virtual JobCompletion Defer() = 0;
};

class QueueHandler {
 public:
  virtual ~QueueHandler() = default;
  virtual JobResult handle(const Job& job, JobContext& ctx) = 0;

  // The queue's fetch gate: whether this worker fetches the queue's jobs
  // now. Asked from the worker's loop before each read and each claim of
  // idle jobs of the queue's site, so it must be cheap and must not block.
  // While it is false the queue's new jobs stay in Redis, for another worker
  // or for this one later, instead of being fetched only to fail; jobs
  // already fetched still run, and the replay of this worker's own pending
  // jobs after a restart does not ask (handle() must cope). When it may have
  // turned true, call HandlerConfig::fetch_again. The default is always
  // open.
  virtual bool FetchOpen() const { return true; }
};

// Creates the handler of one queue; on a bad option returns nullptr and sets
// *error to one line ("unknown option 'comand' (did you mean 'command'?)").
using QueueHandlerFactory = std::function<std::unique_ptr<QueueHandler>(
    const HandlerConfig& config, std::string* error)>;

}  // namespace qd
