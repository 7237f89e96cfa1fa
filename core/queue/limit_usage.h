// LimitUsage: what one limit of a site holds now, read with the stats
// script of limit_scripts.h (one call per site): the numbers of `queuectl
// stats` and of /metrics (queuedaemon_limit_*).
//
//   running  concurrency slots held, across every key: by workers for the
//            jobs they run (and keep for their next ones), and for waiters
//            moved back to their streams
//   pending  rate grants whose job has not started yet
//   started  starts within the current window
//   waiting  jobs in the wait lists
//   keys     limit_keys used within a day (counted up to 1000)
// Plain data; the caller sends Command() and hands the reply to Parse().
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "queuedaemon/status.h"

namespace qd {

struct LimitUsage {
  std::string name;
  int concurrency = 0;  // the bounds, from the config
  int rate = 0;
  int64_t window_ms = 0;
  int64_t running = 0;
  int64_t pending = 0;
  int64_t started = 0;
  int64_t waiting = 0;
  int64_t keys = 0;

  // The stats call for `site`. REQUIRES: the site has limits.
  static std::vector<std::string> Command(const SiteConfig& site);
  // Its reply, as one LimitUsage per limit of the site (`limits`, its
  // config), by name.
  [[nodiscard]] static Status Parse(
      const std::map<std::string, LimitConfig>& limits, const redisReply* reply,
      std::vector<LimitUsage>* out);
  // "concurrency 2", "rate 5/1s", "concurrency 4, rate 100/1m".
  std::string Bound() const;
};

}  // namespace qd
