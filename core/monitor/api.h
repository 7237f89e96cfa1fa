// Api: the HTTP API /api/v1 on monitor.http (docs/api.md): read endpoints
// for the dashboard and scripts, and the actions (dead-job retry and
// delete, enqueue, drain and resume, a periodic run by hand). HttpMonitor
// hands it every request under /api/v1/ through Handle().
//
// Reads that the master holds already (overview, workers, sites,
// periodic, listeners, auth) are answered inside the call from a
// MonitorSnapshot; the rest are deferred (http_completion.h) and answered
// when Redis replies on the master's loop: never a blocking call. Each
// request passes, in order: the router (404, 405, 400 for a bad
// %-escape), the cross-site check (403, reads included), the token for
// actions (403 off, 401), the site/queue lookup (404), the parameters
// (400). Redis not connected: 503 at once; no reply within the answer
// deadline: 504 (HttpLimits::answer_deadline).
//
// Owns the router and the daemons list (ApiDaemons); borrows the rest
// through Sources. Single-threaded: the master's loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.h"
#include "core/monitor/api_call.h"
#include "core/monitor/api_daemons.h"
#include "core/monitor/api_router.h"
#include "core/monitor/http_completion.h"
#include "core/monitor/http_request.h"
#include "core/monitor/http_response.h"
#include "core/monitor/monitor_snapshot.h"
#include "core/monitor/overview_series.h"
#include "core/redis/redis_client.h"

namespace qd {

class Api {
 public:
  struct Sources {
    std::function<MonitorSnapshot()> snapshot;
    const OverviewSeries* series = nullptr;  // null: no points
    // The config in force (the token, the sites), null: none yet.
    std::function<const Config*()> config;
    // The client of a site's Redis (null: none).
    std::function<RedisClient*(const SiteConfig&)> client_for;
    // The daemon's Redis: the daemon hashes and the control channel.
    RedisClient* redis = nullptr;
    // The sites whose fetching is stopped (drain).
    std::function<std::vector<std::string>()> paused;
  };

  static constexpr std::string_view kPrefix = "/api/v1/";

  explicit Api(Sources sources);

  // Whether `path` is the API's.
  static bool Owns(std::string_view path) {
    return path.substr(0, kPrefix.size()) == kPrefix;
  }
  // A POST to the API may carry ApiActions::kMaxBody; the rest `fallback`.
  static size_t BodyLimit(const HttpRequest& request, size_t fallback);

  void Handle(const HttpRequest& request, HttpResponse* response,
              HttpDeferral* deferral);

 private:
  enum Route {
    kOverview,
    kDaemons,
    kWorkers,
    kSites,
    kPeriodic,
    kListeners,
    kSummary,
    kAuth,
    kJobs,
    kDead,
    kDelayed,
    kRetryDead,
    kDeleteDead,
    kRetryAllDead,
    kPurgeDead,
    kDeleteJob,
    kEnqueue,
    kDrain,
    kResume,
    kRunPeriodic,
  };
  struct Target;  // the route's site, queue, entry resolved

  void AddRoutes();
  // The answer from what the master holds; false: not such a route.
  bool Local(int route, const HttpRequest& request, const Config& config,
             HttpResponse* response);
  void Summary(const ApiCall& call, const Config& config);
  void Daemons(const ApiCall& call);
  void Deferred(int route, const HttpRequest& request, const Config& config,
                const Target& target, const ApiCall& call);

  Sources sources_;
  ApiRouter router_;
  ApiDaemons daemons_;
};

}  // namespace qd
