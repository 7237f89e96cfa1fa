#include "core/queue/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "core/queue/limit_scripts.h"
#include "core/queue/queue_keys.h"
#include "core/queue/site_consumer.h"
#include "core/redis/argv_of.h"
#include "core/redis/redis_conn.h"

namespace qd {
namespace {
constexpr std::chrono::milliseconds kTick(100);
// Entries renewed per queue and round; a worker holds at most two fetch
// batches (128 each) per stream.
constexpr int kMaxRenewed = 4096;
}  // namespace

LeaseKeeper::LeaseKeeper() : thread_([this] { Loop(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_one();
  thread_.join();
  for (auto& [url, c] : connections_) redisFree(c);
}

void LeaseKeeper::Begin(SiteConsumer* site, int queue) {
  std::lock_guard<std::mutex> lock(mu_);
  site_ = site;
  queue_ = queue;
  started_ = Clock::now();
}

void LeaseKeeper::End() {
  std::lock_guard<std::mutex> lock(mu_);
  site_ = nullptr;
}

void LeaseKeeper::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, kTick);
    if (stop_ || site_ == nullptr) continue;
    auto quarter = site_->queues()[queue_].config->visibility_timeout / 4;
    // Timed per site, not per job: jobs fetched together age together, so a
    // run of many short jobs renews the ones still waiting too.
    auto last = renewed_at_.emplace(site_, started_).first;
    if (Clock::now() - last->second < quarter) continue;
    // Held under the lock: the loop is inside the handler until End().
    Renew(site_);
    last->second = Clock::now();
  }
}

namespace {

// Sends one pipelined round of `commands` and returns the replies (null
// entries when the connection failed; `error` says why).
std::vector<redisReply*> Pipeline(
    redisContext* c, const std::vector<std::vector<std::string>>& commands,
    std::string* error) {
  for (const auto& args : commands) {
    ArgvOf command(args);
    redisAppendCommandArgv(c, command.argc(), command.argv.data(),
                           command.lens.data());
  }
  std::vector<redisReply*> replies;
  for (size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      *error = c->errstr;
      for (auto* r : replies) freeReplyObject(r);
      return {};
    }
    replies.push_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

}  // namespace

void LeaseKeeper::Renew(SiteConsumer* site) {
  std::string why;
  redisContext* c = Connection(site, &why);
  if (c == nullptr) {
    spdlog::warn("lease keeper: cannot reach Redis at {}: {}",
                 site->url().Describe(), why);
    return;
  }
  // Every entry pending for this consumer: the running job, the ones
  // fetched but not started, and the ones a read still in flight delivered
  // (Redis counts them as ours though the blocked loop has not read them).
  std::vector<std::vector<std::string>> pending;
  for (const auto& q : site->queues()) {
    pending.push_back({"XPENDING", q.key, QueueKeys::kGroup, "-", "+",
                       std::to_string(kMaxRenewed), site->consumer()});
  }
  std::string error;
  auto replies = Pipeline(c, pending, &error);
  std::vector<std::vector<std::string>> claims;
  for (size_t i = 0; i < replies.size(); ++i) {
    redisReply* r = replies[i];
    if (r->type == REDIS_REPLY_ERROR && error.empty()) {
      error = "XPENDING: " + std::string(r->str, r->len);
    }
    std::vector<std::string> args = {"XCLAIM", pending[i][1], QueueKeys::kGroup,
                                     site->consumer(), "0"};
    if (r->type == REDIS_REPLY_ARRAY) {
      for (size_t e = 0; e < r->elements; ++e) {
        const redisReply* entry = r->element[e];
        if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1 &&
            entry->element[0]->type == REDIS_REPLY_STRING) {
          args.emplace_back(entry->element[0]->str, entry->element[0]->len);
        }
      }
    }
    freeReplyObject(r);
    if (args.size() == 5) continue;
    args.push_back("JUSTID");
    claims.push_back(std::move(args));
  }
  if (error.empty() && !claims.empty()) {
    for (auto* r : Pipeline(c, claims, &error)) {
      if (r->type == REDIS_REPLY_ERROR && error.empty()) {
        error = "XCLAIM: " + std::string(r->str, r->len);
      }
      freeReplyObject(r);
    }
  }
  RenewLimits(site, c, &error);
  // Any error drops the connection: a master demoted by a failover answers
  // the claims with READONLY, and the next renewal asks the Sentinels again.
  if (!error.empty()) {
    spdlog::warn("lease keeper: {}", error);
    redisFree(c);
    connections_.erase(site->url().Key());
    return;
  }
  spdlog::debug("lease keeper: renewed the leases of site {}", site->name());
}

// The concurrency slots this worker holds under the site's limits
// (LimitGate), with the same lease as the entries: ZADD XX, so a lease a
// sweep already dropped as expired stays dropped.
void LeaseKeeper::RenewLimits(SiteConsumer* site, redisContext* c,
                              std::string* error) {
  std::vector<LimitGate::Lease> leases = site->LimitLeases();
  if (!error->empty() || leases.empty()) return;
  std::vector<std::string> eval = {"EVAL", kLimitRenewScript, "1",
                                   leases[0].key, site->consumer()};
  for (const auto& lease : leases) {
    eval.push_back(lease.key);
    eval.push_back(std::to_string(lease.ms));
  }
  for (auto* r : Pipeline(c, {eval}, error)) {
    if (r->type == REDIS_REPLY_ERROR && error->empty()) {
      *error = "limit slots: " + std::string(r->str, r->len);
    }
    freeReplyObject(r);
  }
}

redisContext* LeaseKeeper::Connection(SiteConsumer* site, std::string* why) {
  const RedisUrl& url = site->url();
  auto it = connections_.find(url.Key());
  if (it != connections_.end()) return it->second;
  redisContext* c = RedisConn::Connect(url, {1, 0}, why);
  if (c != nullptr) connections_[url.Key()] = c;
  return c;
}

}  // namespace qd
