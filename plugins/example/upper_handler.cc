#include "upper_handler.h"

#include <spdlog/logger.h>

#include <cctype>

#include "queuedaemon/handler_options.h"

namespace example {

std::unique_ptr<qd::QueueHandler> UpperHandler::Create(
    const qd::HandlerConfig& config, std::string* error) {
  // Reject what we do not know: a typo must stop start-up, not be ignored.
  qd::HandlerOptions options("example-upper", config.options, {"fail_on"});
  std::string text;
  qd::Status s = options.CheckKeys();
  if (s.ok()) s = options.GetString("fail_on", &text);
  if (!s.ok()) {
    *error = s.message();
    return nullptr;
  }
  std::optional<std::string> fail_on;  // absent (or null): never fail
  YAML::Node given = options.Get("fail_on");
  if (given.IsDefined() && !given.IsNull()) fail_on = text;
  return std::make_unique<UpperHandler>(std::move(fail_on));
}

qd::JobResult UpperHandler::handle(const qd::Job& job, qd::JobContext& ctx) {
  // The job's strings are views valid during this call: copy to keep.
  if (fail_on_ && job.payload() == *fail_on_) {
    return qd::JobResult::Fail("asked to fail");
  }
  std::string upper(job.payload());
  for (char& c : upper) c = std::toupper(static_cast<unsigned char>(c));
  ctx.log().info("example-upper: {}", upper);
  ctx.Count("example.upper");
  return qd::JobResult::Ok();
}

}  // namespace example
