// A key of a queue overwritten by another program with another Redis type
// (`SET qd:{a}:q:noop x`): only that queue stops, named once in the log, in
// /healthz, /metrics and `queuectl stats`; it resumes by itself once the
// key is fixed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

// Site `a` with queues `jobs` and `noop`, both run by testkit.
std::string TwoQueueConfig(const std::string& redis_url, int http_port) {
  std::string queue =
      "{ handler: testkit, record: RUN_DIR/record.txt, max_attempts: 3 }\n";
  return "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
         "  shutdown_timeout: 5s\nredis: " +
         redis_url + "\nplugins: { dir: " + TestPluginDir() +
         ", load: [testkit] }\nmonitor: { http: 127.0.0.1:" +
         std::to_string(http_port) +
         " }\nsites:\n  a:\n    queues:\n      jobs: " + queue +
         "      noop: " + queue;
}

TEST_F(QueueTest, AKeyOfTheWrongTypeStopsOnlyItsQueueUntilFixed) {
  RedisServer redis;
  ASSERT_EQ(RedisPipeline(redis.port(), {{"SET", "qd:{a}:q:noop", "x"}}), 1u);
  int http = FreePort();
  Daemon d(TwoQueueConfig(redis.url(), http));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  // The site's other queue runs.
  auto payloads = Numbered("job", 20);
  Enqueue(redis.port(), "a", payloads);
  auto rec = WaitForAll(d, payloads, milliseconds(10000));
  for (const auto& p : payloads) ASSERT_EQ(rec[p], 1) << p << d.Log();
  // Named once, the read errors themselves not logged.
  EXPECT_TRUE(d.WaitForLog(
      "queue noop set aside: key qd:{a}:q:noop holds a string, not a stream"))
      << d.Log();
  EXPECT_EQ(d.LogCount("set aside"), 1u) << d.Log();
  EXPECT_EQ(d.LogCount("XREADGROUP"), 0u) << d.Log();
  // Shown in /healthz, /metrics and queuectl stats.
  std::string health, metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        return HttpGet(http, "/healthz", &health) == 503 &&
               health.find(
                   "site a queue noop: qd:{a}:q:noop is not a "
                   "stream") != std::string::npos;
      },
      milliseconds(10000)))
      << health;
  EXPECT_TRUE(WaitFor(
      [&] {
        return HttpGet(http, "/metrics", &metrics) == 200 &&
               metrics.find(
                   "queuedaemon_queue_key_error{site=\"a\",queue="
                   "\"noop\"} 1") != std::string::npos &&
               metrics.find(
                   "queuedaemon_queue_ready{site=\"a\",queue="
                   "\"jobs\"} 0") != std::string::npos;
      },
      milliseconds(10000)))
      << metrics;
  CtlResult stats =
      RunQueuectl(d.dir(), {"-c", "qd.yaml", "stats", "a", "--json"});
  EXPECT_EQ(stats.code, 1) << stats.err;
  EXPECT_NE(stats.err.find("site a queue noop: qd:{a}:q:noop is not a stream"),
            std::string::npos)
      << stats.err;
  auto j = nlohmann::json::parse(stats.out, nullptr, false);
  EXPECT_EQ(j["sites"]["a"]["queues"]["noop"]["error"],
            "qd:{a}:q:noop is not a stream")
      << stats.out;
  EXPECT_EQ(j["sites"]["a"]["queues"]["jobs"]["ready"], 0) << stats.out;
  // Fixed: the queue resumes by itself.
  ASSERT_EQ(RedisPipeline(redis.port(),
                          {{"DEL", "qd:{a}:q:noop"},
                           {"XADD", "qd:{a}:q:noop", "*", "payload", "fixed"}}),
            2u);
  rec = WaitForAll(d, {"fixed"}, milliseconds(40000));
  EXPECT_EQ(rec["fixed"], 1) << d.Log();
  EXPECT_TRUE(d.WaitForLog("queue noop resumed")) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return HttpGet(http, "/healthz", &health) == 200; },
                      milliseconds(10000)))
      << health;
}

}  // namespace
}  // namespace qd::test
