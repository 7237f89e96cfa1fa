#include "core/queue/periodic_runner.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "core/queue/periodic_script.h"
#include "core/queue/queue_keys.h"
#include "core/schedule/cron_ticks.h"
#include "core/util/units.h"

namespace qd {
namespace {

int64_t Ms(date::sys_seconds t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}

int64_t Ms(PeriodicRunner::Time t) { return t.time_since_epoch().count(); }

}  // namespace

// One entry of one site: its settings (a copy, so a reload never leaves a
// call under way with a dangling reference), its plan and its counters.
struct PeriodicRunner::Entry {
  Entry(std::string site, const PeriodicConfig& config)
      : site(std::move(site)),
        config(config),
        plan(config.cron, config.zone,
             config.missed == PeriodicConfig::Missed::kRunOnce) {}

  std::string Describe() const {
    return "site " + site + ": periodic " + config.name;
  }
  // The subject of its rate-limited log lines.
  std::string Subject() const { return site + "/" + config.name; }

  std::string site;
  PeriodicConfig config;
  PeriodicPlan plan;
  bool removed = false;  // gone from the config: answers are ignored
  int64_t last_tick_ms = 0;
  int64_t enqueued = 0;
  int64_t failures = 0;
  std::string last_error;
};

PeriodicRunner::PeriodicRunner(event_base* base, ClientFor client_for,
                               Clock clock)
    : base_(base),
      client_for_(std::move(client_for)),
      clock_(std::move(clock)),
      timer_(evtimer_new(base, &PeriodicRunner::OnTimer, this)) {
  if (timer_ == nullptr) throw std::runtime_error("evtimer_new failed");
}

PeriodicRunner::~PeriodicRunner() {
  for (auto& [key, entry] : entries_) entry->removed = true;
  event_free(timer_);
}

PeriodicRunner::Time PeriodicRunner::SystemClock() {
  return date::floor<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
}

void PeriodicRunner::Apply(const Config& config) {
  config_ = &config;
  Time now = clock_();
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Entry>> next;
  for (const auto& [site_name, site] : config.sites) {
    for (const auto& [name, periodic] : site.periodic) {
      std::pair<std::string, std::string> key(site_name, name);
      auto was = entries_.find(key);
      if (was != entries_.end() &&
          was->second->config.cron.text() == periodic.cron.text() &&
          was->second->config.timezone == periodic.timezone) {
        was->second->config = periodic;  // queue, payload follow at once
        next[key] = was->second;
        continue;
      }
      auto entry = std::make_shared<Entry>(site_name, periodic);
      entry->plan.Start(now);
      std::optional<date::sys_seconds> at = entry->plan.next();
      std::string when = "no next run";
      if (at) {
        when = std::string(*at <= now ? "one run for the ticks missed since "
                                        "its last run, if any: "
                                      : "next run ") +
               FormatLocal(*at, periodic.zone);
      }
      spdlog::info("{} ('{}' in {}, to queue {}): {}", entry->Describe(),
                   periodic.cron.text(), periodic.timezone, periodic.queue,
                   when);
      next[key] = std::move(entry);
    }
  }
  for (auto& [key, entry] : entries_) {
    if (next.count(key) != 0) continue;
    entry->removed = true;
    spdlog::info("{}: removed from the config", entry->Describe());
  }
  entries_ = std::move(next);
  Arm();
}

std::vector<PeriodicRunner::EntryStatus> PeriodicRunner::Status() const {
  std::vector<EntryStatus> out;
  for (const auto& [key, e] : entries_) {
    EntryStatus s;
    s.site = e->site;
    s.name = e->config.name;
    s.cron = e->config.cron.text();
    s.timezone = e->config.timezone;
    s.queue = e->config.queue;
    if (e->plan.next()) s.next_ms = Ms(*e->plan.next());
    s.last_tick_ms = e->last_tick_ms;
    s.enqueued = e->enqueued;
    s.failures = e->failures;
    s.skipped = e->plan.skipped();
    s.last_error = e->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

std::string PeriodicRunner::Jid(const std::string& name, int64_t tick_ms) {
  return "periodic:" + name + ":" + std::to_string(tick_ms);
}

std::vector<std::string> PeriodicRunner::Command(const SiteConfig& site,
                                                 const PeriodicConfig& entry,
                                                 int64_t tick_ms, bool catch_up,
                                                 int64_t now_ms) {
  std::string tick = std::to_string(tick_ms);
  return {"EVAL",
          kPeriodicScript,
          "2",
          QueueKeys::Periodic(site.prefix, site.name),
          QueueKeys::Stream(site.prefix, site.name, entry.queue),
          entry.name,
          tick,
          catch_up ? "if_recorded" : "always",
          "payload",
          entry.payload,
          "jid",
          Jid(entry.name, tick_ms),
          "scheduled_at",
          tick,
          "enqueued_at",
          std::to_string(now_ms)};
}

std::vector<std::string> PeriodicRunner::RunNowCommand(
    const SiteConfig& site, const PeriodicConfig& entry, int64_t now_ms) {
  std::vector<std::string> command =
      Command(site, entry, now_ms, false, now_ms);
  command[7] = "now";  // the mode, after NAME and TICK_MS
  command[11] = "periodic:" + entry.name + ":run:" + std::to_string(now_ms);
  return command;
}

PeriodicRunner::Outcome PeriodicRunner::ParseReply(const redisReply* r) {
  if (r == nullptr) return {Outcome::kLost, "connection lost"};
  if (r->type == REDIS_REPLY_ERROR) {
    return {Outcome::kError, std::string(ReplyString(r))};
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
    return {Outcome::kError, "unexpected reply to the periodic script"};
  }
  std::string_view kind = ReplyString(r->element[0]);
  auto part = [r](size_t i) {
    return i < r->elements ? std::string(ReplyString(r->element[i]))
                           : std::string();
  };
  if (kind == "enqueued") return {Outcome::kEnqueued, part(1)};
  if (kind == "done") return {Outcome::kDone, part(1)};
  if (kind == "fresh") return {Outcome::kFresh, ""};
  if (kind == "error") return {Outcome::kError, part(1) + " " + part(2)};
  return {Outcome::kError, "unexpected reply to the periodic script"};
}

void PeriodicRunner::OnTimer(int, short, void* arg) {
  static_cast<PeriodicRunner*>(arg)->Fire();
}

void PeriodicRunner::Fire() {
  Time now = clock_();
  // Send() may answer at once (not connected); answers change entries,
  // never the map.
  for (auto& [key, entry] : entries_) {
    int64_t skipped = entry->plan.skipped();
    std::optional<date::sys_seconds> was = entry->plan.next();
    std::optional<PeriodicPlan::Attempt> attempt = entry->plan.Take(now);
    const date::time_zone* zone = entry->config.zone;
    if (entry->plan.skipped() != skipped &&
        log_limiter_.Allow(entry->Subject() + " missed")) {
      std::optional<date::sys_seconds> next = entry->plan.next();
      spdlog::warn(
          "{}: the tick of {} was not enqueued within {}s of its time, nor "
          "those due after it: skipped (missed: skip); next run {}",
          entry->Describe(), FormatLocal(entry->plan.last_skipped(), zone),
          PeriodicPlan::kGrace.count(),
          next ? FormatLocal(*next, zone) : "none");
    }
    if (!attempt) continue;
    if (attempt->superseded &&
        log_limiter_.Allow(entry->Subject() + " missed")) {
      spdlog::warn(
          "{}: the tick of {} was not enqueued within {}s of its time; "
          "enqueuing the latest due tick, {}, instead: one run for the ticks "
          "missed (missed: run_once)",
          entry->Describe(), was ? FormatLocal(*was, zone) : "?",
          PeriodicPlan::kGrace.count(), FormatLocal(attempt->tick, zone));
    }
    Send(entry, *attempt);
  }
  Arm();
}

void PeriodicRunner::Arm() {
  std::optional<Time> earliest;
  for (const auto& [key, entry] : entries_) {
    std::optional<Time> due = entry->plan.Due();
    if (due && (!earliest || *due < *earliest)) earliest = due;
  }
  evtimer_del(timer_);
  if (!earliest) return;  // a call is out for each entry, or no entries
  // Due() in the past means Take() has something: no loop on the timer.
  Duration delay = std::max(Duration(0), *earliest - clock_());
  timeval tv = ToTimeval(delay);
  evtimer_add(timer_, &tv);
}

void PeriodicRunner::Send(const std::shared_ptr<Entry>& entry,
                          const PeriodicPlan::Attempt& a) {
  auto site = config_->sites.find(entry->site);
  RedisClient* redis =
      site != config_->sites.end() ? client_for_(site->second) : nullptr;
  if (redis == nullptr) {
    return Answer(entry, a, {Outcome::kLost, "no Redis client for the site"});
  }
  std::vector<std::string> command = Command(
      site->second, entry->config, Ms(a.tick), a.catch_up, Ms(clock_()));
  bool sent = redis->Command(
      {command.begin(), command.end()},
      [this, entry, a](redisReply* r) { Answer(entry, a, ParseReply(r)); });
  if (!sent) Answer(entry, a, {Outcome::kLost, "not connected"});
}

void PeriodicRunner::Answer(const std::shared_ptr<Entry>& entry,
                            const PeriodicPlan::Attempt& a,
                            const Outcome& outcome) {
  if (entry->removed) return;
  std::string key = entry->Subject();
  int64_t tick_ms = Ms(a.tick);
  switch (outcome.kind) {
    case Outcome::kEnqueued:
      ++entry->enqueued;
      entry->last_tick_ms = tick_ms;
      // A catch-up is rare and worth a line; every tick is not.
      if (a.catch_up || a.superseded) {
        spdlog::info("{}: enqueued {} ({}) late, for the ticks missed",
                     entry->Describe(), Jid(entry->config.name, tick_ms),
                     FormatLocal(a.tick, entry->config.zone));
      } else {
        spdlog::debug("{}: enqueued {} ({}), entry {}", entry->Describe(),
                      Jid(entry->config.name, tick_ms),
                      FormatLocal(a.tick, entry->config.zone), outcome.detail);
      }
      break;
    case Outcome::kDone: {
      // Another daemon's, or ours whose answer was lost.
      int64_t recorded = std::strtoll(outcome.detail.c_str(), nullptr, 10);
      entry->last_tick_ms = std::max(entry->last_tick_ms, recorded);
      break;
    }
    case Outcome::kFresh:
      break;
    case Outcome::kError:
    case Outcome::kLost:
      ++entry->failures;
      entry->last_error = outcome.detail;
      entry->plan.Failed(clock_());
      // An outage is logged by the client; a refusal is ours to say.
      if (outcome.kind == Outcome::kError && log_limiter_.Allow(key)) {
        spdlog::error(
            "{}: could not enqueue the tick of {}: {}; trying again with "
            "backoff (logged at most once a minute)",
            entry->Describe(), FormatLocal(a.tick, entry->config.zone),
            outcome.detail);
      }
      return Arm();
  }
  if (!entry->last_error.empty()) log_limiter_.Forget(key);
  entry->last_error.clear();
  entry->plan.Done();
  Arm();
}

}  // namespace qd
