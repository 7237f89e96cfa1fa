#include "core/monitor/api_daemons.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "core/config/own_keys.h"

namespace qd {
namespace {

using nlohmann::json;
constexpr const char* kDaemonKeys = OwnKeys::kDaemonPattern;

json Number(const std::string& text) {
  if (text.empty() ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return nullptr;
  }
  return std::strtoll(text.c_str(), nullptr, 10);
}

}  // namespace

struct ApiDaemons::State {
  RedisClient* redis;
  bool reading = false;
  std::chrono::steady_clock::time_point read_at{};
  bool have = false;  // `list` holds a good read
  json list = json::array();
  std::set<std::string> keys;  // of the read under way
  bool partial = false;
  std::vector<Done> waiters;
};

ApiDaemons::ApiDaemons(RedisClient* redis) : state_(std::make_shared<State>()) {
  state_->redis = redis;
}

void ApiDaemons::Get(Done done) {
  State& s = *state_;
  auto now = std::chrono::steady_clock::now();
  if (s.have && now - s.read_at < kMaxAge) return done(true, s.list, "");
  if (s.waiters.size() >= kMaxWaiters) {
    if (s.have) return done(true, s.list, "");
    return done(false, nullptr, "too many requests waiting for Redis");
  }
  s.waiters.push_back(std::move(done));
  if (s.reading) return;
  s.reading = true;
  s.keys.clear();
  s.partial = false;
  Scan(state_, "0", 0);
}

void ApiDaemons::Scan(const std::shared_ptr<State>& state,
                      const std::string& cursor, int round) {
  bool sent = state->redis->Command(
      {"SCAN", cursor, "MATCH", kDaemonKeys, "COUNT",
       std::to_string(kScanCount)},
      [state, round](redisReply* r) {
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
          return Finish(state, false,
                        r == nullptr ? "redis: connection lost"
                                     : "redis: unexpected reply to SCAN");
        }
        const redisReply* keys = r->element[1];
        for (size_t i = 0;
             keys->type == REDIS_REPLY_ARRAY && i < keys->elements; ++i) {
          state->keys.emplace(keys->element[i]->str, keys->element[i]->len);
        }
        std::string next(r->element[0]->str, r->element[0]->len);
        if (next == "0") return Fetch(state);
        if (round + 1 >= kMaxScanRounds) {
          state->partial = true;
          return Fetch(state);
        }
        Scan(state, next, round + 1);
      });
  if (!sent) {
    Finish(state, false,
           "redis: " + (state->redis->last_error().empty()
                            ? std::string("not connected")
                            : state->redis->last_error()));
  }
}

void ApiDaemons::Fetch(const std::shared_ptr<State>& state) {
  auto list = std::make_shared<json>(json::array());
  auto left = std::make_shared<size_t>(state->keys.size());
  if (*left == 0) {
    state->list = *list;
    return Finish(state, true, "");
  }
  for (const std::string& key : state->keys) {
    bool sent = state->redis->Command({"HGETALL", key}, [state, list,
                                                         left](redisReply* r) {
      if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        list->push_back(FromHash(r));  // empty: expired since the SCAN
      }
      if (--*left > 0) return;
      std::sort(list->begin(), list->end(), [](const json& a, const json& b) {
        return std::make_pair(a.value("host", ""), a.value("id", "")) <
               std::make_pair(b.value("host", ""), b.value("id", ""));
      });
      state->list = *list;
      Finish(state, r != nullptr, r == nullptr ? "redis: connection lost" : "");
    });
    if (!sent) return Finish(state, false, "redis: not connected");
  }
}

void ApiDaemons::Finish(const std::shared_ptr<State>& state, bool ok,
                        const std::string& why) {
  if (!state->reading) return;  // a failed send after an earlier finish
  state->reading = false;
  if (ok) {
    state->have = true;
    state->read_at = std::chrono::steady_clock::now();
  }
  std::vector<Done> waiters;
  waiters.swap(state->waiters);
  for (Done& done : waiters) done(ok, state->list, why);
}

json ApiDaemons::FromHash(const redisReply* r) {
  std::map<std::string, std::string> f;
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    f[std::string(r->element[i]->str, r->element[i]->len)] =
        std::string(r->element[i + 1]->str, r->element[i + 1]->len);
  }
  json sites = json::array();
  for (size_t at = 0; !f["sites"].empty() && at != std::string::npos;) {
    size_t comma = f["sites"].find(',', at);
    sites.push_back(f["sites"].substr(at, comma - at));
    at = comma == std::string::npos ? comma : comma + 1;
  }
  json workers = json::parse(f["slots"], nullptr, false);
  if (!workers.is_array()) workers = json::array();
  return {{"id", f["id"]},
          {"host", f["host"]},
          {"pid", Number(f["pid"])},
          {"started_at", Number(f["started_ms"])},
          {"last_seen", Number(f["updated_ms"])},
          {"threads", Number(f["threads"])},
          {"ready", Number(f["ready"])},
          {"sites", sites},
          {"rss_bytes", Number(f["rss"])},
          {"version", f["version"]},
          {"self", false},
          {"workers", workers}};
}

}  // namespace qd
