#include "core/queue/limit_call.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/queue/queue_keys.h"
#include "core/redis/redis_client.h"

namespace qd {

LimitCall::LimitCall(const SiteConfig& site, const std::string& holder)
    : site_(site.name),
      tag_(QueueKeys::SiteTag(site.prefix, site.name)),
      index_key_(tag_ + "limits"),
      common_(CommonArgs(site, holder)) {}

std::vector<std::string> LimitCall::CommonArgs(const SiteConfig& site,
                                               const std::string& holder) {
  std::vector<std::string> args = {
      QueueKeys::SiteTag(site.prefix, site.name), QueueKeys::kGroup,
      std::to_string(kPendLeaseMs), holder, std::to_string(site.limits.size())};
  for (const auto& [name, limit] : site.limits) {
    // A worker's slots last as long as the longest job lease of the
    // limit's queues.
    int64_t lease = 0;
    for (const auto& [queue, q] : site.queues) {
      if (q.limit == name) {
        lease = std::max<int64_t>(lease, q.visibility_timeout.count());
      }
    }
    args.push_back(name);
    args.push_back(std::to_string(limit.concurrency));
    args.push_back(std::to_string(limit.rate));
    args.push_back(std::to_string(limit.rate_window.count()));
    args.push_back(std::to_string(lease > 0 ? lease : 300000));
  }
  args.push_back(std::to_string(site.queues.size()));
  for (const auto& [name, q] : site.queues) {
    args.push_back(name);
    args.push_back(std::to_string(q.visibility_timeout.count()));
  }
  return args;
}

std::vector<std::string_view> LimitCall::Eval(const std::string& script) const {
  std::vector<std::string_view> args = {"EVAL", script, "1", index_key_};
  args.insert(args.end(), common_.begin(), common_.end());
  return args;
}

// (The log escapes what it writes.)
void LimitCall::LogHeld(const redisReply* pairs) {
  if (pairs == nullptr || pairs->type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i + 1 < pairs->elements; i += 2) {
    std::string key(ReplyString(pairs->element[i]));
    if (!log_limiter_.Allow(key)) continue;
    spdlog::error(
        "site {}: limit: jobs held back: key {} {}; they wait until it is "
        "fixed (logged at most once a minute)",
        site_, key, ReplyString(pairs->element[i + 1]));
  }
}

void LimitCall::LogError(const char* what, const redisReply* r) {
  if (!log_limiter_.Allow(std::string("error ") + what)) return;
  spdlog::error(
      "site {}: limit {}: {} (logged at most once a minute)", site_, what,
      r->type == REDIS_REPLY_ERROR ? ReplyString(r) : "unexpected reply");
}

}  // namespace qd
