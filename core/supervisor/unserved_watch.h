// UnservedWatch: the master's look for streams under each site's queue keys
// that no configured queue serves (UnservedScan, core/queue/unserved_scan.h):
// jobs XADDed to a misspelt queue, or left in one the config dropped, that
// no worker will ever read.
//
// Each site is looked through at start and after each reload, and what is
// found then is logged once: a warning per stream naming the site, the key
// and its length, for the first kMaxLogged streams, then how many more.
// Every kRescan after that the site is looked through again without a log
// line, so that /metrics and /status (Fill) follow streams that come and
// go. A look that fails (Redis down, SCAN refused by an ACL) is tried again
// after kRetry; the failure is logged once per start or reload. One look
// per site at a time, one SCAN of it in flight; a reload abandons the
// looks under way (their replies are dropped).
// Single-threaded: the master's loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/monitor/monitor_snapshot.h"
#include "core/redis/redis_client.h"
#include "queuedaemon/status.h"

namespace qd {

class UnservedWatch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kRescan{60};
  static constexpr std::chrono::seconds kRetry{10};
  static constexpr size_t kMaxLogged = 20;

  // The client of a site's Redis (null: none); the caller owns it and
  // keeps it, with this watch, until its pending callbacks have run.
  using ClientFor = std::function<RedisClient*(const SiteConfig&)>;

  explicit UnservedWatch(ClientFor client_for)
      : client_for_(std::move(client_for)) {}

  // A config, at start or after a reload: every site of it is looked
  // through again at once and the result logged. REQUIRES: `config` stays
  // valid until the next Restart().
  void Restart(const Config& config);
  // Starts the looks that are due (the master's tick, every second).
  void Tick();
  // Adds each site's last finished look to its entry in `sites`.
  void Fill(std::vector<SiteSnapshot>* sites) const;

 private:
  struct Look;

  // A site's state; its generation changes with every Restart().
  struct SiteState {
    uint64_t generation = 0;
    bool running = false;         // a look is under way
    bool log_next = true;         // the next finished look is logged
    bool failure_logged = false;  // since the last Restart()
    Clock::time_point due;        // of the next look
    int64_t checked_ms = 0;       // the last finished look's
    std::vector<UnservedSnapshot> found;
    bool more = false;
  };

  void Start(const SiteConfig& site, SiteState* state);
  // Sends the look's next SCAN, or its XLENs once the scan is done.
  void Step(const std::shared_ptr<Look>& look);
  void Measure(const std::shared_ptr<Look>& look);
  // The look ended: its result is kept (and logged), or it failed.
  void Finish(const std::shared_ptr<Look>& look, const Status& status);
  // The look's site, when the look is still the current one; else null.
  SiteState* Current(const Look& look);
  static void LogFound(const Look& look);

  ClientFor client_for_;
  const Config* config_ = nullptr;
  uint64_t generation_ = 0;
  std::map<std::string, SiteState> sites_;  // by name
};

}  // namespace qd
