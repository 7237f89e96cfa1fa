// Retry delays end to end: jobs that fail are written to the site's
// delayed set due after retry_base * 2^attempt, capped at retry_max, times
// a random factor in [0.5, 1] (JobOutcomes::RetryDelay); the scores of the
// delayed set are read back with ZRANGE WITHSCORES.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

long long NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The jid of a delayed member (JSON written by the daemon), "" if none.
std::string JidOf(const std::string& member) {
  const std::string key = "\"jid\":\"";
  size_t at = member.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  return member.substr(at, member.find('"', at) - at);
}

constexpr long long kBase = 10000;  // retry_base: 10s
constexpr long long kMax = 300000;  // retry_max: 5m
constexpr int kCapped = 30;         // jobs whose delay is retry_max

TEST_F(QueueTest, RetryDelaysDoubleFromRetryBaseUpToRetryMaxWithJitter) {
  RedisServer redis;
  // Delays of 5 s and more: nothing comes due (and is run again) while the
  // test reads the set.
  Daemon d(
      "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
      "redis: " +
      redis.url() + "\nplugins: { dir: " + TestPluginDir() +
      ", load: [testkit] }\n"
      "sites:\n  a:\n    queues:\n"
      "      jobs: { handler: testkit, max_attempts: 5000, "
      "retry_base: 10s, retry_max: 5m }\n");
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  // One job per attempt 0..6 (10 s .. 320 s, the last capped), and many at
  // attempts past the cap, up to where 2^attempt is beyond any integer.
  std::map<std::string, int> attempt_of;
  for (int a = 0; a <= 6; ++a) attempt_of["a" + std::to_string(a)] = a;
  const int kLate[] = {9, 40, 41, 1000};
  for (int k = 0; k < kCapped; ++k) {
    int a = kLate[k % 4];
    attempt_of["c" + std::to_string(k) + "-" + std::to_string(a)] = a;
  }
  std::vector<std::vector<std::string>> cmds;
  for (const auto& [jid, a] : attempt_of) {
    cmds.push_back({"XADD", "qd:{a}:q:jobs", "*", "payload", "throw", "jid",
                    jid, "attempt", std::to_string(a)});
  }
  long long before = NowMs();
  ASSERT_EQ(RedisPipeline(redis.port(), cmds), cmds.size());
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis.port(), {"ZCARD", "qd:{a}:delayed"}) ==
               static_cast<long long>(attempt_of.size());
      },
      milliseconds(10000)))
      << d.Log();
  long long after = NowMs();

  // Each failure happened within [before, after]; its due time is that
  // moment plus a delay in [exp / 2, exp], exp = min(base * 2^a, max).
  std::vector<std::string> reply = RedisStrings(
      redis.port(), {"ZRANGE", "qd:{a}:delayed", "0", "-1", "WITHSCORES"});
  ASSERT_EQ(reply.size(), 2 * attempt_of.size());
  std::vector<long long> capped_scores;
  for (size_t i = 0; i + 1 < reply.size(); i += 2) {
    std::string jid = JidOf(reply[i]);
    ASSERT_EQ(attempt_of.count(jid), 1u) << reply[i];
    int a = attempt_of[jid];
    long long exp = a >= 5 ? kMax : std::min(kMax, kBase << a);
    long long score = std::stoll(reply[i + 1]);
    EXPECT_GE(score, before + exp / 2) << jid << " attempt " << a;
    EXPECT_LE(score, after + exp) << jid << " attempt " << a;
    EXPECT_NE(reply[i].find("\"attempt\":\"" + std::to_string(a + 1) + "\""),
              std::string::npos)
        << "the next attempt is counted: " << reply[i];
    if (exp == kMax) capped_scores.push_back(score);
  }
  // The jitter is spread, not a constant factor: 30 draws from a range
  // of 150 s (retry_max / 2) all within 10 s of each other would have a
  // chance below 1e-30.
  ASSERT_EQ(capped_scores.size(), size_t{kCapped + 2});  // with a5, a6
  auto [lo, hi] =
      std::minmax_element(capped_scores.begin(), capped_scores.end());
  EXPECT_GT(*hi - *lo - (after - before), 10000)
      << "scores spread over " << *hi - *lo << " ms";
}

}  // namespace
}  // namespace qd::test
