#include "upper_handler.h"

#include <spdlog/logger.h>

#include <cctype>

namespace example {

std::unique_ptr<qd::QueueHandler> UpperHandler::Create(
    const qd::HandlerConfig& config, std::string* error) {
  std::optional<std::string> fail_on;
  // Reject what we do not know: a typo must stop start-up, not be ignored.
  for (const auto& option : config.options) {
    std::string key = option.first.as<std::string>("");
    if (key != "fail_on") {
      *error = "unknown option '" + key + "' (example-upper knows: fail_on)";
      return nullptr;
    }
    if (!option.second.IsScalar()) {
      *error = "option 'fail_on': expected a string";
      return nullptr;
    }
    fail_on = option.second.Scalar();
  }
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
