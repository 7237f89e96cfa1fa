#include "core/config/log.h"

#include <event2/event.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <map>

namespace qd {
namespace {

struct State {
  LogConfig config;
  std::string role = "main";
  std::string tag;  // what %& writes: "ROLE PID" (syslog: "ROLE")
  std::string level;
  std::string pattern;  // of the default logger, without the message
  std::map<std::string, std::shared_ptr<spdlog::logger>> queue_loggers;
  std::string current_jid;
};

State& state() {
  static State s;
  return s;
}

// A logged message, jid or payload often holds text from outside (a job's
// fields, a client's request, a peer's reply). Escaped here, once for every
// line, so no value can split a line or forge one ("\nCRITICAL [master 1]
// ..."), move a terminal's cursor, or fill the disk with one record: C0
// controls and DEL become \n, \r, \t or \xNN, the UTF-8 forms of the C1
// controls \u0080-\u009f become \u00NN, and the text is cut after `max`
// bytes with "...(+N bytes)". Backslashes stay as they are: a literal "\n"
// cannot start a line.
void AppendEscaped(std::string_view text, size_t max,
                   spdlog::memory_buf_t& dest) {
  static const char kHex[] = "0123456789abcdef";
  size_t n = std::min(text.size(), max);
  size_t plain = 0;  // start of the run not yet copied
  auto flush = [&](size_t end) {
    dest.append(text.data() + plain, text.data() + end);
  };
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    bool c1 = c == 0xc2 && i + 1 < n &&
              static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (c >= 0x20 && c != 0x7f && !c1) continue;
    flush(i);
    if (c1) {
      unsigned char d = static_cast<unsigned char>(text[++i]);
      const char esc[] = {'\\', 'u', '0', '0', kHex[d >> 4], kHex[d & 15]};
      dest.append(esc, esc + sizeof(esc));
    } else if (c == '\n' || c == '\r' || c == '\t') {
      const char esc[] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
      dest.append(esc, esc + sizeof(esc));
    } else {
      const char esc[] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      dest.append(esc, esc + sizeof(esc));
    }
    plain = i + 1;
  }
  flush(n);
  if (n < text.size()) {
    std::string more = "...(+" + std::to_string(text.size() - n) + " bytes)";
    dest.append(more.data(), more.data() + more.size());
  }
}

// %v, replaced: the message, escaped and bounded (AppendEscaped).
class MessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    AppendEscaped(std::string_view(msg.payload.data(), msg.payload.size()),
                  Log::kMaxMessageBytes, dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<MessageFlag>();
  }
};

// %&: the process's role and pid, read at every line, so that a forked
// child renames itself without building a new logger (Log::Rename).
class TagFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string& tag = state().tag;
    dest.append(tag.data(), tag.data() + tag.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TagFlag>();
  }
};

// A formatter for `pattern` whose %v is MessageFlag's and %& TagFlag's.
std::unique_ptr<spdlog::pattern_formatter> Formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<MessageFlag>('v');
  formatter->add_flag<TagFlag>('&');
  return formatter;
}

void SetTag() {
  State& s = state();
  s.tag = s.config.file == "syslog" ? s.role
                                    : s.role + " " + std::to_string(getpid());
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
  SetTag();
  std::string pattern = "%Y-%m-%d %H:%M:%S.%e %l [%&] %v";
  if (s.config.file == "syslog") pattern = "[%&] %v";
  auto formatter = Formatter();
  formatter->set_pattern(pattern);
  logger->set_formatter(std::move(formatter));
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
  AppendEscaped(jid, Log::kMaxJidBytes, dest);
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
    auto formatter = Formatter();
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

void Log::Rename(const std::string& role) {
  state().role = role;
  SetTag();
}

Status Log::Reopen() { return Build(); }

void Log::Release() {
  // A null sink first, so nothing in between writes through a stale FILE*.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("qd-null"));
}

}  // namespace qd
