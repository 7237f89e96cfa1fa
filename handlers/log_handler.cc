#include "log_handler.h"

#include <spdlog/logger.h>

#include <utility>
#include <vector>

#include "printable.h"
#include "queuedaemon/handler_options.h"

namespace qd {
namespace {

const std::vector<std::pair<std::string, spdlog::level::level_enum>> kLevels = {
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err}};

}  // namespace

std::unique_ptr<QueueHandler> LogHandler::Create(const HandlerConfig& config,
                                                 std::string* error) {
  HandlerOptions options("log", config.options, {"level"});
  std::string level = "info";
  Status s = options.CheckKeys();
  if (s.ok()) s = options.GetString("level", &level);
  if (!s.ok()) {
    *error = s.message();
    return nullptr;
  }
  for (const auto& [name, value] : kLevels) {
    if (name == level) return std::make_unique<LogHandler>(value);
  }
  *error =
      "option 'level': expected one of trace, debug, info, warn, error, "
      "got '" +
      level + "'";
  return nullptr;
}

JobResult LogHandler::handle(const Job& job, JobContext& ctx) {
  ctx.log().log(level_,
                "job site={} queue={} jid={} attempt={} payload=\"{}\" "
                "({} bytes)",
                job.site(), job.queue(), job.jid(), job.attempt(),
                Printable(job.payload(), kMaxPayloadLogged),
                job.payload().size());
  return JobResult::Ok();
}

}  // namespace qd
