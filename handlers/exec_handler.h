// ExecHandler: the `exec` queue handler. Runs a command per job with the
// payload on its stdin; its exit code decides the job:
//   0                   -> ok
//   75 (EX_TEMPFAIL)    -> retry, with the last stderr line as the reason
//   any other code      -> fail (dead-letter), same reason
//   killed by a signal  -> retry
//   cannot start        -> fail ("cannot run /path: No such file or ...")
//   past the queue's `timeout` -> its process group gets SIGTERM, SIGKILL
//                          2 s later; retry ("timed out after 5s")
// The command sees the worker's environment plus QD_SITE, QD_QUEUE, QD_JID
// and QD_ATTEMPT, plus the queue's `env` option (which wins). Its stdout is
// logged at info and its stderr at warn, line by line, at most kMaxLogged
// bytes per job. Options:
//   command: [/usr/local/bin/send-mail, --quiet]   # required argv list
//   env: { LANG: C.UTF-8 }                          # optional
// The timeout is the queue's own `timeout` key (JobContext::timeout()).
// Immutable after creation: handle() may run in any worker.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "queuedaemon/queue_handler.h"

namespace qd {

class ExecHandler : public QueueHandler {
 public:
  static constexpr size_t kMaxLogged = 64 * 1024;
  using Env = std::vector<std::pair<std::string, std::string>>;

  // The factory registered as "exec".
  static std::unique_ptr<QueueHandler> Create(const HandlerConfig& config,
                                              std::string* error);

  // REQUIRES: !command.empty(). `kill_grace`: SIGTERM to SIGKILL on timeout.
  ExecHandler(std::vector<std::string> command, Env env,
              std::chrono::milliseconds kill_grace = std::chrono::seconds(2));

  JobResult handle(const Job& job, JobContext& ctx) override;

 private:
  // The command's whole environment for `job`, as "NAME=value" strings.
  std::vector<std::string> Environment(const Job& job) const;

  std::vector<std::string> command_;
  Env env_;
  std::chrono::milliseconds kill_grace_;
};

}  // namespace qd
