#include "core/monitor/prometheus_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/monitor/monitor_render.h"
#include "core/util/text_quote.h"

namespace qd {
namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// The states a slot can be in (WorkerSlot::StateName); each gets a
// workers{state} sample even at 0, so a state's series does not come and go.
constexpr const char* kSlotStates[] = {"starting", "ready",  "stopping",
                                       "backoff",  "parked", "empty"};

// Writes the exposition text: one family (HELP, TYPE) then its samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type,
              std::string_view help) {
    name_ = fmt::format("queuedaemon_{}", name);
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n",
                   name_, help, name_, type);
  }
  // REQUIRES: Family() was called. `value` is already formatted.
  void Sample(const Labels& labels, std::string_view value) {
    text_ += name_;
    if (!labels.empty()) {
      text_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) text_ += ',';
        fmt::format_to(std::back_inserter(text_), "{}=\"{}\"", labels[i].first,
                       Escape(labels[i].second));
      }
      text_ += '}';
    }
    fmt::format_to(std::back_inserter(text_), " {}\n", value);
  }
  void Sample(const Labels& labels, int64_t value) {
    Sample(labels, std::to_string(value));
  }
  // A family with one unlabelled sample.
  void Single(std::string_view name, std::string_view type,
              std::string_view help, int64_t value) {
    Family(name, type, help);
    Sample({}, value);
  }
  std::string Take() { return std::move(text_); }

 private:
  // Label values escape backslash, double quote and newline.
  static std::string Escape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    return out;
  }

  std::string name_;
  std::string text_;
};

// Longer stream keys are cut in labels.
constexpr size_t kMaxKeyLabel = 1024;

// Epoch milliseconds as Prometheus seconds ("1700000000.250").
std::string Seconds(int64_t ms) {
  return fmt::format("{}.{:03}", ms / 1000, ms % 1000);
}

int64_t Counter(const MonitorSnapshot& s, const std::string& key) {
  auto it = s.counters.find(key);
  return it == s.counters.end() ? 0 : it->second;
}

void RenderProcess(const MonitorSnapshot& s, Exposition* out) {
  out->Family("build_info", "gauge", "Version of the running daemon.");
  out->Sample({{"version", s.version}}, 1);
  out->Family("start_time_seconds", "gauge",
              "Start of the master process, seconds since the epoch.");
  out->Sample({}, Seconds(s.started_ms));
  out->Single("up", "gauge", "1 while the daemon serves, 0 once shutting down.",
              s.shutting_down ? 0 : 1);
  out->Single("redis_up", "gauge",
              "1 when the master's last Redis PING was answered.",
              s.redis_ok ? 1 : 0);
  out->Single("healthy", "gauge", "1 when /healthz answers 200.",
              CheckHealth(s).ok ? 1 : 0);
  out->Single("master_rss_bytes", "gauge", "Resident memory of the master.",
              static_cast<int64_t>(s.master_rss));
  out->Single("workers_configured", "gauge",
              "Worker slots the pool should have (threads).", s.threads);
}

void RenderCounters(const MonitorSnapshot& s, Exposition* out) {
  struct Row {
    const char* name;
    const char* key;
    const char* help;
  };
  static const Row kRows[] = {
      {"jobs_handled_total", "jobs.handled", "Jobs that succeeded."},
      {"jobs_failed_total", "jobs.failed",
       "Jobs retried or dead-lettered after a failure."},
      {"workers_respawned_total", "workers.respawned",
       "Worker processes started again after one ended."},
      {"workers_recycled_total", "workers.recycled",
       "Workers replaced on purpose (job or memory limits)."},
      {"workers_crashed_total", "workers.crashed",
       "Workers that ended without being asked to."},
  };
  for (const Row& row : kRows) {
    out->Single(row.name, "counter", row.help, Counter(s, row.key));
  }
}

void RenderWorkers(const MonitorSnapshot& s, Exposition* out) {
  std::set<std::string> states(std::begin(kSlotStates), std::end(kSlotStates));
  for (const WorkerSnapshot& w : s.workers) {
    if (!w.state.empty()) states.insert(w.state);
  }
  out->Family("workers", "gauge", "Worker slots in each state.");
  for (const std::string& state : states) {
    int64_t n = std::count_if(
        s.workers.begin(), s.workers.end(),
        [&](const WorkerSnapshot& w) { return w.state == state; });
    out->Sample({{"state", state}}, n);
  }

  struct Row {
    const char* name;
    const char* type;
    const char* help;
    int64_t (*get)(const WorkerSnapshot&);
  };
  static const Row kRows[] = {
      {"worker_rss_bytes", "gauge", "Resident memory of the slot's process.",
       [](const WorkerSnapshot& w) { return static_cast<int64_t>(w.rss); }},
      {"worker_jobs_total", "counter",
       "Jobs finished by the slot's current process.",
       [](const WorkerSnapshot& w) { return w.jobs; }},
      {"worker_failed_total", "counter",
       "Jobs of the slot's current process that failed.",
       [](const WorkerSnapshot& w) { return w.failed; }},
      {"worker_restarts_total", "counter",
       "Processes started in the slot after its first.",
       [](const WorkerSnapshot& w) { return w.restarts; }},
  };
  for (const Row& row : kRows) {
    out->Family(row.name, row.type, row.help);
    for (const WorkerSnapshot& w : s.workers) {
      out->Sample({{"slot", std::to_string(w.slot)}}, row.get(w));
    }
  }
  out->Family("worker_start_time_seconds", "gauge",
              "Start of the slot's current process, seconds since the epoch.");
  for (const WorkerSnapshot& w : s.workers) {
    if (w.pid <= 0 || w.started_ms <= 0) continue;
    out->Sample({{"slot", std::to_string(w.slot)}}, Seconds(w.started_ms));
  }
}

void RenderQueues(const MonitorSnapshot& s, Exposition* out) {
  struct Row {
    const char* name;
    const char* help;
    int64_t QueueSnapshot::*value;
  };
  static const Row kRows[] = {
      {"queue_ready", "Entries not yet delivered to any worker.",
       &QueueSnapshot::ready},
      {"queue_pending", "Entries delivered and not acknowledged.",
       &QueueSnapshot::pending},
      {"queue_dead", "Dead-lettered entries.", &QueueSnapshot::dead},
  };
  for (const Row& row : kRows) {
    out->Family(row.name, "gauge", row.help);
    for (const SiteSnapshot& site : s.sites) {
      for (const QueueSnapshot& q : site.queues) {
        if (q.*row.value < 0) continue;
        out->Sample({{"site", site.name}, {"queue", q.name}}, q.*row.value);
      }
    }
  }
  out->Family("queue_key_error", "gauge",
              "1 when a key of the queue holds another Redis type (the "
              "queue is set aside until it is fixed).");
  for (const SiteSnapshot& site : s.sites) {
    for (const QueueSnapshot& q : site.queues) {
      if (q.error.empty() && q.ready < 0) continue;  // not sampled
      out->Sample({{"site", site.name}, {"queue", q.name}},
                  static_cast<int64_t>(!q.error.empty()));
    }
  }
  out->Family("site_delayed", "gauge",
              "Jobs in the site's delayed set (retries, later jobs).");
  for (const SiteSnapshot& site : s.sites) {
    if (site.delayed >= 0) out->Sample({{"site", site.name}}, site.delayed);
  }
  out->Family(
      "site_sampled_time_seconds", "gauge",
      "Last good sample of the site's depths, seconds since the epoch.");
  for (const SiteSnapshot& site : s.sites) {
    if (site.sampled_ms > 0) {
      out->Sample({{"site", site.name}}, Seconds(site.sampled_ms));
    }
  }
}

// A stream key from Redis as a label value: any byte may be in it, and the
// exposition format wants UTF-8 without control characters, so bytes
// outside printable ASCII are written \xNN (Quote).
std::string KeyLabel(const std::string& key) {
  return Quote(key, kMaxKeyLabel, /*ascii_only=*/true);
}

void RenderUnserved(const MonitorSnapshot& s, Exposition* out) {
  out->Family("unserved_streams", "gauge",
              "Streams under the site's queue keys that no configured queue "
              "serves (counted up to a bound).");
  for (const SiteSnapshot& site : s.sites) {
    if (site.unserved_checked_ms <= 0) continue;  // not looked yet
    out->Sample({{"site", site.name}},
                static_cast<int64_t>(site.unserved.size()));
  }
  out->Family("unserved_stream_length", "gauge",
              "Entries of a stream under the site's queue keys that no "
              "configured queue serves.");
  for (const SiteSnapshot& site : s.sites) {
    std::set<std::string> seen;  // two keys cut to one label: shown once
    for (const UnservedSnapshot& u : site.unserved) {
      std::string label = KeyLabel(u.key);
      if (!seen.insert(label).second) continue;
      out->Sample({{"site", site.name}, {"stream", label}}, u.length);
    }
  }
}

void RenderPeriodic(const MonitorSnapshot& s, Exposition* out) {
  out->Single("periodic_entries", "gauge",
              "Periodic entries this daemon runs (all sites).",
              static_cast<int64_t>(s.periodic.size()));
  out->Family("periodic_enqueued_total", "counter",
              "Periodic jobs this daemon enqueued (a tick another daemon "
              "enqueued first is not counted).");
  for (const PeriodicSnapshot& p : s.periodic) {
    out->Sample({{"site", p.site}, {"entry", p.name}}, p.enqueued);
  }
  out->Family("periodic_last_tick_seconds", "gauge",
              "The last tick of the entry known enqueued, by any daemon, "
              "seconds since the epoch.");
  for (const PeriodicSnapshot& p : s.periodic) {
    if (p.last_tick_ms > 0) {
      out->Sample({{"site", p.site}, {"entry", p.name}},
                  Seconds(p.last_tick_ms));
    }
  }
  out->Family("periodic_failures_total", "counter",
              "Calls to enqueue a tick that failed (Redis down, a key of "
              "another type); each is tried again.");
  for (const PeriodicSnapshot& p : s.periodic) {
    out->Sample({{"site", p.site}, {"entry", p.name}}, p.failures);
  }
  out->Family("periodic_skipped_total", "counter",
              "Times ticks not enqueued within 10 s of their time were "
              "dropped (missed: skip).");
  for (const PeriodicSnapshot& p : s.periodic) {
    out->Sample({{"site", p.site}, {"entry", p.name}}, p.skipped);
  }
}

// What each limit holds (docs/limits.md), and its bounds (0 = none).
void RenderLimits(const MonitorSnapshot& s, Exposition* out) {
  struct Row {
    const char* name;
    const char* help;
    int64_t (*get)(const LimitUsage&);
  };
  using U = const LimitUsage&;
  static const Row kRows[] = {
      {"limit_running",
       "Concurrency slots held: running jobs, slots kept for a worker's next "
       "jobs, slots reserved for waiters moved back.",
       [](U u) { return u.running; }},
      {"limit_pending", "Rate grants whose job has not started yet.",
       [](U u) { return u.pending; }},
      {"limit_started", "Starts within the rate's current window.",
       [](U u) { return u.started; }},
      {"limit_waiting", "Jobs waiting for the limit's budget.",
       [](U u) { return u.waiting; }},
      {"limit_keys", "limit_key values used within a day (up to 1000).",
       [](U u) { return u.keys; }},
      {"limit_concurrency", "The limit's concurrency (0: none).",
       [](U u) { return static_cast<int64_t>(u.concurrency); }},
      {"limit_rate", "The limit's starts per window (0: none).",
       [](U u) { return static_cast<int64_t>(u.rate); }},
  };
  for (const Row& row : kRows) {
    out->Family(row.name, "gauge", row.help);
    for (const SiteSnapshot& site : s.sites) {
      for (const LimitUsage& u : site.limits) {
        out->Sample({{"site", site.name}, {"limit", u.name}}, row.get(u));
      }
    }
  }
}

void RenderListeners(const MonitorSnapshot& s, Exposition* out) {
  struct Row {
    const char* name;
    const char* type;
    const char* help;
    int64_t (*get)(const ListenerStats&);
  };
  using L = const ListenerStats&;
  static const Row kRows[] = {
      {"listener_connections", "gauge", "Open client connections.",
       [](L l) -> int64_t { return l.connections; }},
      {"listener_workers", "gauge", "Request workers alive (the fence counts).",
       [](L l) -> int64_t { return l.workers; }},
      {"listener_busy_workers", "gauge", "Request workers running a request.",
       [](L l) -> int64_t { return l.busy; }},
      {"listener_idle_workers", "gauge", "Kept-alive workers waiting.",
       [](L l) -> int64_t { return l.idle; }},
      {"listener_waiting", "gauge", "Connections waiting at the fork fence.",
       [](L l) -> int64_t { return l.waiting; }},
      {"listener_accepted_total", "counter", "Connections accepted.",
       [](L l) -> int64_t { return l.accepted; }},
      {"listener_refused_total", "counter",
       "Connections refused over max_connections.",
       [](L l) -> int64_t { return l.refused; }},
      {"listener_requests_total", "counter", "Requests received.",
       [](L l) -> int64_t { return l.requests; }},
      {"listener_forks_total", "counter", "Request workers forked.",
       [](L l) -> int64_t { return l.forks; }},
      {"listener_reclaimed_total", "counter",
       "Idle workers closed to make room at the fence.",
       [](L l) -> int64_t { return l.reclaimed; }},
      {"listener_busy_replies_total", "counter",
       "Busy replies sent after fence_timeout.",
       [](L l) -> int64_t { return l.busy_replies; }},
      {"listener_error_replies_total", "counter",
       "Error replies sent after a worker died during a request.",
       [](L l) -> int64_t { return l.error_replies; }},
      {"listener_too_long_total", "counter", "Frames over max_frame.",
       [](L l) -> int64_t { return l.too_long; }},
      {"listener_idle_closed_total", "counter",
       "Connections closed after idle_timeout.",
       [](L l) -> int64_t { return l.idle_closed; }},
      {"listener_output_paused_total", "counter",
       "Times a connection's requests stopped: unread replies over "
       "max_output.",
       [](L l) -> int64_t { return l.output_paused; }},
      {"listener_output_closed_total", "counter",
       "Connections closed over max_output_hard or after output_timeout.",
       [](L l) -> int64_t { return l.output_closed; }},
      {"listener_login_failed_total", "counter", "Logins refused.",
       [](L l) -> int64_t { return l.login_failed; }},
      {"listener_login_delayed_total", "counter",
       "Connections held for login_delay after a failed login from their "
       "address.",
       [](L l) -> int64_t { return l.login_delayed; }},
      {"listener_login_throttled_total", "counter",
       "Connections refused: their address's next login turn was too far "
       "away.",
       [](L l) -> int64_t { return l.login_throttled; }},
      {"listener_login_timeouts_total", "counter",
       "Connections closed: not logged in within login_timeout.",
       [](L l) -> int64_t { return l.login_timeouts; }},
      {"listener_accept_shortages_total", "counter",
       "Accepts that failed for want of descriptors or memory (accepting "
       "then pauses).",
       [](L l) -> int64_t { return l.accept_shortages; }},
  };
  for (const Row& row : kRows) {
    out->Family(row.name, row.type, row.help);
    for (const ListenerStats& l : s.listeners) {
      out->Sample({{"listener", l.name}}, row.get(l));
    }
  }
}

}  // namespace

std::string RenderPrometheus(const MonitorSnapshot& snapshot) {
  Exposition out;
  RenderProcess(snapshot, &out);
  RenderCounters(snapshot, &out);
  RenderWorkers(snapshot, &out);
  RenderQueues(snapshot, &out);
  RenderUnserved(snapshot, &out);
  RenderPeriodic(snapshot, &out);
  RenderLimits(snapshot, &out);
  RenderListeners(snapshot, &out);
  return out.Take();
}

}  // namespace qd
