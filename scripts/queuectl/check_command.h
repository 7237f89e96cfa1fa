// CheckCommand: `queuectl check`, a Nagios/Icinga plugin. It follows the
// Monitoring Plugins Development Guidelines: exit 0 OK, 1 WARNING,
// 2 CRITICAL, 3 UNKNOWN, and exactly one line on stdout (nothing on
// stderr):
//
//   QUEUEDAEMON CRITICAL - dead 12 > 10 (site a queue mail); ready 3, dead
//   12 in 2 queues; workers 4 on 1 daemon | ready=3;;;0; dead=12;;;0; ...
//
// What is wrong comes first (critical before warning), then the totals.
//
// Numbers:
//   ready, dead  per queue, as `queuectl stats` counts them (StatsReader);
//                only the queues of --site / --queue when given.
//   workers      the sum of the `ready` field of the live daemons' hashes
//                qd:{qd}:daemon:HOST:ID in the daemon's Redis (redis.url or
//                --redis; "embedded" is the socket in run_dir), found with
//                SCAN and kept when their `id` field equals -i and their
//                `host` field equals --host, for whichever is given.
// Thresholds:
//   --ready-warn/--ready-crit, --dead-warn/--dead-crit apply to every queue
//   in scope on its own: a queue whose value is > the threshold raises the
//   state. --workers-min: workers < N is CRITICAL, and so is finding no live
//   daemon at all (even with N = 0). A value without thresholds is only
//   reported.
// Performance data: ready, dead and workers always (the totals), and
// ready_SITE_QUEUE / dead_SITE_QUEUE per queue when more than one queue is in
// scope. A value carries warn/crit only when it is checked against them, so
// with several queues the totals carry none (graphing tools would otherwise
// colour them against limits that were not applied).
//
// Everything that prevents an answer is UNKNOWN with the reason: an unknown
// site or queue, a bad threshold, a Redis that fails, and command-line
// errors of CLI11 (see the constructor). One path is main()'s and stays
// queuectl's: a config file that fails to load exits 2 with the reason on
// stderr before any command runs. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scripts/queuectl/command.h"

namespace qd::ctl {

class CheckCommand : public Command {
 public:
  // Nagios plugin states, which are the exit codes of this command.
  enum State { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

  // Registers `check`. It also installs the parent's CLI11 failure message
  // hook: queuectl's usage exit code (2) means CRITICAL to Nagios, so a
  // command-line error while `check` is the chosen command prints an
  // UNKNOWN line and exits 3 from inside the hook. REQUIRES: `parent` is the
  // root app, and this object outlives its parse() and exit() calls.
  explicit CheckCommand(CLI::App* parent);
  int Run(CtlContext* ctx) override;

 private:
  // Exceeded when the value is greater; unset: not checked.
  struct Limits {
    std::optional<int64_t> warn;
    std::optional<int64_t> crit;
  };
  struct QueueCount {
    std::string site;
    std::string queue;
    int64_t ready = 0;
    int64_t dead = 0;
  };
  struct Workers {
    int daemons = 0;     // live daemon hashes that passed the filters
    int64_t ready = 0;   // the sum of their `ready` fields
    std::string filter;  // "id ID, host HOST" as given, for messages
  };
  // The state so far and what raised it, worst first.
  struct Findings {
    State state = kOk;
    std::vector<std::string> critical;
    std::vector<std::string> warning;
    void Add(State s, std::string what);
  };

  Status ParseLimits();
  // Leaves `out` unset when `option` was not given.
  Status ParseCount(const char* option, const std::string& text,
                    std::optional<int64_t>* out) const;
  Status Scope(const CtlContext& ctx,
               std::vector<const SiteConfig*>* sites) const;
  Status ReadQueues(CtlContext* ctx,
                    const std::vector<const SiteConfig*>& sites,
                    std::vector<QueueCount>* out) const;
  Status ReadWorkers(CtlContext& ctx, Workers* out) const;
  // The daemon hash keys, by SCAN; the one key when `id` and host_ are set.
  Status ScanDaemons(RedisConn* conn, const std::string& id,
                     std::vector<std::string>* keys) const;
  // Adds a daemon's `HMGET key id host ready` reply if it passes -i/--host.
  void Count(const redisReply& hmget, const std::string& want_id,
             Workers* out) const;
  Findings Evaluate(const std::vector<QueueCount>& queues,
                    const Workers& workers) const;
  std::string Summary(const Findings& findings,
                      const std::vector<QueueCount>& queues,
                      const Workers& workers) const;
  std::string PerfData(const std::vector<QueueCount>& queues,
                       const Workers& workers) const;

  // Prints "QUEUEDAEMON <STATE> - <text>[ | <perfdata>]"; returns `state`.
  static int Report(State state, const std::string& text,
                    const std::string& perfdata = "");
  static void Check(const char* what, int64_t value, const Limits& limits,
                    const std::string& where, Findings* findings);
  static std::string Perf(const std::string& label, int64_t value,
                          const std::string& warn, const std::string& crit);
  static std::string Text(const std::optional<int64_t>& limit);

  std::string site_;
  std::string queue_;
  std::string host_;
  // Thresholds as typed; parsed in Run() so that a bad number is UNKNOWN.
  std::string ready_warn_, ready_crit_, dead_warn_, dead_crit_, workers_min_;
  Limits ready_, dead_;
  std::optional<int64_t> workers_min_n_;
};

}  // namespace qd::ctl
