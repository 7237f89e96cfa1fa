#include "scripts/queuectl/stats_command.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/queue/unserved_scan.h"
#include "core/util/text_quote.h"
#include "scripts/queuectl/exit_code.h"

namespace qd::ctl {
namespace {

// A queue name from Redis may hold any byte: shown with control bytes
// escaped, and cut, in the table.
constexpr size_t kMaxShownName = 200;

std::string Shown(const std::string& name) {
  return Quote(name, kMaxShownName);
}

}  // namespace

StatsCommand::StatsCommand(CLI::App* parent) {
  app_ = parent->add_subcommand(
      "stats", "ready, pending, delayed and dead jobs per site and queue");
  app_->add_option("site", site_, "only this site");
  app_->add_flag("--json", json_, "print JSON");
}

int StatsCommand::Run(CtlContext* ctx) {
  std::vector<const SiteConfig*> sites;
  Status s = Sites(*ctx, &sites);
  if (!s.ok()) return Fail(kExitUsage, s);
  std::vector<Result> results;
  int code = kExitOk;
  for (const SiteConfig* site : sites) {
    results.push_back(ReadSite(ctx, *site));
    if (!results.back().status.ok()) {
      Fail(kExitRuntime, results.back().status);
      code = kExitRuntime;
    }
    for (const auto& [name, q] : results.back().stats.queues) {
      if (q.error.empty()) continue;
      Fail(kExitRuntime, Status::Error("site " + site->name + " queue " + name +
                                       ": " + q.error));
      code = kExitRuntime;
    }
    NoteUnserved(results.back().stats);
  }
  if (json_) {
    PrintJson(results);
  } else {
    PrintTable(results);
    PrintLimits(results);
  }
  return code;
}

Status StatsCommand::Sites(const CtlContext& ctx,
                           std::vector<const SiteConfig*>* out) const {
  if (!site_.empty()) {
    const SiteConfig* site = nullptr;
    Status s = ctx.Site(site_, &site);
    if (s.ok()) out->push_back(site);
    return s;
  }
  for (const auto& [name, site] : ctx.config().sites) out->push_back(&site);
  return Status::Ok();
}

StatsCommand::Result StatsCommand::ReadSite(CtlContext* ctx,
                                            const SiteConfig& site) {
  Result result;
  result.stats.site = site.name;
  RedisConn* conn = nullptr;
  result.status = ctx->Connect(site, &conn);
  if (result.status.ok()) {
    result.status = StatsReader::Read(site, conn, &result.stats);
  }
  if (!result.status.ok()) {
    result.status =
        Status::Error("site " + site.name + ": " + result.status.message());
  }
  return result;
}

void StatsCommand::NoteUnserved(const SiteStats& stats) {
  std::string site = "site " + stats.site + ": ";
  if (!stats.unserved_error.empty()) {
    Fail(kExitOk, Status::Error(site +
                                "could not look for streams no queue "
                                "serves: " +
                                stats.unserved_error));
  }
  if (!stats.unserved_cut_short.empty()) {
    Fail(kExitOk,
         Status::Error(site + "the look for streams no queue serves " +
                       stats.unserved_cut_short + "; there may be more"));
  }
  if (stats.unserved_more) {
    Fail(kExitOk,
         Status::Error(site + "more than " +
                       std::to_string(UnservedScan::kMaxStreams) +
                       " streams are not served; the first ones are listed"));
  }
}

void StatsCommand::PrintTable(const std::vector<Result>& results) {
  int site_width = 4, queue_width = 5;  // "SITE", "QUEUE"
  for (const Result& r : results) {
    site_width = std::max(site_width, static_cast<int>(r.stats.site.size()));
    for (const auto& [name, q] : r.stats.queues) {
      queue_width = std::max(queue_width, static_cast<int>(name.size()));
    }
    for (const UnservedStats& u : r.stats.unserved) {
      queue_width =
          std::max(queue_width, static_cast<int>(Shown(u.queue).size()));
    }
  }
  const char* row = "%-*s  %-*s  %10s  %10s  %10s  %10s\n";
  std::printf(row, site_width, "SITE", queue_width, "QUEUE", "READY", "PENDING",
              "DELAYED", "DEAD");
  for (const Result& r : results) {
    if (!r.status.ok()) continue;
    QueueStats total;
    for (const auto& [name, q] : r.stats.queues) {
      if (!q.error.empty()) {  // said on stderr
        std::printf(row, site_width, r.stats.site.c_str(), queue_width,
                    name.c_str(), "?", "?", "-", "?");
        continue;
      }
      // "N+": Redis gave no lag and the count stopped at its limit.
      std::string ready = std::to_string(q.ready) + (q.ready_exact ? "" : "+");
      std::printf(row, site_width, r.stats.site.c_str(), queue_width,
                  name.c_str(), ready.c_str(),
                  std::to_string(q.pending).c_str(), "-",
                  std::to_string(q.dead).c_str());
      total.ready += q.ready;
      total.pending += q.pending;
      total.dead += q.dead;
    }
    // READY is the stream's length: no worker reads any of it.
    for (const UnservedStats& u : r.stats.unserved) {
      std::printf("%-*s  %-*s  %10s  %10s  %10s  %10s  not served\n",
                  site_width, r.stats.site.c_str(), queue_width,
                  Shown(u.queue).c_str(), std::to_string(u.length).c_str(), "-",
                  "-", "-");
    }
    std::printf(row, site_width, r.stats.site.c_str(), queue_width, "(all)",
                std::to_string(total.ready).c_str(),
                std::to_string(total.pending).c_str(),
                std::to_string(r.stats.delayed).c_str(),
                std::to_string(total.dead).c_str());
  }
}

// A second table, for the sites with limits: what each holds now.
void StatsCommand::PrintLimits(const std::vector<Result>& results) {
  int site_width = 4, name_width = 5, bound_width = 5;  // SITE LIMIT BOUND
  bool any = false;
  for (const Result& r : results) {
    for (const LimitUsage& u : r.stats.limits) {
      any = true;
      site_width = std::max(site_width, static_cast<int>(r.stats.site.size()));
      name_width = std::max(name_width, static_cast<int>(u.name.size()));
      bound_width = std::max(bound_width, static_cast<int>(u.Bound().size()));
    }
  }
  if (!any) return;
  const char* row = "%-*s  %-*s  %-*s  %8s  %8s  %8s  %8s  %6s\n";
  std::printf("\n");
  std::printf(row, site_width, "SITE", name_width, "LIMIT", bound_width,
              "BOUND", "RUNNING", "PENDING", "STARTED", "WAITING", "KEYS");
  auto shown = [](bool has, int64_t n) {
    return has ? std::to_string(n) : std::string("-");
  };
  for (const Result& r : results) {
    if (!r.status.ok()) continue;
    for (const LimitUsage& u : r.stats.limits) {
      std::printf(row, site_width, r.stats.site.c_str(), name_width,
                  u.name.c_str(), bound_width, u.Bound().c_str(),
                  shown(u.concurrency > 0, u.running).c_str(),
                  shown(u.rate > 0, u.pending).c_str(),
                  shown(u.rate > 0, u.started).c_str(),
                  std::to_string(u.waiting).c_str(),
                  std::to_string(u.keys).c_str());
    }
  }
}

void StatsCommand::PrintJson(const std::vector<Result>& results) {
  nlohmann::ordered_json sites = nlohmann::ordered_json::object();
  for (const Result& r : results) {
    nlohmann::ordered_json& site = sites[r.stats.site];
    if (!r.status.ok()) {
      site["error"] = r.status.message();
      continue;
    }
    site["redis"] = r.stats.server;
    site["delayed"] = r.stats.delayed;
    site["queues"] = nlohmann::ordered_json::object();
    for (const auto& [name, q] : r.stats.queues) {
      if (!q.error.empty()) {
        site["queues"][name] = {{"error", q.error}};
        continue;
      }
      site["queues"][name] = {
          {"ready", q.ready}, {"pending", q.pending}, {"dead", q.dead}};
      if (!q.ready_exact) site["queues"][name]["ready_at_least"] = true;
    }
    site["limits"] = nlohmann::ordered_json::object();
    for (const LimitUsage& u : r.stats.limits) {
      site["limits"][u.name] = {
          {"concurrency", u.concurrency}, {"rate", u.rate},
          {"window_ms", u.window_ms},     {"running", u.running},
          {"pending", u.pending},         {"started", u.started},
          {"waiting", u.waiting},         {"keys", u.keys}};
    }
    site["unserved"] = nlohmann::ordered_json::array();
    for (const UnservedStats& u : r.stats.unserved) {
      site["unserved"].push_back(
          {{"stream", u.key}, {"queue", u.queue}, {"length", u.length}});
    }
  }
  nlohmann::ordered_json out = {{"sites", sites}};
  std::printf("%s\n",
              out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                  .c_str());
}

}  // namespace qd::ctl
