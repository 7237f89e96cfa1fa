// ApiViews: the /api/v1 read replies that come from what the master holds
// already (MonitorSnapshot, its OverviewSeries, the config): overview,
// workers, sites, periodic, listeners. No Redis call: /api/v1/summary,
// polled every second, costs a snapshot and these renders (plus the
// daemons list, ApiDaemons). Every outside string goes in through
// nlohmann::json; the caller dumps with error_handler_t::replace. Pure
// functions on plain data, no clock (ages are taken against
// snapshot.now_ms).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/monitor/monitor_snapshot.h"
#include "core/monitor/overview_series.h"

namespace qd {

struct ApiViews {
  static nlohmann::json Overview(const MonitorSnapshot& s,
                                 const OverviewSeries* series);
  static nlohmann::json Workers(const MonitorSnapshot& s);
  // `paused`: the sites whose fetching is stopped (drain).
  static nlohmann::json Sites(const MonitorSnapshot& s, const Config& config,
                              const std::vector<std::string>& paused);
  static nlohmann::json Periodic(const MonitorSnapshot& s);
  static nlohmann::json Listeners(const MonitorSnapshot& s,
                                  const Config& config);

  // One worker slot as /workers and the daemon hash's "slots" field show it:
  // {slot, pid, state, rss_bytes, jobs, job: null | {site, queue, id, jid,
  // running_ms}}. The board names the running job by its entry id (which
  // is its jid unless the producer gave one): jid is that id.
  static nlohmann::json Worker(const WorkerSnapshot& w, int64_t now_ms);
  // The totals since start: every job finished, and those that failed.
  static int64_t Processed(const MonitorSnapshot& s);
  static int64_t Failed(const MonitorSnapshot& s);
  // The ready jobs of every site whose depth is known; -1: none known.
  static int64_t ReadyTotal(const MonitorSnapshot& s);
};

}  // namespace qd
