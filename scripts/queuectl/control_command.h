// ControlCommand: the queuectl subcommands that talk to live daemons over
// the control channel (core/control/control_message.h; docs/control.md):
//
//   queuectl reload [--site S]    re-read the config (one site's only)
//   queuectl restart              roll the workers over, one slot at a time
//   queuectl drain [--site S]     stop fetching jobs
//   queuectl resume [--site S]    fetch again
//   queuectl stop                 graceful shutdown, as on SIGTERM
//   queuectl ps [--json]          every live daemon, answered by itself
//
// One object per subcommand, all with --host H, --timeout DUR (5s) and
// --secret-file PATH (default: the config's control.secret_file); the
// global -i ID selects daemons by id ("" = every daemon, not the config's
// daemon.id).
//
// Run(): lists the live daemons from their hashes qd:{qd}:daemon:HOST:ID in the
// daemon's Redis (SCAN + HGETALL), keeps the selected ones, PUBLISHes one
// command on qd:control (signed when there is a secret), then BLPOPs its
// reply_to until every selected daemon answered or the timeout passed. It
// prints one line per daemon ("HOST:ID pid N: ok - MESSAGE", "...: FAILED -
// MESSAGE", "HOST:ID: no answer within 5s"), answers from daemons that were
// not listed (one that just started) included; `ps` prints a table of the
// replies' data instead (or one JSON object per line with --json) and the
// others' lines on stderr.
// Exit: 0 every selected daemon answered ok; 1 one failed or did not
// answer, no live daemon matched, or Redis failed; 2 usage errors.
// Not thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/control/control_message.h"
#include "core/redis/redis_conn.h"
#include "scripts/queuectl/command.h"

namespace qd::ctl {

class ControlCommand : public Command {
 public:
  // Registers subcommand `name` (reload, restart, drain, resume, stop, ps).
  ControlCommand(CLI::App* parent, const std::string& name);
  int Run(CtlContext* ctx) override;

  // The names Run() can send, in the order queuectl lists them.
  static const std::vector<std::string>& Names();

 private:
  // A live daemon, from its hash.
  struct Daemon {
    std::string host;
    std::string id;
    std::string Name() const { return host + ":" + id; }
  };
  // What came back for one daemon; `answered` false = nothing yet.
  struct Answer {
    bool listed = false;
    bool answered = false;
    ControlReply reply;
  };
  using Answers = std::map<std::string, Answer>;  // by HOST:ID

  Status Options(const CtlContext& ctx, std::chrono::milliseconds* timeout,
                 std::string* secret) const;
  std::string Selection(const CtlContext& ctx) const;
  static Status ListDaemons(RedisConn* conn, std::vector<Daemon>* out);
  // Marks the selected ones of `live` as listed in `answers`; an error
  // naming the live daemons when none is selected.
  Status Select(const CtlContext& ctx, const std::string& server,
                const std::vector<Daemon>& live, const qd::ControlCommand& cmd,
                Answers* answers) const;
  // PUBLISHes `cmd` and collects the answers; `waited` says how long a
  // silent daemon was waited for (or why not at all).
  static Status Send(RedisConn* conn, const qd::ControlCommand& cmd,
                     const std::string& secret,
                     std::chrono::milliseconds timeout, Answers* answers,
                     std::string* waited);
  // BLPOPs `cmd.reply_to` until every listed answer is in or `timeout`.
  static Status Collect(RedisConn* conn, const qd::ControlCommand& cmd,
                        std::chrono::milliseconds timeout, Answers* answers);
  static void Take(const redisReply& value, const qd::ControlCommand& cmd,
                   Answers* answers);
  // Prints the results; returns the exit code.
  int Report(const Answers& answers, const std::string& waited) const;
  static std::string Line(const std::string& name, const Answer& a,
                          const std::string& waited);
  static void PrintTable(const std::vector<const ControlReply*>& replies);
  // `ps --json`: each reply's data, with host, id and pid, on one line.
  static void PrintJson(const std::vector<const ControlReply*>& replies);

  std::string name_;
  std::string site_;
  std::string host_;
  std::string timeout_ = "5s";
  std::string secret_file_;
  bool json_ = false;
};

}  // namespace qd::ctl
