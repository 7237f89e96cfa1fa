#include "core/monitor/api_views.h"

#include <algorithm>

namespace qd {
namespace {

using nlohmann::json;

// -1 ("not known") as null.
json Known(int64_t v) { return v < 0 ? json(nullptr) : json(v); }

// How long the oldest ready job had waited when the site was sampled; null
// when none is ready or it is not known.
json OldestReadyAge(const SiteSnapshot& site, const QueueSnapshot& q) {
  if (q.oldest_ready_ms <= 0 || q.ready <= 0 || site.sampled_ms <= 0) {
    return nullptr;
  }
  return std::max<int64_t>(0, site.sampled_ms - q.oldest_ready_ms);
}

// Adds `v` to `*sum` when both are known.
void AddKnown(int64_t v, int64_t* sum) {
  if (v < 0) return;
  *sum = std::max<int64_t>(*sum, 0) + v;
}

json Limits(const SiteSnapshot& site) {
  json limits = json::array();
  for (const LimitUsage& l : site.limits) {
    limits.push_back({{"name", l.name},
                      {"concurrency", l.concurrency},
                      {"rate", l.rate},
                      {"window_ms", l.window_ms},
                      {"running", l.running},
                      {"pending", l.pending},
                      {"started", l.started},
                      {"waiting", l.waiting},
                      {"keys", l.keys}});
  }
  return limits;
}

}  // namespace

int64_t ApiViews::Processed(const MonitorSnapshot& s) {
  auto handled = s.counters.find("jobs.handled");
  return (handled == s.counters.end() ? 0 : handled->second) + Failed(s);
}

int64_t ApiViews::Failed(const MonitorSnapshot& s) {
  auto failed = s.counters.find("jobs.failed");
  return failed == s.counters.end() ? 0 : failed->second;
}

int64_t ApiViews::ReadyTotal(const MonitorSnapshot& s) {
  int64_t ready = -1;
  for (const auto& site : s.sites) {
    for (const auto& q : site.queues) AddKnown(q.ready, &ready);
  }
  return ready;
}

json ApiViews::Overview(const MonitorSnapshot& s,
                        const OverviewSeries* series) {
  int64_t pending = -1, dead = -1, delayed = -1;
  for (const auto& site : s.sites) {
    AddKnown(site.delayed, &delayed);
    for (const auto& q : site.queues) {
      AddKnown(q.pending, &pending);
      AddKnown(q.dead, &dead);
    }
  }
  json points = json::array();
  if (series != nullptr) {
    for (const auto& p : series->Points()) {
      points.push_back(
          {p.t_ms, p.processed_per_s, p.failed_per_s, Known(p.ready)});
    }
  }
  return {{"daemon",
           {{"id", s.id},
            {"host", s.host},
            {"pid", s.pid},
            {"version", s.version},
            {"uptime_ms", s.now_ms - s.started_ms}}},
          {"totals",
           {{"processed", Processed(s)},
            {"failed", Failed(s)},
            {"ready", Known(ReadyTotal(s))},
            {"pending", Known(pending)},
            {"delayed", Known(delayed)},
            {"dead", Known(dead)}}},
          {"series", {{"interval_ms", 1000}, {"points", points}}}};
}

json ApiViews::Worker(const WorkerSnapshot& w, int64_t now_ms) {
  json job = nullptr;
  // The board's "SITE/QUEUE ID": a site name holds no '/', an id no ' '.
  size_t slash = w.job.find('/');
  size_t space = w.job.rfind(' ');
  if (!w.job.empty() && slash != std::string::npos &&
      space != std::string::npos && space > slash) {
    std::string id = w.job.substr(space + 1);
    job = {{"site", w.job.substr(0, slash)},
           {"queue", w.job.substr(slash + 1, space - slash - 1)},
           {"id", id},
           {"jid", id},
           {"running_ms", w.job_started_ms > 0 ? json(now_ms - w.job_started_ms)
                                               : json(nullptr)}};
  }
  return {{"slot", w.slot},         {"pid", w.pid},   {"state", w.state},
          {"rss_bytes", w.rss},     {"jobs", w.jobs}, {"failed", w.failed},
          {"restarts", w.restarts}, {"job", job}};
}

json ApiViews::Workers(const MonitorSnapshot& s) {
  json workers = json::array();
  for (const auto& w : s.workers) workers.push_back(Worker(w, s.now_ms));
  return {{"workers", workers}};
}

json ApiViews::Sites(const MonitorSnapshot& s, const Config& config,
                     const std::vector<std::string>& paused) {
  json sites = json::array();
  for (const auto& site : s.sites) {
    auto sc = config.sites.find(site.name);
    if (sc == config.sites.end()) continue;  // left at a reload
    json queues = json::array();
    for (const auto& q : site.queues) {
      auto qc = sc->second.queues.find(q.name);
      json limit = nullptr;
      std::string handler;
      if (qc != sc->second.queues.end()) {
        handler = qc->second.handler;
        if (!qc->second.limit.empty()) limit = qc->second.limit;
      }
      queues.push_back(
          {{"name", q.name},
           {"handler", handler},
           {"ready", Known(q.ready)},
           {"pending", Known(q.pending)},
           {"delayed", nullptr},
           {"dead", Known(q.dead)},
           {"oldest_ready_age_ms", OldestReadyAge(site, q)},
           {"limit", limit},
           {"error", q.error.empty() ? json(nullptr) : json(q.error)}});
    }
    bool off =
        std::find(paused.begin(), paused.end(), site.name) != paused.end();
    sites.push_back({{"name", site.name},
                     {"paused", off},
                     {"weight", sc->second.weight},
                     {"delayed", Known(site.delayed)},
                     {"sampled_ms", site.sampled_ms},
                     {"queues", queues},
                     {"limits", Limits(site)}});
  }
  return {{"sites", sites}};
}

json ApiViews::Periodic(const MonitorSnapshot& s) {
  json list = json::array();
  for (const auto& p : s.periodic) {
    list.push_back(
        {{"site", p.site},
         {"name", p.name},
         {"cron", p.cron},
         {"timezone", p.timezone},
         {"queue", p.queue},
         {"next", p.next_ms > 0 ? json(p.next_ms) : json(nullptr)},
         {"last_tick",
          p.last_tick_ms > 0 ? json(p.last_tick_ms) : json(nullptr)},
         {"enqueued", p.enqueued},
         {"failures", p.failures},
         {"skipped", p.skipped},
         {"error", p.last_error.empty() ? json(nullptr) : json(p.last_error)}});
  }
  return {{"periodic", list}};
}

json ApiViews::Listeners(const MonitorSnapshot& s, const Config& config) {
  json list = json::array();
  for (const ListenerStats& l : s.listeners) {
    auto lc = config.listeners.find(l.name);
    list.push_back(
        {{"name", l.name},
         {"address", lc != config.listeners.end() ? json(lc->second.listen)
                                                  : json(nullptr)},
         {"connections", l.connections},
         {"fence",
          {{"max", lc != config.listeners.end()
                       ? json(lc->second.max_concurrent)
                       : json(nullptr)},
           {"workers", l.workers},
           {"busy", l.busy},
           {"idle", l.idle},
           {"waiting", l.waiting},
           {"forks", l.forks},
           {"reclaimed", l.reclaimed},
           {"busy_replies", l.busy_replies}}},
         {"accepted", l.accepted},
         {"refused", l.refused},
         {"requests", l.requests},
         {"error_replies", l.error_replies}});
  }
  return {{"listeners", list}};
}

}  // namespace qd
