#include "exec_handler.h"

#include <spdlog/logger.h>

#include <cstring>
#include <map>

#include "child_process.h"
#include "output_logger.h"
#include "queuedaemon/handler_options.h"

extern char** environ;

namespace qd {
namespace {

constexpr int kExitTempFail = 75;  // EX_TEMPFAIL, sysexits.h

Status ReadCommand(const YAML::Node& node, std::vector<std::string>* out) {
  if (!node.IsDefined() || node.IsNull()) {
    return Status::Error(
        "option 'command' is required: the program and its arguments, e.g. "
        "command: [/usr/local/bin/send-mail, --quiet]");
  }
  if (node.IsScalar()) {
    return Status::Error(
        "option 'command': give a list, not a string (it is not split into "
        "words): command: [" +
        node.Scalar() + "] or command: [/bin/sh, -c, '...']");
  }
  if (!node.IsSequence() || node.size() == 0) {
    return Status::Error(
        "option 'command': expected a non-empty list of "
        "strings (the program and its arguments)");
  }
  for (const auto& arg : node) {
    if (!arg.IsScalar()) {
      return Status::Error("option 'command': every element must be a string");
    }
    out->push_back(arg.Scalar());
  }
  if (out->front().empty()) {
    return Status::Error("option 'command': the program name is empty");
  }
  return Status::Ok();
}

Status ReadEnv(const YAML::Node& node, ExecHandler::Env* out) {
  if (!node.IsDefined() || node.IsNull()) return Status::Ok();
  if (!node.IsMap()) {
    return Status::Error("option 'env': expected a map of NAME: value");
  }
  for (const auto& entry : node) {
    std::string name = entry.first.as<std::string>("");
    if (name.empty() || name.find('=') != std::string::npos) {
      return Status::Error("option 'env': '" + name +
                           "' is not a variable name");
    }
    if (!entry.second.IsScalar()) {
      return Status::Error("option 'env': " + name +
                           ": expected a string value");
    }
    out->emplace_back(name, entry.second.Scalar());
  }
  return Status::Ok();
}

// "5s", "1.5s", "250ms": for reasons.
std::string FormatTimeout(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000 == 0) return s + "s";
  std::string frac = std::to_string(1000 + ms % 1000).substr(1);
  while (frac.back() == '0') frac.pop_back();
  return s + "." + frac + "s";
}

std::string WithLine(std::string reason, const std::string& line) {
  return line.empty() ? reason : reason + ": " + line;
}

JobResult Decide(const ChildProcess::Outcome& o, const std::string& program,
                 const std::string& stderr_line,
                 std::chrono::milliseconds timeout) {
  if (o.spawn_error != 0) {
    return JobResult::Fail("cannot run " + program + ": " +
                           std::strerror(o.spawn_error));
  }
  if (o.timed_out)
    return JobResult::Retry("timed out after " + FormatTimeout(timeout));
  if (o.exit_code == 0) return JobResult::Ok();
  if (o.exit_code == kExitTempFail) {
    return JobResult::Retry(
        WithLine("command exited with 75 (EX_TEMPFAIL)", stderr_line));
  }
  if (o.exit_code > 0) {
    return JobResult::Fail(WithLine(
        "command exited with " + std::to_string(o.exit_code), stderr_line));
  }
  if (o.signal > 0) {
    return JobResult::Retry(WithLine("command killed by signal " +
                                         std::to_string(o.signal) + " (" +
                                         strsignal(o.signal) + ")",
                                     stderr_line));
  }
  return JobResult::Retry(
      "command ended, its exit status was lost (is "
      "SIGCHLD ignored?)");
}

}  // namespace

std::unique_ptr<QueueHandler> ExecHandler::Create(const HandlerConfig& config,
                                                  std::string* error) {
  HandlerOptions options("exec", config.options, {"command", "env"});
  std::vector<std::string> command;
  Env env;
  Status s = options.CheckKeys();
  if (s.ok()) s = ReadCommand(options.Get("command"), &command);
  if (s.ok()) s = ReadEnv(options.Get("env"), &env);
  if (!s.ok()) {
    *error = s.message();
    return nullptr;
  }
  return std::make_unique<ExecHandler>(std::move(command), std::move(env));
}

ExecHandler::ExecHandler(std::vector<std::string> command, Env env,
                         std::chrono::milliseconds kill_grace)
    : command_(std::move(command)),
      env_(std::move(env)),
      kill_grace_(kill_grace) {}

JobResult ExecHandler::handle(const Job& job, JobContext& ctx) {
  OutputLogger logger(ctx.log(), kMaxLogged);
  ChildProcess child(command_, Environment(job), kill_grace_);
  ChildProcess::Outcome outcome =
      child.Run(job.payload(), ctx.timeout(),
                [&logger](OutputLogger::Stream stream, std::string_view chunk) {
                  logger.Add(stream, chunk);
                });
  logger.Finish();
  if (outcome.input_unread > 0) {
    ctx.log().debug("command did not read {} bytes of its input",
                    outcome.input_unread);
  }
  return Decide(outcome, command_.front(), logger.last_error_line(),
                ctx.timeout());
}

std::vector<std::string> ExecHandler::Environment(const Job& job) const {
  std::map<std::string, std::string> ours = {
      {"QD_SITE", std::string(job.site())},
      {"QD_QUEUE", std::string(job.queue())},
      {"QD_JID", std::string(job.jid())},
      {"QD_ATTEMPT", std::to_string(job.attempt())}};
  for (const auto& [name, value] : env_) ours[name] = value;  // env wins
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    std::string name(*e, eq != nullptr ? eq - *e : std::strlen(*e));
    if (ours.count(name) == 0) env.emplace_back(*e);
  }
  for (const auto& [name, value] : ours) env.push_back(name + "=" + value);
  return env;
}

}  // namespace qd
