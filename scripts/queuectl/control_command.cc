#include "scripts/queuectl/control_command.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "core/config/config.h"
#include "core/config/own_keys.h"
#include "core/util/units.h"
#include "scripts/queuectl/exit_code.h"

namespace qd::ctl {
namespace {

using std::chrono::milliseconds;
using Message = qd::ControlCommand;

constexpr const char* kDaemonKeys = OwnKeys::kDaemonPattern;
// One BLPOP waits at most this long: RedisConn gives up on a reply after
// 30 s, and a long --timeout is simply several BLPOPs.
constexpr milliseconds kMaxBlock{10000};

std::string String(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_STRING
             ? std::string(r->str, r->len)
             : "";
}

// "45s", "12m05s", "3h05m", "2d04h".
std::string Uptime(int64_t s) {
  char out[32];
  if (s < 60) {
    std::snprintf(out, sizeof(out), "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(out, sizeof(out), "%lldm%02llds",
                  static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(out, sizeof(out), "%lldh%02lldm",
                  static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(out, sizeof(out), "%lldd%02lldh",
                  static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return out;
}

// A `ps` data field as table text: "-" when absent, lists comma-joined.
std::string Text(const nlohmann::json& data, const char* key) {
  auto it = data.find(key);
  if (it == data.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) return it->dump();
  std::string out;
  for (const auto& e : *it) {
    out += (out.empty() ? "" : ",") +
           (e.is_string() ? e.get<std::string>() : e.dump());
  }
  return out.empty() ? "-" : out;
}

// A numeric `ps` data field, formatted; "-" when absent or not a number.
template <typename F>
std::string Number(const nlohmann::json& data, const char* key, F format) {
  auto it = data.find(key);
  if (it == data.end() || !it->is_number()) return "-";
  return format(it->get<double>());
}

}  // namespace

const std::vector<std::string>& ControlCommand::Names() {
  static const std::vector<std::string> kNames = {"reload", "restart", "drain",
                                                  "resume", "stop",    "ps"};
  return kNames;
}

ControlCommand::ControlCommand(CLI::App* parent, const std::string& name)
    : name_(name) {
  static const std::map<std::string, std::string> kHelp = {
      {"reload", "daemons re-read their config (--site: one site's)"},
      {"restart", "daemons roll their workers over, one slot at a time"},
      {"drain", "daemons stop fetching jobs (--site: of one site)"},
      {"resume", "daemons fetch jobs again (--site: of one site)"},
      {"stop", "daemons shut down gracefully"},
      {"ps", "live daemons: pid, uptime, sites, workers, RSS, jobs/s"}};
  app_ = parent->add_subcommand(name, kHelp.at(name));
  Message probe;
  probe.cmd = name;
  if (probe.TakesSite()) {
    app_->add_option("--site", site_, "only this site")->type_name("SITE");
  }
  if (name == "ps") {
    app_->add_flag("--json", json_, "one JSON object per daemon per line");
  }
  app_->add_option("--host", host_, "only the daemons of this host")
      ->type_name("HOST");
  app_->add_option("--timeout", timeout_,
                   "how long to wait for the answers (default 5s)")
      ->type_name("DURATION");
  app_->add_option("--secret-file", secret_file_,
                   "sign with this secret (default: control.secret_file)")
      ->type_name("PATH");
}

int ControlCommand::Run(CtlContext* ctx) {
  milliseconds timeout{0};
  std::string secret;
  Status s = Options(*ctx, &timeout, &secret);
  if (!s.ok()) return Fail(kExitUsage, s);
  RedisConn* conn = nullptr;
  std::vector<Daemon> live;
  s = ctx->ConnectDaemon(&conn);
  if (s.ok()) s = ListDaemons(conn, &live);
  Message cmd = Message::Make(name_);
  cmd.site = site_;
  cmd.host = host_;
  cmd.id = ctx->selected_id();
  Answers answers;
  if (s.ok()) s = Select(*ctx, conn->name(), live, cmd, &answers);
  if (!s.ok()) return Fail(kExitRuntime, s);
  std::string waited;
  s = Send(conn, cmd, secret, timeout, &answers, &waited);
  int code = Report(answers, waited);
  return s.ok() ? code : Fail(kExitRuntime, s);
}

Status ControlCommand::Select(const CtlContext& ctx, const std::string& server,
                              const std::vector<Daemon>& live,
                              const Message& cmd, Answers* answers) const {
  std::string names;
  for (const Daemon& d : live) {
    names += (names.empty() ? "" : ", ") + d.Name();
    if (cmd.Selects(d.host, d.id)) (*answers)[d.Name()].listed = true;
  }
  if (!answers->empty()) return Status::Ok();
  return Status::Error("no live daemon" + Selection(ctx) + " in " + server +
                       " (live: " + (names.empty() ? "none" : names) + ")");
}

Status ControlCommand::Send(RedisConn* conn, const Message& cmd,
                            const std::string& secret, milliseconds timeout,
                            Answers* answers, std::string* waited) {
  ReplyPtr published;
  Status s = conn->Call(
      {"PUBLISH", kControlChannel, SealControl(cmd.Encode(), secret)},
      &published);
  if (!s.ok()) return s;
  *waited = "within " + FormatDuration(timeout);
  if (published->type == REDIS_REPLY_INTEGER && published->integer == 0) {
    *waited = "(nothing subscribes to qd:control: control disabled?)";
    return Status::Ok();
  }
  s = Collect(conn, cmd, timeout, answers);
  if (s.ok()) (void)conn->Call({"DEL", cmd.reply_to});  // tidy; may fail
  return s;
}

Status ControlCommand::Options(const CtlContext& ctx, milliseconds* timeout,
                               std::string* secret) const {
  Status s = ParseDuration(timeout_, timeout);
  if (!s.ok()) return Status::Error("--timeout: " + s.message());
  if (timeout->count() <= 0) {
    return Status::Error("--timeout: expected a duration > 0, got " + timeout_);
  }
  if (secret_file_.empty()) {
    *secret = ctx.config().control.secret;
    return Status::Ok();
  }
  return ReadControlSecret(secret_file_, secret);
}

// " with id X on host H", or "" when every daemon is selected.
std::string ControlCommand::Selection(const CtlContext& ctx) const {
  std::string out;
  if (!ctx.selected_id().empty()) out += " with id " + ctx.selected_id();
  if (!host_.empty()) out += " on host " + host_;
  return out;
}

Status ControlCommand::ListDaemons(RedisConn* conn, std::vector<Daemon>* out) {
  std::set<std::string> keys;  // SCAN may return a key twice
  std::string cursor = "0";
  do {
    ReplyPtr r;
    Status s =
        conn->Call({"SCAN", cursor, "MATCH", kDaemonKeys, "COUNT", "100"}, &r);
    if (!s.ok()) return s;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
      return conn->Error("unexpected SCAN reply");
    }
    cursor = String(r->element[0]);
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      keys.insert(String(r->element[1]->element[i]));
    }
  } while (cursor != "0" && !cursor.empty());
  for (const std::string& key : keys)
    conn->Append({"HMGET", key, "host", "id"});
  for (size_t i = 0; i < keys.size(); ++i) {
    ReplyPtr r;
    Status s = conn->Read(&r);
    if (!s.ok()) return s;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) continue;
    Daemon d{String(r->element[0]), String(r->element[1])};
    if (!d.host.empty() && !d.id.empty()) out->push_back(std::move(d));
  }
  return Status::Ok();
}

Status ControlCommand::Collect(RedisConn* conn, const Message& cmd,
                               milliseconds timeout, Answers* answers) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto waiting = [&] {
    return std::any_of(answers->begin(), answers->end(), [](const auto& e) {
      return e.second.listed && !e.second.answered;
    });
  };
  while (waiting()) {
    auto left = std::chrono::duration_cast<milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    char seconds[32];  // >= 0.001: BLPOP's 0 would block for ever
    std::snprintf(seconds, sizeof(seconds), "%.3f",
                  std::min(left, kMaxBlock).count() / 1000.0);
    ReplyPtr r;
    Status s = conn->Call({"BLPOP", cmd.reply_to, seconds}, &r);
    if (!s.ok()) return s;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
      Take(*r->element[1], cmd, answers);
    }
  }
  // Answers already in, from daemons that were not listed (just started).
  for (;;) {
    ReplyPtr r;
    Status s = conn->Call({"LPOP", cmd.reply_to}, &r);
    if (!s.ok()) return s;
    if (r->type != REDIS_REPLY_STRING) return Status::Ok();
    Take(*r, cmd, answers);
  }
}

void ControlCommand::Take(const redisReply& value, const Message& cmd,
                          Answers* answers) {
  ControlReply reply;
  Status s = ControlReply::Decode(String(&value), &reply);
  if (!s.ok() || reply.req != cmd.req) {
    Fail(kExitRuntime,
         Status::Error("ignored an answer: " +
                       (s.ok() ? "for another request" : s.message())));
    return;
  }
  Answer& a = (*answers)[reply.host + ":" + reply.id];
  if (a.answered) return;  // the first answer of a daemon counts
  a.answered = true;
  a.reply = std::move(reply);
}

int ControlCommand::Report(const Answers& answers,
                           const std::string& waited) const {
  int code = kExitOk;
  std::vector<const ControlReply*> rows;
  std::vector<std::string> lines;
  for (const auto& [name, a] : answers) {
    if (!a.answered || !a.reply.ok) code = kExitRuntime;
    if (name_ == "ps" && a.answered && a.reply.ok) {
      rows.push_back(&a.reply);
    } else {
      lines.push_back(Line(name, a, waited));
    }
  }
  if (name_ != "ps") {
    for (const std::string& line : lines) std::printf("%s\n", line.c_str());
    return code;
  }
  if (json_) {
    PrintJson(rows);
  } else {
    PrintTable(rows);
  }
  for (const std::string& line : lines) {
    std::fprintf(stderr, "queuectl: %s\n", line.c_str());
  }
  return code;
}

void ControlCommand::PrintJson(const std::vector<const ControlReply*>& rows) {
  for (const ControlReply* r : rows) {
    nlohmann::json data =
        r->data.is_object() ? r->data : nlohmann::json::object();
    if (!data.contains("host")) data["host"] = r->host;
    if (!data.contains("id")) data["id"] = r->id;
    if (!data.contains("pid")) data["pid"] = r->pid;
    std::printf("%s\n", data.dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace)
                            .c_str());
  }
}

std::string ControlCommand::Line(const std::string& name, const Answer& a,
                                 const std::string& waited) {
  if (!a.answered) return name + ": no answer " + waited;
  return name + " pid " + std::to_string(a.reply.pid) + ": " +
         (a.reply.ok ? "ok" : "FAILED") + " - " + a.reply.message;
}

void ControlCommand::PrintTable(const std::vector<const ControlReply*>& rows) {
  std::vector<std::vector<std::string>> table = {{"HOST", "ID", "PID", "UPTIME",
                                                  "SITES", "WORKERS", "RSS",
                                                  "JOBS/S", "PAUSED"}};
  for (const ControlReply* r : rows) {
    const nlohmann::json& d = r->data.is_object() ? r->data : nlohmann::json();
    std::string workers = Text(d, "workers");
    if (d.contains("threads")) workers += "/" + Text(d, "threads");
    table.push_back(
        {r->host, r->id, std::to_string(r->pid),
         Number(d, "uptime_s",
                [](double s) { return Uptime(static_cast<int64_t>(s)); }),
         Text(d, "sites"), workers,
         Number(d, "rss",
                [](double b) { return FormatSize(static_cast<uint64_t>(b)); }),
         Number(d, "jobs_per_s",
                [](double n) {
                  char out[32];
                  std::snprintf(out, sizeof(out), "%.1f", n);
                  return std::string(out);
                }),
         Text(d, "paused")});
  }
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace qd::ctl
