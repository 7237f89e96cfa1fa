#include "core/lease_keeper.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "core/queue_keys.h"
#include "core/site_consumer.h"

namespace qd {
namespace {
constexpr std::chrono::milliseconds kTick(100);
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

void LeaseKeeper::Begin(SiteConsumer* site, int queue, const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  site_ = site;
  queue_ = queue;
  id_ = id;
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
    Renew(site_, site_->queues()[queue_].key, id_);
    last->second = Clock::now();
  }
}

void LeaseKeeper::Renew(SiteConsumer* site, const std::string& running_key,
                        const std::string& running_id) {
  redisContext* c = Connection(site);
  if (c == nullptr) return;
  size_t sent = 0;
  for (const auto& q : site->queues()) {
    std::vector<std::string> args = {"XCLAIM", q.key, QueueKeys::kGroup,
                                     site->consumer(), "0"};
    if (q.key == running_key) args.push_back(running_id);
    for (const auto& job : q.ready) args.push_back(job.id);
    if (args.size() == 5) continue;
    args.push_back("JUSTID");
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(),
                           lens.data());
    ++sent;
  }
  for (size_t i = 0; i < sent; ++i) {
    void* reply = nullptr;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      spdlog::warn("lease keeper: {}", c->errstr);
      redisFree(c);
      connections_.erase(site->url().Describe());
      return;
    }
    freeReplyObject(reply);
  }
  spdlog::debug("lease keeper: renewed the leases of site {}", site->name());
}

redisContext* LeaseKeeper::Connection(SiteConsumer* site) {
  const RedisUrl& url = site->url();
  auto it = connections_.find(url.Describe());
  if (it != connections_.end()) return it->second;
  timeval tv = {1, 0};
  redisContext* c =
      url.is_unix ? redisConnectUnixWithTimeout(url.host.c_str(), tv)
                  : redisConnectWithTimeout(url.host.c_str(), url.port, tv);
  if (c == nullptr || c->err != 0) {
    if (c != nullptr) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, tv);
  if (url.db != 0) {
    freeReplyObject(redisCommand(c, "SELECT %d", url.db));
  }
  connections_[url.Describe()] = c;
  return c;
}

}  // namespace qd
