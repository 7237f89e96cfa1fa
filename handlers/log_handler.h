// LogHandler: the `log` queue handler. Logs each job (site, queue, jid,
// attempt and the payload, escaped and cut to kMaxPayloadLogged bytes)
// through the job's logger and succeeds; for tests and for watching what
// arrives on a queue. Option `level` (trace, debug, info, warn, error;
// default info) picks the log level. Immutable after creation.
#pragma once

#include <spdlog/common.h>

#include <memory>
#include <string>

#include "queuedaemon/queue_handler.h"

namespace qd {

class LogHandler : public QueueHandler {
 public:
  static constexpr size_t kMaxPayloadLogged = 200;

  // The factory registered as "log".
  static std::unique_ptr<QueueHandler> Create(const HandlerConfig& config,
                                              std::string* error);

  explicit LogHandler(spdlog::level::level_enum level) : level_(level) {}

  JobResult handle(const Job& job, JobContext& ctx) override;

 private:
  spdlog::level::level_enum level_;
};

}  // namespace qd
