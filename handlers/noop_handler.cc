#include "noop_handler.h"

#include "queuedaemon/handler_options.h"

namespace qd {

std::unique_ptr<QueueHandler> NoopHandler::Create(const HandlerConfig& config,
                                                  std::string* error) {
  Status s = HandlerOptions("noop", config.options, {}).CheckKeys();
  if (!s.ok()) {
    *error = s.message();
    return nullptr;
  }
  return std::make_unique<NoopHandler>();
}

JobResult NoopHandler::handle(const Job& job, JobContext& ctx) {
  (void)job;
  (void)ctx;
  return JobResult::Ok();
}

}  // namespace qd
