#include "scripts/queuectl/dead_command.h"

#include <cstdio>
#include <ctime>

#include "core/queue/queue_keys.h"
#include "core/util/units.h"
#include "scripts/queuectl/dead_retrier.h"
#include "scripts/queuectl/exit_code.h"
#include "scripts/queuectl/job_writer.h"

namespace qd::ctl {
namespace {

// The dead stream of the promoter's refusals (core/queue/promoter_script.h).
constexpr const char* kMalformed = "_malformed";

}  // namespace

DeadCommand::DeadCommand(CLI::App* parent) {
  app_ = parent->add_subcommand("dead", "jobs that ran out of attempts");
  app_->require_subcommand(1);
  list_ = AddSub("list", "show the oldest dead entries of a queue");
  list_->add_option("--count", count_, "how many (0 = all)")
      ->capture_default_str();
  list_->add_flag("--json", json_, "print JSON");
  retry_ = AddSub("retry", "move dead entries back to their queue");
  retry_->add_option("ids", ids_, "entry ids (ms-seq)");
  retry_->add_flag("--all", all_, "every entry");
  purge_ = AddSub("purge", "delete dead entries");
  purge_->add_option("--older-than", older_than_,
                     "dead-lettered longer ago than this (e.g. 7d)");
  purge_->add_flag("--all", all_, "every entry");
}

CLI::App* DeadCommand::AddSub(const char* name, const char* help) {
  CLI::App* sub = app_->add_subcommand(name, help);
  sub->add_option("site", site_, "the site")->required();
  sub->add_option("queue", queue_, "the queue")->required();
  return sub;
}

int DeadCommand::Run(CtlContext* ctx) {
  if (list_->parsed()) return List(ctx);
  if (retry_->parsed()) return Retry(ctx);
  return Purge(ctx);
}

int DeadCommand::Open(CtlContext* ctx, const SiteConfig** site,
                      RedisConn** conn) const {
  Status s = ctx->Site(site_, site);
  // _malformed holds delayed members the promoter refused; they name no
  // queue of the site, so they cannot go back to one: fix them and ZADD
  // them again.
  if (s.ok() && queue_ == kMalformed && retry_->parsed()) {
    s = Status::Error("dead retry: " + std::string(kMalformed) +
                      " entries are refused delayed members; fix the "
                      "member (its payload field) and ZADD it again");
  } else if (s.ok() && queue_ != kMalformed) {
    s = ctx->Queue(**site, queue_);
  }
  if (!s.ok()) return Fail(kExitUsage, s);
  s = ctx->Connect(**site, conn);
  return s.ok() ? kExitOk : Fail(kExitRuntime, s);
}

int DeadCommand::List(CtlContext* ctx) {
  const SiteConfig* site = nullptr;
  RedisConn* conn = nullptr;
  if (int code = Open(ctx, &site, &conn); code != kExitOk) return code;
  std::string key = QueueKeys::Dead(site->prefix, site->name, queue_);
  ReplyPtr total, range;
  Status s = conn->Call({"XLEN", key}, &total);
  std::vector<std::string_view> xrange = {"XRANGE", key, "-", "+"};
  std::string count = std::to_string(count_);
  if (count_ > 0) xrange.insert(xrange.end(), {"COUNT", count});
  if (s.ok()) s = conn->Call(xrange, &range);
  if (!s.ok()) return Fail(kExitRuntime, s);
  std::vector<DeadEntry> entries;
  DeadEntry::FromRange(*range, &entries);
  if (json_) {
    PrintJson(entries, total->integer);
  } else {
    PrintTable(entries, total->integer);
  }
  return kExitOk;
}

int DeadCommand::Retry(CtlContext* ctx) {
  if (all_ == !ids_.empty()) {
    return Fail(kExitUsage, Status::Error("dead retry: give ids or --all"));
  }
  for (const std::string& id : ids_) {
    if (!IsEntryId(id)) {
      return Fail(kExitUsage, Status::Error("dead retry: '" + id +
                                            "' is not an entry id (ms-seq)"));
    }
  }
  const SiteConfig* site = nullptr;
  RedisConn* conn = nullptr;
  if (int code = Open(ctx, &site, &conn); code != kExitOk) return code;
  DeadRetrier retrier(conn, QueueKeys::Dead(site->prefix, site->name, queue_),
                      QueueKeys::Stream(site->prefix, site->name, queue_));
  std::vector<std::string> missing;
  Status s = all_ ? retrier.RetryAll() : retrier.RetryIds(ids_, &missing);
  std::printf("retried %llu\n",
              static_cast<unsigned long long>(retrier.moved()));
  for (const std::string& id : missing) {
    Fail(kExitRuntime,
         Status::Error("dead retry: no entry " + id + " in " +
                       QueueKeys::Dead(site->prefix, site->name, queue_)));
  }
  if (!s.ok()) return Fail(kExitRuntime, s);
  return missing.empty() ? kExitOk : kExitRuntime;
}

int DeadCommand::Purge(CtlContext* ctx) {
  if (all_ == !older_than_.empty()) {
    return Fail(kExitUsage,
                Status::Error("dead purge: give --older-than D or --all"));
  }
  Duration age{0};
  Status s = all_ ? Status::Ok() : ParseDuration(older_than_, &age);
  if (!s.ok())
    return Fail(kExitUsage, Status::Error("--older-than: " + s.message()));
  const SiteConfig* site = nullptr;
  RedisConn* conn = nullptr;
  if (int code = Open(ctx, &site, &conn); code != kExitOk) return code;
  std::string key = QueueKeys::Dead(site->prefix, site->name, queue_);
  std::string min_id = std::to_string(JobWriter::NowMs() - age.count());
  ReplyPtr r;
  s = all_ ? conn->Call({"XTRIM", key, "MAXLEN", "0"}, &r)
           : conn->Call({"XTRIM", key, "MINID", min_id}, &r);
  if (!s.ok()) return Fail(kExitRuntime, s);
  std::printf("purged %lld\n", r->integer);
  return kExitOk;
}

void DeadCommand::PrintJson(const std::vector<DeadEntry>& entries,
                            long long total) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const DeadEntry& e : entries) list.push_back(e.ToJson());
  nlohmann::ordered_json out = {
      {"site", site_}, {"queue", queue_}, {"total", total}, {"entries", list}};
  std::printf("%s\n",
              out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                  .c_str());
}

void DeadCommand::PrintTable(const std::vector<DeadEntry>& entries,
                             long long total) {
  const char* row = "%-20s  %-20s  %8s  %-30s  %s\n";
  std::printf(row, "ID", "FAILED_AT", "ATTEMPTS", "ERROR", "PAYLOAD");
  for (const DeadEntry& e : entries) {
    std::printf(row, e.id.c_str(), Time(e.Field("failed_at")).c_str(),
                std::string(e.Field("attempts")).c_str(),
                Clip(e.Field("error"), 30).c_str(),
                Clip(e.Field("payload"), 40).c_str());
  }
  std::printf("(%zu of %lld shown)\n", entries.size(), total);
}

std::string DeadCommand::Clip(std::string_view text, size_t width) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    }
    if (out.size() > width) {
      out.resize(width - 3);
      return out + "...";
    }
  }
  return out;
}

std::string DeadCommand::Time(std::string_view ms) {
  if (ms.empty()) return "-";
  time_t seconds = std::atoll(std::string(ms).c_str()) / 1000;
  tm utc = {};
  char text[32];
  gmtime_r(&seconds, &utc);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

bool DeadCommand::IsEntryId(const std::string& id) {
  size_t dash = id.find('-');
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == s.npos;
  };
  return dash != std::string::npos &&
         digits(std::string_view(id).substr(0, dash)) &&
         digits(std::string_view(id).substr(dash + 1));
}

}  // namespace qd::ctl
