// MasterMonitor: the master's side of monitoring (docs/architecture.md,
// "Monitoring").
//
// Every second, on the master's loop, without blocking it:
//   - PINGs the daemon's Redis (for /healthz; a PING unanswered for
//     kPingDeadline counts as Redis down);
//   - samples every site's queue depths (QueueDepth, one pipelined round
//     per site, on a connection per Redis server) and what its limits hold
//     (LimitUsage);
//   - looks for streams that no configured queue serves (UnservedWatch:
//     at start and each reload, logged, then every minute);
//   - adds a point to the /api/v1/overview series (OverviewSeries);
//   - writes the daemon hash qd:{qd}:daemon:HOST:ID (pid, host, id, started_ms,
//     updated_ms, threads, workers, ready, sites, rss, version, slots) and each
//     listener's hash qd:{qd}:listener:HOST:ID:NAME, both expiring after 10 s,
//     for queuectl (check, ps) and scripts.
// Every monitor.interval it sends the master's statsd lines: gauges
// queue.ready/pending/dead {site, queue}, queue.delayed {site},
// master.rss; counters workers.respawned, workers.recycled,
// workers.crashed; and the master's events (init, shutdown).
// With monitor.http it serves /metrics, /healthz and /status (HttpMonitor)
// from Snapshot(), and the HTTP API /api/v1 (core/monitor/api.h).
// Single-threaded: the master's loop only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/monitor/monitor_snapshot.h"
#include "core/monitor/overview_series.h"
#include "core/redis/redis_client.h"
#include "core/stats/statsd_sink.h"
#include "core/supervisor/unserved_watch.h"

struct event;
struct event_base;

namespace qd {

class HttpMonitor;
class ListenerSet;
class PeriodicRunner;
class WorkerPool;

class MasterMonitor {
 public:
  struct Sources {
    const WorkerPool* pool = nullptr;
    const ListenerSet* listeners = nullptr;
    std::function<bool()> shutting_down;
    const PeriodicRunner* periodic = nullptr;  // null: none
    // The sites whose fetching is stopped (queuectl drain), for /api/v1.
    std::function<std::vector<std::string>()> paused;
  };

  // `redis` is the master's connection to the daemon's Redis (started here).
  MasterMonitor(event_base* base, RedisClient* redis, Sources sources);
  ~MasterMonitor();

  // Opens the HTTP endpoint (an error is fatal at start-up: the operator
  // asked for it; `http_fd` >= 0 is its socket, bound already by
  // HttpMonitor::Bind) and the statsd socket, and starts the timers.
  Status Start(const Config& config, int threads, int http_fd = -1);
  // A reloaded config: sites and statsd settings follow; a changed
  // monitor.http is reopened (kept on the old address when that fails).
  void Apply(const Config& config, int threads);
  // A state change of the daemon as a statsd event ("shutdown").
  void Event(const std::string& state);

  MonitorSnapshot Snapshot() const;
  // At a clean exit, after the loop: deletes this daemon's hashes at once
  // (one blocking round trip, 1 s at most) so that queuectl does not list
  // a daemon that is gone.
  void Forget();
  // What this daemon answers to `queuectl ps`; `paused`: the sites that
  // are not fetching now.
  nlohmann::json Ps(const std::vector<std::string>& paused) const;
  // The daemon in one line, for systemd's STATUS= (core/supervisor/
  // status_line.h).
  std::string StatusLine() const;
  // The last PING to the daemon's Redis was answered (within kPingDeadline).
  bool redis_ok() const { return redis_ok_; }
  int http_port() const;
  // The master's client of the site's Redis: the daemon's own connection,
  // or one per other server, made on first use and kept (null only for an
  // endpoint that does not resolve). Also the periodic runner's.
  RedisClient* ClientFor(const SiteConfig& site);

 private:
  static void OnTick(int fd, short what, void* arg);
  static void OnFlush(int fd, short what, void* arg);
  void Tick();
  void Ping();
  void SampleSites();
  void SampleLimits(const SiteConfig& site, RedisClient* redis,
                    std::shared_ptr<SiteSnapshot> sample,
                    std::shared_ptr<int> left,
                    const std::function<void(bool)>& done);
  void PublishHashes(const MonitorSnapshot& s);
  void FlushStatsd();
  Status OpenStatsd();
  Status OpenHttp(const std::string& address, int fd = -1);

  event_base* base_;
  RedisClient* redis_;
  Sources sources_;
  const Config* config_ = nullptr;  // REQUIRES: the Supervisor's, current
  int threads_ = 0;
  std::string host_;
  int64_t started_ms_ = 0;
  std::unique_ptr<StatsdSink> statsd_;
  std::unique_ptr<HttpMonitor> http_;
  std::string http_address_;
  // Site Redis servers other than the daemon's, by RedisUrl::Key() and
  // password.
  std::map<std::string, std::unique_ptr<RedisClient>> site_clients_;
  std::map<std::string, SiteSnapshot> sites_;  // last samples, by name
  std::map<std::string, bool> sampling_;       // a round is in flight
  UnservedWatch unserved_;
  bool redis_ok_ = false;
  std::string redis_error_ = "not connected yet";
  std::chrono::steady_clock::time_point ping_sent_;
  bool ping_in_flight_ = false;
  int64_t sent_respawned_ = 0;
  int64_t sent_recycled_ = 0;
  int64_t sent_crashed_ = 0;
  OverviewSeries series_;
  double jobs_per_s_ = 0;
  int64_t last_jobs_ = -1;
  int64_t last_jobs_ms_ = 0;
  event* tick_timer_ = nullptr;
  event* flush_timer_ = nullptr;
};

}  // namespace qd
