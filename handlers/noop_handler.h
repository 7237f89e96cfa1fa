// NoopHandler: the `noop` queue handler. Every job succeeds at once; for
// tests, benchmarks (the framework's own cost) and draining a queue. Takes no
// options. Stateless: one instance per queue, like every handler.
#pragma once

#include <memory>
#include <string>

#include "queuedaemon/queue_handler.h"

namespace qd {

class NoopHandler : public QueueHandler {
 public:
  // The factory registered as "noop": refuses any option.
  static std::unique_ptr<QueueHandler> Create(const HandlerConfig& config,
                                              std::string* error);

  JobResult handle(const Job& job, JobContext& ctx) override;
};

}  // namespace qd
