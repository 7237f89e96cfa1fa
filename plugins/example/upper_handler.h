// UpperHandler: the example plugin's "example-upper" queue handler.
//
// Logs each payload uppercased, counts "example.upper", and succeeds; with
// the option `fail_on: TEXT`, a payload equal to TEXT fails ("asked to
// fail"), which shows the dead-letter path. Immutable after creation, as a
// handler instance is shared by every job of its queue.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "queuedaemon/queue_handler.h"

namespace example {

class UpperHandler : public qd::QueueHandler {
 public:
  // The factory registered as "example-upper".
  static std::unique_ptr<qd::QueueHandler> Create(
      const qd::HandlerConfig& config, std::string* error);

  explicit UpperHandler(std::optional<std::string> fail_on)
      : fail_on_(std::move(fail_on)) {}

  qd::JobResult handle(const qd::Job& job, qd::JobContext& ctx) override;

 private:
  std::optional<std::string> fail_on_;
};

}  // namespace example
