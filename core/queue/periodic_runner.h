// PeriodicRunner: the master's side of periodic jobs (docs/periodic.md): at
// each tick of each site's `periodic` entries it asks the site's Redis, with
// one script call (periodic_script.h), to enqueue that tick's job unless
// it is recorded already. Every daemon that serves the site does the same;
// the script makes each tick one job however many daemons ask, so there is
// no leader and nothing to hand over when a daemon dies.
//
// It lives in the master, not in a worker: workers are recycled and
// replaced, the master stays, and one timer per daemon is enough. One
// libevent timer, set to the earliest time any entry is due (its tick, or
// its retry after a failure); each entry's tick sequence, catch-up and
// retries are a PeriodicPlan. A call that fails (Redis down, a key of
// another type) is tried again with backoff (100 ms to 1 s), never in a
// loop, until the tick is missed (10 s late: the policy decides, see
// PeriodicPlan); a wrong-typed key and missed ticks are logged at most
// once a minute per entry. Entries are
// followed across reloads: an entry whose cron and time zone are unchanged
// keeps its place, a changed one starts again from the reload's time (with
// its catch-up under run_once), a removed one stops (a call under way is
// left to finish; its answer is ignored).
//
// The job: a stream entry with `payload`, `jid` = periodic:NAME:TICK_MS,
// `scheduled_at` = TICK_MS and `enqueued_at` (the master's clock, ms).
// Single-threaded: the master's loop.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config/config.h"
#include "core/queue/periodic_plan.h"
#include "core/redis/redis_client.h"
#include "core/util/subject_log_limiter.h"

struct event;
struct event_base;

namespace qd {

class PeriodicRunner {
 public:
  using Time = PeriodicPlan::Time;
  using Clock = std::function<Time()>;
  // The client of a site's Redis (null: none); the caller owns it and
  // keeps it, with this runner, until its pending callbacks have run.
  using ClientFor = std::function<RedisClient*(const SiteConfig&)>;

  // What Redis answered to one call of the script.
  struct Outcome {
    enum Kind {
      kEnqueued,  // detail: the stream entry id
      kDone,      // recorded already; detail: the recorded tick (ms)
      kFresh,     // a catch-up of an entry that never ran: nothing to do
      kError,     // detail: "KEY holds a string, not a stream" or Redis's
      kLost,      // no reply: the connection dropped
    };
    Kind kind = kLost;
    std::string detail;
  };

  // One entry as /status shows it.
  struct EntryStatus {
    std::string site;
    std::string name;
    std::string cron;
    std::string timezone;
    std::string queue;
    int64_t next_ms = 0;       // the next tick to enqueue; 0: none
    int64_t last_tick_ms = 0;  // the last tick known recorded; 0: none seen
    int64_t enqueued = 0;      // jobs this daemon enqueued
    int64_t failures = 0;      // calls that failed
    int64_t skipped = 0;       // times missed ticks were dropped (skip)
    std::string last_error;    // of the last failure, "" once one worked
  };

  // `clock` is the wall clock (tests pass another).
  PeriodicRunner(event_base* base, ClientFor client_for,
                 Clock clock = SystemClock);
  ~PeriodicRunner();
  PeriodicRunner(const PeriodicRunner&) = delete;
  PeriodicRunner& operator=(const PeriodicRunner&) = delete;

  // A config, at start or after a reload (see the top of this file).
  // REQUIRES: `config` stays valid until the next Apply() or the runner's
  // end.
  void Apply(const Config& config);
  std::vector<EntryStatus> Status() const;
  size_t size() const { return entries_.size(); }

  // The job id of a tick: periodic:NAME:TICK_MS.
  static std::string Jid(const std::string& name, int64_t tick_ms);
  // The EVAL of periodic_script.h for one tick of `entry`.
  static std::vector<std::string> Command(const SiteConfig& site,
                                          const PeriodicConfig& entry,
                                          int64_t tick_ms, bool catch_up,
                                          int64_t now_ms);
  // The same script's run by hand of `entry` at `now_ms` (mode "now"): jid
  // periodic:NAME:run:NOW_MS, scheduled_at NOW_MS, the record untouched.
  static std::vector<std::string> RunNowCommand(const SiteConfig& site,
                                                const PeriodicConfig& entry,
                                                int64_t now_ms);
  static Outcome ParseReply(const redisReply* reply);
  static Time SystemClock();

 private:
  struct Entry;

  static void OnTimer(int fd, short what, void* arg);
  // Sends every entry that is due, then sets the timer again.
  void Fire();
  void Arm();
  void Send(const std::shared_ptr<Entry>& entry,
            const PeriodicPlan::Attempt& a);
  void Answer(const std::shared_ptr<Entry>& entry,
              const PeriodicPlan::Attempt& a, const Outcome& outcome);

  event_base* base_;
  ClientFor client_for_;
  Clock clock_;
  const Config* config_ = nullptr;
  // By site, then entry name; shared with the callbacks of calls under way.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>>
      entries_;
  event* timer_ = nullptr;
  SubjectLogLimiter log_limiter_{std::chrono::minutes(1)};
};

}  // namespace qd
