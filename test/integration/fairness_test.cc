// Weighted fairness end to end: under a flood, one worker runs the jobs of
// sites (site `weight`) and of a site's queues (queue `weight`) in
// proportion to their weights. The testkit plugin records every run in
// order, so the share of each is read from the record.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

constexpr int kFlood = 2000;  // jobs per site or queue
constexpr int kSkip = 100;    // runs left out: the first fetches' start-up
constexpr int kWindow = 800;  // runs counted after those

// The record's payloads in the order the jobs ran.
std::vector<std::string> RunOrder(const std::string& record) {
  std::vector<std::string> out;
  std::ifstream in(record);
  std::string payload, rest;
  while (in >> payload && std::getline(in, rest)) out.push_back(payload);
  return out;
}

// "sleep:2#TAG-N" x `n`: a few milliseconds each, so the flood outlasts
// the window by far.
std::vector<std::string> Flood(const std::string& tag, int n) {
  return Numbered("sleep:2#" + tag + "-", n);
}

// How many of the runs kSkip .. kSkip + kWindow carry `heavy` and `light`
// in their payload; waits for that many runs first.
std::pair<int, int> CountWindow(const Daemon& d, const std::string& heavy,
                                const std::string& light) {
  std::string record = d.dir().File("record.txt");
  std::vector<std::string> runs;
  WaitFor(
      [&] {
        runs = RunOrder(record);
        return runs.size() >= kSkip + kWindow;
      },
      milliseconds(30000));
  EXPECT_GE(runs.size(), size_t{kSkip + kWindow}) << d.LogTail(30);
  int h = 0, l = 0;
  for (size_t i = kSkip; i < runs.size() && i < kSkip + kWindow; ++i) {
    h += runs[i].find("#" + heavy + "-") != std::string::npos;
    l += runs[i].find("#" + light + "-") != std::string::npos;
  }
  return {h, l};
}

std::string Header(const std::string& redis_url) {
  return "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
         "  shutdown_timeout: 5s\n  kill_grace: 500ms\n"
         "redis: " +
         redis_url + "\nplugins: { dir: " + TestPluginDir() +
         ", load: [testkit] }\n";
}

const char kQueue[] = "{ handler: testkit, record: RUN_DIR/record.txt";

// Smooth weighted round robin gives exactly 3:1 while both have jobs
// ready. The tolerance, [2.5, 3.5] (about 25 runs out of 800 either way),
// is for the moments one side's buffer is empty while its next batch is
// on the way: the other then runs alone. Plain round robin gives 1:1.
void ExpectThreeToOne(int heavy, int light, const Daemon& d) {
  ASSERT_GT(light, 0) << d.LogTail(30);
  double ratio = static_cast<double>(heavy) / light;
  EXPECT_GE(ratio, 2.5) << heavy << ":" << light;
  EXPECT_LE(ratio, 3.5) << heavy << ":" << light;
  EXPECT_EQ(heavy + light, kWindow) << "every run is one of the two";
  std::printf("weights 3:1 -> %d:%d runs (%.2f)\n", heavy, light, ratio);
}

TEST_F(QueueTest, SitesRunInProportionToTheirWeight) {
  RedisServer redis;
  // Both floods are in Redis before the worker starts: it reads both from
  // its first fetch.
  Enqueue(redis.port(), "a", Flood("a", kFlood));
  Enqueue(redis.port(), "b", Flood("b", kFlood));
  Daemon d(Header(redis.url()) +
           "sites:\n"
           "  a:\n    weight: 3\n    queues:\n      jobs: " +
           kQueue +
           " }\n"
           "  b:\n    queues:\n      jobs: " +  // weight 1, the default
           kQueue +
           " }\n");
  auto [a, b] = CountWindow(d, "a", "b");
  ExpectThreeToOne(a, b, d);
}

TEST_F(QueueTest, QueuesOfASiteRunInProportionToTheirWeight) {
  RedisServer redis;
  std::vector<std::vector<std::string>> cmds;
  for (const char* queue : {"heavy", "light"}) {
    for (const auto& p : Flood(queue, kFlood)) {
      cmds.push_back(
          {"XADD", std::string("qd:{a}:q:") + queue, "*", "payload", p});
    }
  }
  ASSERT_EQ(RedisPipeline(redis.port(), cmds), cmds.size());
  Daemon d(Header(redis.url()) +
           "sites:\n  a:\n    queues:\n"
           "      heavy: " +
           kQueue + ", weight: 3 }\n      light: " + kQueue + " }\n");
  auto [heavy, light] = CountWindow(d, "heavy", "light");
  ExpectThreeToOne(heavy, light, d);
}

}  // namespace
}  // namespace qd::test
