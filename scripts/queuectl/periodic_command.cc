#include "scripts/queuectl/periodic_command.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/queue/queue_keys.h"
#include "core/schedule/cron_ticks.h"
#include "core/util/text_quote.h"
#include "core/util/units.h"
#include "scripts/queuectl/exit_code.h"

namespace qd::ctl {
namespace {

constexpr size_t kMaxShown = 64;

// A recorded tick (decimal ms) as a time, or nullopt when it is not one
// (the hash may have been written by hand).
std::optional<date::sys_seconds> Tick(const std::string& ms) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), value);
  if (ec != std::errc() || end != ms.data() + ms.size() || value <= 0) {
    return std::nullopt;
  }
  return date::sys_seconds{std::chrono::seconds{value / 1000}};
}

std::optional<date::sys_seconds> Next(const PeriodicConfig& p, int64_t now_ms) {
  return NextAfter(p.cron, p.zone,
                   date::sys_seconds{std::chrono::seconds{now_ms / 1000}});
}

int64_t Ms(date::sys_seconds t) {
  return static_cast<int64_t>(t.time_since_epoch().count()) * 1000;
}

// The last run for the table: its time, "-" for none, the raw value
// (quoted) when it is not a tick, "?" when Redis did not answer.
std::string LastText(const PeriodicConfig& p, const Status& status,
                     const std::map<std::string, std::string>& last) {
  if (!status.ok()) return "?";
  auto it = last.find(p.name);
  if (it == last.end() || it->second.empty()) return "-";
  std::optional<date::sys_seconds> tick = Tick(it->second);
  if (!tick) return "'" + Quote(it->second, kMaxShown) + "'";
  return FormatLocal(*tick, p.zone);
}

}  // namespace

PeriodicCommand::PeriodicCommand(CLI::App* parent) {
  app_ = parent->add_subcommand(
      "periodic",
      "periodic entries: cron, time zone, queue, next and last run");
  app_->add_option("site", site_, "only this site");
  app_->add_flag("--json", json_, "print JSON");
}

int PeriodicCommand::Run(CtlContext* ctx) {
  std::vector<const SiteConfig*> sites;
  if (!site_.empty()) {
    const SiteConfig* site = nullptr;
    Status s = ctx->Site(site_, &site);
    if (!s.ok()) return Fail(kExitUsage, s);
    sites.push_back(site);
  } else {
    for (const auto& [name, site] : ctx->config().sites) {
      if (!site.periodic.empty()) sites.push_back(&site);
    }
  }
  std::vector<SiteRuns> runs;
  int code = kExitOk;
  for (const SiteConfig* site : sites) {
    runs.push_back(ReadSite(ctx, *site));
    if (runs.back().status.ok()) continue;
    Fail(kExitRuntime, runs.back().status);
    code = kExitRuntime;
  }
  int64_t now_ms = EpochMs();
  if (json_) {
    PrintJson(runs, now_ms);
  } else {
    PrintTable(runs, now_ms);
  }
  return code;
}

PeriodicCommand::SiteRuns PeriodicCommand::ReadSite(CtlContext* ctx,
                                                    const SiteConfig& site) {
  SiteRuns runs;
  runs.site = &site;
  if (site.periodic.empty()) return runs;
  RedisConn* conn = nullptr;
  runs.status = ctx->Connect(site, &conn);
  std::string key = QueueKeys::Periodic(site.prefix, site.name);
  std::vector<std::string_view> args = {"HMGET", key};
  for (const auto& [name, p] : site.periodic) args.push_back(name);
  ReplyPtr reply;
  if (runs.status.ok()) runs.status = conn->Call(args, &reply);
  if (runs.status.ok() &&
      (reply == nullptr || reply->type != REDIS_REPLY_ARRAY ||
       reply->elements != site.periodic.size())) {
    runs.status = Status::Error("unexpected reply to HMGET " + key);
  }
  if (!runs.status.ok()) {
    runs.status =
        Status::Error("site " + site.name + ": " + runs.status.message());
    return runs;
  }
  size_t i = 0;
  for (const auto& [name, p] : site.periodic) {
    const redisReply* r = reply->element[i++];
    runs.last[name] = r->type == REDIS_REPLY_STRING
                          ? std::string(r->str, r->len)
                          : std::string();
  }
  return runs;
}

void PeriodicCommand::PrintTable(const std::vector<SiteRuns>& sites,
                                 int64_t now_ms) {
  struct Row {
    std::string cells[7];
  };
  std::vector<Row> rows = {
      {{"SITE", "ENTRY", "CRON", "TIMEZONE", "QUEUE", "NEXT", "LAST"}}};
  for (const SiteRuns& s : sites) {
    for (const auto& [name, p] : s.site->periodic) {
      std::optional<date::sys_seconds> next = Next(p, now_ms);
      rows.push_back({{s.site->name, name, p.cron.text(), p.timezone, p.queue,
                       next ? FormatLocal(*next, p.zone) : "never",
                       LastText(p, s.status, s.last)}});
    }
  }
  size_t width[7] = {};
  for (const Row& row : rows) {
    for (int c = 0; c < 7; ++c)
      width[c] = std::max(width[c], row.cells[c].size());
  }
  for (const Row& row : rows) {
    std::string line;
    for (int c = 0; c < 7; ++c) {
      line += row.cells[c];
      if (c < 6) line += std::string(width[c] - row.cells[c].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

void PeriodicCommand::PrintJson(const std::vector<SiteRuns>& sites,
                                int64_t now_ms) {
  using Json = nlohmann::ordered_json;
  Json out = {{"sites", Json::object()}};
  for (const SiteRuns& s : sites) {
    Json& site = out["sites"][s.site->name];
    if (!s.status.ok()) site["error"] = s.status.message();
    site["periodic"] = Json::object();
    for (const auto& [name, p] : s.site->periodic) {
      std::optional<date::sys_seconds> next = Next(p, now_ms);
      Json entry = {
          {"cron", p.cron.text()},
          {"timezone", p.timezone},
          {"queue", p.queue},
          {"missed",
           p.missed == PeriodicConfig::Missed::kRunOnce ? "run_once" : "skip"},
          {"next_ms", next ? Json(Ms(*next)) : Json()},
          {"next", next ? Json(FormatLocal(*next, p.zone)) : Json()},
          {"last_ms", nullptr},
          {"last", nullptr},
          {"recorded", nullptr}};
      // `recorded` is the hash's value as it is; last_ms and last are
      // null when it is not a tick (written by hand).
      auto last = s.last.find(name);
      if (s.status.ok() && last != s.last.end() && !last->second.empty()) {
        std::optional<date::sys_seconds> tick = Tick(last->second);
        entry["recorded"] = last->second;
        if (tick) {
          entry["last_ms"] = Ms(*tick);
          entry["last"] = FormatLocal(*tick, p.zone);
        }
      }
      site["periodic"][name] = entry;
    }
  }
  std::printf("%s\n",
              out.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
}

}  // namespace qd::ctl
