// ApiDaemons: the live daemons of every host, from the daemon hashes
// qd:{qd}:daemon:HOST:ID in the daemon's Redis (docs/architecture.md), for
// /api/v1/daemons and /api/v1/summary.
//
// The summary is polled every second by every open dashboard, so the list
// is read at most once per kMaxAge: requests within it share the last
// list, and requests that come while a read is under way wait for that
// read instead of starting their own. A read is a SCAN of the hashes (at
// most kMaxScanRounds rounds of COUNT kScanCount: a huge keyspace gives a
// partial list, flagged "partial") and one pipelined HGETALL per hash.
// Its state is shared with the Redis callbacks, so destroying the reader
// while a read is under way is safe (the waiters are answered by their
// connections' deadlines). Single-threaded: the master's loop.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/redis/redis_client.h"

namespace qd {

class ApiDaemons {
 public:
  static constexpr auto kMaxAge = std::chrono::milliseconds(900);
  static constexpr int kMaxScanRounds = 20;
  static constexpr int kScanCount = 500;
  // At most this many waiters; more are answered at once with the last
  // list (or 503 when there is none).
  static constexpr size_t kMaxWaiters = 256;

  // `ok` false: `why` says why there is no list (Redis down).
  using Done = std::function<void(bool ok, const nlohmann::json& daemons,
                                  const std::string& why)>;

  explicit ApiDaemons(RedisClient* redis);

  // The list, now or once read: [{id, host, pid, started_at, last_seen,
  // threads, ready, sites, rss_bytes, version, workers}] sorted by host
  // and id ("workers" from the hash's "slots", [] when it has none).
  void Get(Done done);

  // One daemon hash (HGETALL's flat reply) as a list entry.
  static nlohmann::json FromHash(const redisReply* reply);

 private:
  struct State;
  static void Scan(const std::shared_ptr<State>& state,
                   const std::string& cursor, int round);
  static void Fetch(const std::shared_ptr<State>& state);
  static void Finish(const std::shared_ptr<State>& state, bool ok,
                     const std::string& why);

  std::shared_ptr<State> state_;
};

}  // namespace qd
