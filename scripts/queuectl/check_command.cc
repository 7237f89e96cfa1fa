#include "scripts/queuectl/check_command.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "core/config/own_keys.h"
#include "core/config/redis_url.h"
#include "core/os/process.h"
#include "scripts/queuectl/stats_reader.h"

namespace qd::ctl {
namespace {

constexpr const char* kStateNames[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
constexpr size_t kMaxNamed = 3;  // problems spelled out in the summary

std::string String(const redisReply* r) {
  return r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : "";
}

// Nagios reads one line and splits it at the first '|'.
std::string Printable(std::string text) {
  for (char& c : text) {
    if (c == '|') c = '/';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// A perfdata label, quoted unless plain. Site and queue names cannot hold
// a quote or '=' (the config loader allows letters, digits and _ . : -).
std::string Label(const std::string& name) {
  bool plain = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_';
  });
  return plain ? name : "'" + name + "'";
}

std::string Plural(int64_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

void CheckCommand::Findings::Add(State s, std::string what) {
  (s == kCritical ? critical : warning).push_back(std::move(what));
  state = std::max(state, s);
}

CheckCommand::CheckCommand(CLI::App* parent) {
  app_ = parent->add_subcommand(
      "check", "Nagios/Icinga plugin: one status line, exit 0/1/2/3");
  app_->add_option("--site", site_, "only this site");
  app_->add_option("--queue", queue_,
                   "only this queue (of --site, else of every site)");
  app_->add_option("--ready-warn", ready_warn_,
                   "WARNING when a queue has more ready jobs")
      ->type_name("N");
  app_->add_option("--ready-crit", ready_crit_,
                   "CRITICAL when a queue has more ready jobs")
      ->type_name("N");
  app_->add_option("--dead-warn", dead_warn_,
                   "WARNING when a queue has more dead jobs")
      ->type_name("N");
  app_->add_option("--dead-crit", dead_crit_,
                   "CRITICAL when a queue has more dead jobs")
      ->type_name("N");
  app_->add_option("--workers-min", workers_min_,
                   "CRITICAL when fewer workers are ready, or no daemon lives")
      ->type_name("N");
  app_->add_option("--host", host_, "count only the daemons of this host");
  // main() maps every parse error to queuectl's usage code 2, which Nagios
  // shows as CRITICAL with an empty line. The hook runs inside main's
  // app.exit(e), before that mapping, and is the one place this command can
  // still answer; other commands keep CLI11's default message.
  parent->failure_message([this](const CLI::App* app, const CLI::Error& e) {
    if (!chosen()) return CLI::FailureMessage::simple(app, e);
    std::exit(Report(kUnknown, std::string("usage: ") + e.what() +
                                   " (queuectl check --help)"));
  });
}

int CheckCommand::Run(CtlContext* ctx) {
  Status s = ParseLimits();
  if (!s.ok()) return Report(kUnknown, "usage: " + s.message());
  std::vector<const SiteConfig*> sites;
  s = Scope(*ctx, &sites);
  if (!s.ok()) return Report(kUnknown, s.message());
  std::vector<QueueCount> queues;
  s = ReadQueues(ctx, sites, &queues);
  if (!s.ok()) return Report(kUnknown, s.message());
  Workers workers;
  s = ReadWorkers(*ctx, &workers);
  if (!s.ok()) return Report(kUnknown, s.message());
  Findings findings = Evaluate(queues, workers);
  return Report(findings.state, Summary(findings, queues, workers),
                PerfData(queues, workers));
}

Status CheckCommand::ParseCount(const char* option, const std::string& text,
                                std::optional<int64_t>* out) const {
  if (app_->count(option) == 0) return Status::Ok();
  int64_t value = -1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < 0) {
    return Status::Error(std::string(option) + " '" + text +
                         "': not a whole number >= 0");
  }
  *out = value;
  return Status::Ok();
}

Status CheckCommand::ParseLimits() {
  Status s = ParseCount("--ready-warn", ready_warn_, &ready_.warn);
  if (s.ok()) s = ParseCount("--ready-crit", ready_crit_, &ready_.crit);
  if (s.ok()) s = ParseCount("--dead-warn", dead_warn_, &dead_.warn);
  if (s.ok()) s = ParseCount("--dead-crit", dead_crit_, &dead_.crit);
  if (s.ok()) s = ParseCount("--workers-min", workers_min_, &workers_min_n_);
  return s;
}

Status CheckCommand::Scope(const CtlContext& ctx,
                           std::vector<const SiteConfig*>* sites) const {
  if (!site_.empty()) {
    const SiteConfig* site = nullptr;
    Status s = ctx.Site(site_, &site);
    if (s.ok() && !queue_.empty()) s = ctx.Queue(*site, queue_);
    if (s.ok()) sites->push_back(site);
    return s;
  }
  for (const auto& [name, site] : ctx.config().sites) {
    if (queue_.empty() || site.queues.count(queue_) != 0) {
      sites->push_back(&site);
    }
  }
  if (sites->empty() && !queue_.empty()) {
    return Status::Error("unknown queue '" + queue_ + "': no site has it");
  }
  return Status::Ok();
}

Status CheckCommand::ReadQueues(CtlContext* ctx,
                                const std::vector<const SiteConfig*>& sites,
                                std::vector<QueueCount>* out) const {
  for (const SiteConfig* site : sites) {
    RedisConn* conn = nullptr;
    SiteStats stats;
    Status s = ctx->Connect(*site, &conn);
    if (s.ok()) s = StatsReader::Read(*site, conn, &stats);
    if (!s.ok())
      return Status::Error("site " + site->name + ": " + s.message());
    for (const auto& [name, q] : stats.queues) {
      if (!queue_.empty() && name != queue_) continue;
      out->push_back({site->name, name, q.ready, q.dead});
    }
  }
  return Status::Ok();
}

Status CheckCommand::ReadWorkers(CtlContext& ctx, Workers* out) const {
  const std::string& want_id = ctx.selected_id();
  if (!want_id.empty()) out->filter = "id " + want_id;
  if (!host_.empty())
    out->filter += (want_id.empty() ? "host " : ", host ") + host_;
  RedisConn* conn = nullptr;
  std::vector<std::string> keys;
  Status s = ctx.ConnectDaemon(&conn);
  if (s.ok()) s = ScanDaemons(conn, want_id, &keys);
  for (const std::string& key : keys) {
    conn->Append({"HMGET", key, "id", "host", "ready"});
  }
  for (size_t i = 0; s.ok() && i < keys.size(); ++i) {
    ReplyPtr r;
    s = conn->Read(&r);
    if (s.ok()) Count(*r, want_id, out);
  }
  if (!s.ok()) return Status::Error("daemon hashes: " + s.message());
  return Status::Ok();
}

void CheckCommand::Count(const redisReply& hmget, const std::string& want_id,
                         Workers* out) const {
  if (hmget.type != REDIS_REPLY_ARRAY || hmget.elements != 3) return;
  const std::string id = String(hmget.element[0]);
  const std::string host = String(hmget.element[1]);
  const std::string ready = String(hmget.element[2]);
  if (id.empty() && host.empty() && ready.empty()) return;  // expired since
  if (!want_id.empty() && id != want_id) return;
  if (!host_.empty() && host != host_) return;
  int64_t n = 0;
  std::from_chars(ready.data(), ready.data() + ready.size(), n);
  ++out->daemons;
  out->ready += n;
}

Status CheckCommand::ScanDaemons(RedisConn* conn, const std::string& id,
                                 std::vector<std::string>* keys) const {
  if (!id.empty() && !host_.empty()) {  // one known key: no need to scan
    keys->push_back(OwnKeys::Daemon(host_, id));
    return Status::Ok();
  }
  std::set<std::string> found;  // SCAN may return a key twice
  std::string cursor = "0";
  do {
    ReplyPtr r;
    Status s = conn->Call(
        {"SCAN", cursor, "MATCH", OwnKeys::kDaemonPattern, "COUNT", "1000"},
        &r);
    if (!s.ok()) return s;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return conn->Error("SCAN: unexpected reply");
    }
    cursor = String(r->element[0]);
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      found.insert(String(r->element[1]->element[i]));
    }
  } while (cursor != "0" && !cursor.empty());
  keys->assign(found.begin(), found.end());
  return Status::Ok();
}

CheckCommand::Findings CheckCommand::Evaluate(
    const std::vector<QueueCount>& queues, const Workers& workers) const {
  Findings f;
  for (const QueueCount& q : queues) {
    std::string where = "site " + q.site + " queue " + q.queue;
    Check("ready", q.ready, ready_, where, &f);
    Check("dead", q.dead, dead_, where, &f);
  }
  // No live daemon is CRITICAL whatever the thresholds: the queues' numbers
  // may all be fine while nothing serves them.
  std::string filter =
      workers.filter.empty() ? "" : " (" + workers.filter + ")";
  if (workers.daemons == 0) {
    f.Add(kCritical, "no live daemon" + filter);
  } else if (workers_min_n_ && workers.ready < *workers_min_n_) {
    f.Add(kCritical, "workers " + std::to_string(workers.ready) + " < " +
                         std::to_string(*workers_min_n_) + filter);
  }
  return f;
}

void CheckCommand::Check(const char* what, int64_t value, const Limits& limits,
                         const std::string& where, Findings* findings) {
  State state = kOk;
  int64_t limit = 0;
  if (limits.crit && value > *limits.crit) {
    state = kCritical;
    limit = *limits.crit;
  } else if (limits.warn && value > *limits.warn) {
    state = kWarning;
    limit = *limits.warn;
  }
  if (state == kOk) return;
  findings->Add(state, std::string(what) + " " + std::to_string(value) + " > " +
                           std::to_string(limit) + " (" + where + ")");
}

std::string CheckCommand::Summary(const Findings& findings,
                                  const std::vector<QueueCount>& queues,
                                  const Workers& workers) const {
  std::vector<std::string> wrong = findings.critical;
  wrong.insert(wrong.end(), findings.warning.begin(), findings.warning.end());
  std::string text;
  for (size_t i = 0; i < wrong.size() && i < kMaxNamed; ++i) {
    text += (i == 0 ? "" : ", ") + wrong[i];
  }
  if (wrong.size() > kMaxNamed) {
    text += " and " + std::to_string(wrong.size() - kMaxNamed) + " more";
  }
  if (!text.empty()) text += "; ";
  int64_t ready = 0, dead = 0;
  for (const QueueCount& q : queues) {
    ready += q.ready;
    dead += q.dead;
  }
  return text + "ready " + std::to_string(ready) + ", dead " +
         std::to_string(dead) + " in " +
         Plural(static_cast<int64_t>(queues.size()), "queue") + "; workers " +
         std::to_string(workers.ready) + " on " +
         Plural(workers.daemons, "daemon");
}

std::string CheckCommand::PerfData(const std::vector<QueueCount>& queues,
                                   const Workers& workers) const {
  // Thresholds apply per queue: the totals carry them only when they are
  // the one queue's numbers.
  bool one = queues.size() == 1;
  int64_t ready = 0, dead = 0;
  std::string per_queue;
  for (const QueueCount& q : queues) {
    ready += q.ready;
    dead += q.dead;
    std::string name = q.site + "_" + q.queue;
    per_queue += " " + Perf("ready_" + name, q.ready, Text(ready_.warn),
                            Text(ready_.crit));
    per_queue +=
        " " + Perf("dead_" + name, q.dead, Text(dead_.warn), Text(dead_.crit));
  }
  std::string out =
      Perf("ready", ready, one ? Text(ready_.warn) : "",
           one ? Text(ready_.crit) : "") +
      " " +
      Perf("dead", dead, one ? Text(dead_.warn) : "",
           one ? Text(dead_.crit) : "") +
      " " +
      Perf("workers", workers.ready, "",
           workers_min_n_ ? std::to_string(*workers_min_n_) + ":" : "");
  return queues.size() > 1 ? out + per_queue : out;
}

int CheckCommand::Report(State state, const std::string& text,
                         const std::string& perfdata) {
  std::string line = std::string("QUEUEDAEMON ") + kStateNames[state] + " - " +
                     Printable(text);
  if (!perfdata.empty()) line += " | " + Printable(perfdata);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return state;
}

std::string CheckCommand::Perf(const std::string& label, int64_t value,
                               const std::string& warn,
                               const std::string& crit) {
  return Label(label) + "=" + std::to_string(value) + ";" + warn + ";" + crit +
         ";0;";
}

std::string CheckCommand::Text(const std::optional<int64_t>& limit) {
  return limit ? std::to_string(*limit) : "";
}

}  // namespace qd::ctl
