#include "core/config/log.h"

#include <event2/event.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <map>

namespace qd {
namespace {

struct State {
  LogConfig config;
  std::string role = "main";
  std::string level;
  std::string pattern;  // of the default logger, without the message
  std::map<std::string, std::shared_ptr<spdlog::logger>> queue_loggers;
  std::string current_jid;
};

State& state() {
  static State s;
  return s;
}

// %* in a queue logger's pattern: the job being run.
class JidFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override;
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JidFlag>();
  }
};

void LibeventLog(int severity, const char* msg) {
  if (severity >= EVENT_LOG_WARN) {
    spdlog::warn("libevent: {}", msg);
  } else {
    spdlog::debug("libevent: {}", msg);
  }
}

// A new sink for the configured destination. Each logger gets its own:
// spdlog keeps the line format in the sink, so sharing one would share it.
spdlog::sink_ptr MakeSink(const LogConfig& config) {
  if (config.file == "stderr" || config.file.empty()) {
    return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  if (config.file == "syslog") {
    return std::make_shared<spdlog::sinks::syslog_sink_mt>(
        "queuedaemon", LOG_PID, LOG_DAEMON, false);
  }
  return std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file,
                                                             false);
}

Status Build() {
  const State& s = state();
  std::shared_ptr<spdlog::logger> logger;
  try {
    logger = std::make_shared<spdlog::logger>("qd", MakeSink(s.config));
  } catch (const spdlog::spdlog_ex& e) {
    return Status::Error("log file " + s.config.file + ": " + e.what());
  }
  std::string pattern = "%Y-%m-%d %H:%M:%S.%e %l [" + s.role + " " +
                        std::to_string(getpid()) + "] %v";
  if (s.config.file == "syslog") pattern = "[" + s.role + "] %v";
  logger->set_pattern(pattern);
  state().pattern = pattern.substr(0, pattern.size() - 2);  // drop "%v"
  state().queue_loggers.clear();
  logger->set_level(spdlog::level::from_str(s.level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  event_set_log_callback(&LibeventLog);
  return Status::Ok();
}

void JidFlag::format(const spdlog::details::log_msg&, const std::tm&,
                     spdlog::memory_buf_t& dest) {
  const std::string& jid = state().current_jid;
  if (jid.empty()) return;
  dest.append(std::string_view(" jid="));
  dest.append(std::string_view(jid));
}

}  // namespace

spdlog::logger& Log::ForQueue(const std::string& site,
                              const std::string& queue) {
  State& s = state();
  std::string name = site + "/" + queue;
  auto& logger = s.queue_loggers[name];
  if (!logger) {
    auto base = spdlog::default_logger();
    spdlog::sink_ptr sink;
    try {
      sink = MakeSink(s.config);
    } catch (const spdlog::spdlog_ex&) {
      return *base;  // the file vanished: keep logging where we can
    }
    logger = std::make_shared<spdlog::logger>(name, sink);
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<JidFlag>('*').set_pattern(s.pattern + "%n%*: %v");
    logger->set_formatter(std::move(formatter));
    logger->set_level(base->level());
    logger->flush_on(spdlog::level::trace);
  }
  return *logger;
}

void Log::SetCurrentJob(std::string_view jid) { state().current_jid = jid; }

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
