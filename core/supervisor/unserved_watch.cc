#include "core/supervisor/unserved_watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/queue/unserved_scan.h"
#include "core/util/units.h"

namespace qd {

// One look through one site, from its first SCAN to its last XLEN.
struct UnservedWatch::Look {
  Look(const SiteConfig& site, uint64_t generation, bool log,
       RedisClient* redis)
      : site(site.name),
        generation(generation),
        log(log),
        redis(redis),
        scan(site, Clock::now()) {}

  std::string site;
  uint64_t generation;
  bool log;
  RedisClient* redis;
  UnservedScan scan;
  std::vector<UnservedSnapshot> found;  // measured so far
  size_t left = 0;                      // XLEN replies to come
  bool lost = false;                    // an XLEN came back null
};

void UnservedWatch::Restart(const Config& config) {
  config_ = &config;
  ++generation_;
  std::map<std::string, SiteState> next;
  for (const auto& [name, site] : config.sites) {
    SiteState& state = next[name];
    auto was = sites_.find(name);
    if (was != sites_.end()) {
      // The last result shows until the new look ends, less the streams
      // that a queue of the new config serves.
      state.checked_ms = was->second.checked_ms;
      for (const UnservedSnapshot& u : was->second.found) {
        if (UnservedScan::IsUnserved(site, u.key)) state.found.push_back(u);
      }
      state.more = was->second.more;
    }
    state.generation = generation_;
    state.due = Clock::now();
  }
  sites_ = std::move(next);
  Tick();
}

void UnservedWatch::Tick() {
  if (config_ == nullptr) return;
  Clock::time_point now = Clock::now();
  for (auto& [name, state] : sites_) {
    if (state.running || now < state.due) continue;
    auto site = config_->sites.find(name);
    if (site != config_->sites.end()) Start(site->second, &state);
  }
}

void UnservedWatch::Fill(std::vector<SiteSnapshot>* sites) const {
  for (SiteSnapshot& site : *sites) {
    auto it = sites_.find(site.name);
    if (it == sites_.end()) continue;
    site.unserved_checked_ms = it->second.checked_ms;
    site.unserved = it->second.found;
    site.unserved_more = it->second.more;
  }
}

void UnservedWatch::Start(const SiteConfig& site, SiteState* state) {
  RedisClient* redis = client_for_(site);
  if (redis == nullptr || !redis->connected()) return;  // next tick
  auto look =
      std::make_shared<Look>(site, state->generation, state->log_next, redis);
  state->running = true;
  Step(look);
}

void UnservedWatch::Step(const std::shared_ptr<Look>& look) {
  if (look->scan.done()) return Measure(look);
  std::vector<std::string> command = look->scan.Command();
  bool sent = look->redis->Command(
      {command.begin(), command.end()}, [this, look](redisReply* reply) {
        if (Current(*look) == nullptr) return;  // a reload came since
        Status s = look->scan.Take(reply, Clock::now());
        if (!s.ok()) return Finish(look, s);
        Step(look);
      });
  if (!sent) Finish(look, Status::Error("not connected"));
}

void UnservedWatch::Measure(const std::shared_ptr<Look>& look) {
  look->left = look->scan.keys().size();
  if (look->left == 0) return Finish(look, Status::Ok());
  for (const std::string& key : look->scan.keys()) {
    bool sent = look->redis->Command(
        {"XLEN", key}, [this, look, key](redisReply* reply) {
          if (Current(*look) == nullptr) return;
          if (reply == nullptr) look->lost = true;
          // An error (the key holds another type since the SCAN) drops it.
          if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) {
            look->found.push_back({key, reply->integer});
          }
          if (--look->left > 0) return;
          Finish(look,
                 look->lost ? Status::Error("connection lost") : Status::Ok());
        });
    if (!sent) {
      // The connection dropped before this XLEN went out: those sent
      // already come back null, then the look ends as lost.
      look->lost = true;
      if (--look->left == 0) Finish(look, Status::Error("not connected"));
    }
  }
}

void UnservedWatch::Finish(const std::shared_ptr<Look>& look,
                           const Status& status) {
  SiteState* state = Current(*look);
  if (state == nullptr) return;
  state->running = false;
  if (!status.ok()) {
    state->due = Clock::now() + kRetry;
    if (look->log && !state->failure_logged) {
      state->failure_logged = true;
      spdlog::warn(
          "site {}: could not look for streams that no queue serves: {}; "
          "trying again every {}s",
          look->site, status.message(), kRetry.count());
    }
    return;
  }
  state->due = Clock::now() + kRescan;
  state->checked_ms = EpochMs();
  state->found = look->found;  // by key: the XLENs were sent in key order
  state->more = look->scan.more();
  if (look->log) {
    state->log_next = false;
    LogFound(*look);
  }
}

UnservedWatch::SiteState* UnservedWatch::Current(const Look& look) {
  auto it = sites_.find(look.site);
  if (it == sites_.end() || it->second.generation != look.generation) {
    return nullptr;
  }
  return &it->second;
}

// Keys come from Redis and may hold any byte: the log escapes every
// message (core/config/log.h).
void UnservedWatch::LogFound(const Look& look) {
  size_t listed = 0;
  for (const UnservedSnapshot& s : look.found) {
    if (listed++ == kMaxLogged) break;
    spdlog::warn(
        "site {}: stream {} is not served: no queue {} in the config ({} "
        "entries); add the queue to the site, or delete the stream",
        look.site, s.key, look.scan.QueueOf(s.key), s.length);
  }
  size_t rest = look.found.size() - std::min(look.found.size(), kMaxLogged);
  if (rest > 0 || look.scan.more()) {
    spdlog::warn("site {}: and {} more streams that no queue serves{}",
                 look.site, rest,
                 look.scan.more()
                     ? ", and others beyond the " +
                           std::to_string(UnservedScan::kMaxStreams) + " kept"
                     : "");
  }
  if (!look.scan.cut_short().empty()) {
    spdlog::warn(
        "site {}: the look for streams that no queue serves {}; there may "
        "be more",
        look.site, look.scan.cut_short());
  }
}

}  // namespace qd
