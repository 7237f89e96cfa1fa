#include "core/queue/limit_usage.h"

#include "core/queue/limit_call.h"
#include "core/queue/limit_scripts.h"
#include "core/queue/queue_keys.h"

namespace qd {

std::vector<std::string> LimitUsage::Command(const SiteConfig& site) {
  std::vector<std::string> args = {
      "EVAL", kLimitStatsScript, "1",
      QueueKeys::SiteTag(site.prefix, site.name) + "limits"};
  for (auto& arg : LimitCall::CommonArgs(site, "stats")) {
    args.push_back(std::move(arg));
  }
  return args;
}

Status LimitUsage::Parse(const std::map<std::string, LimitConfig>& limits,
                         const redisReply* r, std::vector<LimitUsage>* out) {
  if (r == nullptr) return Status::Error("limits: no reply");
  if (r->type == REDIS_REPLY_ERROR) {
    return Status::Error("limits: " + std::string(r->str, r->len));
  }
  if (r->type != REDIS_REPLY_ARRAY) {
    return Status::Error("limits: unexpected reply");
  }
  std::map<std::string, const redisReply*> rows;
  for (size_t i = 0; i < r->elements; ++i) {
    const redisReply* row = r->element[i];
    if (row->type != REDIS_REPLY_ARRAY || row->elements != 6 ||
        row->element[0]->type != REDIS_REPLY_STRING) {
      return Status::Error("limits: unexpected reply");
    }
    rows[std::string(row->element[0]->str, row->element[0]->len)] = row;
  }
  out->clear();
  for (const auto& [name, limit] : limits) {
    LimitUsage u;
    u.name = name;
    u.concurrency = limit.concurrency;
    u.rate = limit.rate;
    u.window_ms = limit.rate_window.count();
    auto it = rows.find(name);
    if (it != rows.end()) {
      auto n = [&](size_t k) {
        const redisReply* e = it->second->element[k];
        return e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
      };
      u.keys = n(1);
      u.running = n(2);
      u.pending = n(3);
      u.started = n(4);
      u.waiting = n(5);
    }
    out->push_back(std::move(u));
  }
  return Status::Ok();
}

std::string LimitUsage::Bound() const {
  std::string out;
  if (concurrency > 0) out = "concurrency " + std::to_string(concurrency);
  if (rate > 0) {
    int64_t s = window_ms / 1000;
    std::string window = s % 3600 == 0 ? std::to_string(s / 3600) + "h"
                         : s % 60 == 0 ? std::to_string(s / 60) + "m"
                                       : std::to_string(s) + "s";
    out += (out.empty() ? "" : ", ") + std::string("rate ") +
           std::to_string(rate) + "/" + window;
  }
  return out;
}

}  // namespace qd
