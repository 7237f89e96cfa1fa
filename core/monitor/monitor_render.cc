#include "core/monitor/monitor_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace qd {
namespace {

// Epoch ms as JSON: null for 0 (none).
nlohmann::json TimeOrNull(int64_t ms) {
  return ms > 0 ? nlohmann::json(ms) : nlohmann::json();
}

// Depths as JSON: null for -1 (not known).
nlohmann::json DepthOrNull(int64_t n) {
  return n >= 0 ? nlohmann::json(n) : nlohmann::json();
}

// Whole seconds from `from_ms` to `now_ms`, never negative.
int64_t AgeSeconds(int64_t from_ms, int64_t now_ms) {
  return std::max<int64_t>(0, now_ms - from_ms) / 1000;
}

nlohmann::json WorkerJson(const WorkerSnapshot& w, int64_t now_ms) {
  bool alive = w.pid > 0;
  nlohmann::json job;  // null: none running
  if (!w.job.empty()) {
    job = {{"name", w.job},
           {"age_ms", w.job_started_ms > 0 ? nlohmann::json(std::max<int64_t>(
                                                 0, now_ms - w.job_started_ms))
                                           : nlohmann::json()}};
  }
  return {{"slot", w.slot},
          {"pid", alive ? nlohmann::json(w.pid) : nlohmann::json()},
          {"state", w.state},
          {"rss", w.rss},
          {"started", TimeOrNull(alive ? w.started_ms : 0)},
          {"age_s", alive && w.started_ms > 0
                        ? nlohmann::json(AgeSeconds(w.started_ms, now_ms))
                        : nlohmann::json()},
          {"jobs", w.jobs},
          {"failed", w.failed},
          {"restarts", w.restarts},
          {"job", job}};
}

nlohmann::json SiteJson(const SiteSnapshot& site) {
  nlohmann::json queues = nlohmann::json::array();
  for (const QueueSnapshot& q : site.queues) {
    queues.push_back({{"name", q.name},
                      {"ready", DepthOrNull(q.ready)},
                      {"pending", DepthOrNull(q.pending)},
                      {"dead", DepthOrNull(q.dead)},
                      {"error", q.error.empty() ? nlohmann::json()
                                                : nlohmann::json(q.error)}});
  }
  nlohmann::json unserved;  // null: not looked yet
  if (site.unserved_checked_ms > 0) {
    nlohmann::json streams = nlohmann::json::array();
    for (const UnservedSnapshot& u : site.unserved) {
      streams.push_back({{"stream", u.key}, {"length", u.length}});
    }
    unserved = {{"checked", site.unserved_checked_ms},
                {"streams", streams},
                {"more", site.unserved_more}};
  }
  nlohmann::json limits = nlohmann::json::array();
  for (const LimitUsage& u : site.limits) {
    limits.push_back({{"name", u.name},
                      {"concurrency", u.concurrency},
                      {"rate", u.rate},
                      {"window_ms", u.window_ms},
                      {"running", u.running},
                      {"pending", u.pending},
                      {"started", u.started},
                      {"waiting", u.waiting},
                      {"keys", u.keys}});
  }
  return {{"name", site.name},
          {"redis", site.redis},
          {"delayed", DepthOrNull(site.delayed)},
          {"sampled", TimeOrNull(site.sampled_ms)},
          {"queues", queues},
          {"unserved", unserved},
          {"limits", limits}};
}

nlohmann::json ListenerJson(const ListenerStats& l) {
  return {{"name", l.name},
          {"connections", l.connections},
          {"workers", l.workers},
          {"busy", l.busy},
          {"idle", l.idle},
          {"waiting", l.waiting},
          {"accepted", l.accepted},
          {"refused", l.refused},
          {"requests", l.requests},
          {"forks", l.forks},
          {"reclaimed", l.reclaimed},
          {"busy_replies", l.busy_replies},
          {"error_replies", l.error_replies},
          {"too_long", l.too_long},
          {"idle_closed", l.idle_closed},
          {"output_paused", l.output_paused},
          {"output_closed", l.output_closed},
          {"login_failed", l.login_failed},
          {"login_delayed", l.login_delayed},
          {"login_throttled", l.login_throttled},
          {"login_timeouts", l.login_timeouts},
          {"accept_shortages", l.accept_shortages}};
}

nlohmann::json PeriodicJson(const PeriodicSnapshot& p) {
  return {{"site", p.site},
          {"name", p.name},
          {"cron", p.cron},
          {"timezone", p.timezone},
          {"queue", p.queue},
          {"next", TimeOrNull(p.next_ms)},
          {"last_tick", TimeOrNull(p.last_tick_ms)},
          {"enqueued", p.enqueued},
          {"failures", p.failures},
          {"skipped", p.skipped},
          {"error", p.last_error.empty() ? nlohmann::json()
                                         : nlohmann::json(p.last_error)}};
}

}  // namespace

nlohmann::json RenderStatus(const MonitorSnapshot& s) {
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerSnapshot& w : s.workers) {
    workers.push_back(WorkerJson(w, s.now_ms));
  }
  nlohmann::json sites = nlohmann::json::array();
  for (const SiteSnapshot& site : s.sites) sites.push_back(SiteJson(site));
  nlohmann::json listeners = nlohmann::json::array();
  for (const ListenerStats& l : s.listeners) {
    listeners.push_back(ListenerJson(l));
  }
  nlohmann::json periodic = nlohmann::json::array();
  for (const PeriodicSnapshot& p : s.periodic) {
    periodic.push_back(PeriodicJson(p));
  }
  Health health = CheckHealth(s);
  return {
      {"pid", s.pid},
      {"host", s.host},
      {"id", s.id},
      {"version", s.version},
      {"started", TimeOrNull(s.started_ms)},
      {"uptime_s", s.started_ms > 0 ? AgeSeconds(s.started_ms, s.now_ms) : 0},
      {"config_file", s.config_file},
      {"threads", s.threads},
      {"rss", s.master_rss},
      {"shutting_down", s.shutting_down},
      {"health",
       {{"ok", health.ok},
        {"reason",
         health.ok ? nlohmann::json() : nlohmann::json(health.reason)}}},
      {"redis",
       {{"ok", s.redis_ok},
        {"error",
         s.redis_ok ? nlohmann::json() : nlohmann::json(s.redis_error)}}},
      {"workers", workers},
      {"sites", sites},
      {"listeners", listeners},
      {"periodic", periodic},
      {"counters", s.counters},
  };
}

Health CheckHealth(const MonitorSnapshot& s) {
  if (s.shutting_down) return {false, "shutting down"};
  std::vector<std::string> problems;
  for (int slot = 0; slot < s.threads; ++slot) {
    auto it =
        std::find_if(s.workers.begin(), s.workers.end(),
                     [&](const WorkerSnapshot& w) { return w.slot == slot; });
    if (it == s.workers.end() || (it->pid <= 0 && it->state.empty())) {
      problems.push_back(fmt::format("slot {}: no worker", slot));
    } else if (it->pid <= 0) {
      problems.push_back(
          fmt::format("slot {}: no worker ({})", slot, it->state));
    }
  }
  if (!s.redis_ok) {
    std::string error = s.redis_error.empty() ? "no answer" : s.redis_error;
    std::replace(error.begin(), error.end(), '\n', ' ');
    problems.push_back("redis: " + error);
  }
  for (const SiteSnapshot& site : s.sites) {
    for (const QueueSnapshot& q : site.queues) {
      if (q.error.empty()) continue;
      problems.push_back(
          fmt::format("site {} queue {}: {}", site.name, q.name, q.error));
    }
  }
  Health health{problems.empty(), ""};
  for (const std::string& problem : problems) {
    if (!health.reason.empty()) health.reason += "; ";
    health.reason += problem;
  }
  return health;
}

}  // namespace qd