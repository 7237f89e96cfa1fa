// The master's monitoring views of a MonitorSnapshot (docs/architecture.md,
// "Monitoring"): the /status JSON and the /healthz verdict that HttpMonitor
// serves (the /metrics text: core/monitor/prometheus_render.h).
//
// Pure functions on plain data: no I/O and no clock (every age is taken
// against snapshot.now_ms), so they are tested without processes and are
// safe to call from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/monitor/monitor_snapshot.h"

namespace qd {

// The /status document ("none" values are null: pid 0, time 0, depth -1,
// no job, no Redis error; times are epoch ms, ages whole seconds):
//   {pid, host, id, version, started, uptime_s, config_file, threads, rss,
//    shutting_down, health: {ok, reason}, redis: {ok, error},
//    workers: [{slot, pid, state, rss, started, age_s, jobs, failed,
//               restarts, job: {name, age_ms} | null}],
//    sites: [{name, redis, delayed, sampled,
//             queues: [{name, ready, pending, dead, error}],
//             unserved: {checked, streams: [{stream, length}], more} | null}],
//    listeners: [{name, connections, workers, busy, idle, waiting, accepted,
//                 refused, requests, forks, reclaimed, busy_replies,
//                 error_replies, too_long, idle_closed, output_paused,
//                 output_closed, login_failed, login_delayed,
//                 login_throttled, login_timeouts, accept_shortages}],
//    counters: {"jobs.handled": n, ...}}
// Strings are copied as they are: dump with error_handler_t::replace in
// case one is not UTF-8.
nlohmann::json RenderStatus(const MonitorSnapshot& snapshot);

struct Health {
  bool ok = false;
  std::string reason;  // one line, empty when ok
};

// Healthy when the master's Redis answers and every slot 0..threads-1 has
// a live process (pid > 0, whatever its state). Otherwise the reason names
// every problem, "; "-separated: "slot 1: no worker (backoff); redis:
// Connection refused". While shutting down: not ok, "shutting down".
Health CheckHealth(const MonitorSnapshot& snapshot);

}  // namespace qd
