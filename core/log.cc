#include "core/log.h"

#include <event2/event.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace qd {
namespace {

struct State {
  LogConfig config;
  std::string role = "main";
  std::string level;
};

State& state() {
  static State s;
  return s;
}

void LibeventLog(int severity, const char* msg) {
  if (severity >= EVENT_LOG_WARN) {
    spdlog::warn("libevent: {}", msg);
  } else {
    spdlog::debug("libevent: {}", msg);
  }
}

Status Build() {
  const State& s = state();
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (s.config.file == "stderr" || s.config.file.empty()) {
      logger = std::make_shared<spdlog::logger>(
          "qd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else if (s.config.file == "syslog") {
      logger = std::make_shared<spdlog::logger>(
          "qd", std::make_shared<spdlog::sinks::syslog_sink_mt>(
                    "queuedaemon", LOG_PID, LOG_DAEMON, false));
    } else {
      logger = std::make_shared<spdlog::logger>(
          "qd", std::make_shared<spdlog::sinks::basic_file_sink_mt>(
                    s.config.file, false));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Status::Error("log file " + s.config.file + ": " + e.what());
  }
  std::string pattern = "%Y-%m-%d %H:%M:%S.%e %l [" + s.role + " " +
                        std::to_string(getpid()) + "] %v";
  if (s.config.file == "syslog") pattern = "[" + s.role + "] %v";
  logger->set_pattern(pattern);
  logger->set_level(spdlog::level::from_str(s.level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  event_set_log_callback(&LibeventLog);
  return Status::Ok();
}

}  // namespace

Status Log::Setup(const LogConfig& config, const std::string& role,
                  const std::string& level_override) {
  State& s = state();
  s.config = config;
  s.role = role;
  s.level = level_override.empty() ? config.level : level_override;
  return Build();
}

Status Log::SetRole(const std::string& role) {
  state().role = role;
  return Build();
}

Status Log::Reopen() { return Build(); }

void Log::Release() {
  // A null sink first, so nothing in between writes through a stale FILE*.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("qd-null"));
}

}  // namespace qd
