// Ctrl-C twice: the first SIGINT drains (the running job may finish within
// shutdown_timeout), the second kills the workers at once and the master
// exits 1 (docs/operations.md, "Signals to the master").
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST_F(QueueTest, ASecondInterruptKillsAtOnceWhileAJobRuns) {
  RedisServer redis;
  // A 30 s job and a 60 s shutdown_timeout: an exit within seconds comes
  // from the second INT, nothing else.
  Daemon d(
      "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
      "  shutdown_timeout: 60s\n  kill_grace: 500ms\n"
      "redis: " +
      redis.url() + "\nplugins: { dir: " + TestPluginDir() +
      ", load: [testkit] }\n"
      "sites:\n  a:\n    queues:\n"
      "      jobs: { handler: testkit, record: RUN_DIR/record.txt }\n");
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  pid_t worker = d.Workers()[0];
  Enqueue(redis.port(), "a", {"sleep:30000"});
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(Record(d)).size() == 1; },
                      milliseconds(10000)))
      << d.Log();

  d.Signal(SIGINT);
  ASSERT_TRUE(d.WaitForLog("SIGINT: draining 1 workers")) << d.Log();
  // Draining: the master waits for the job (half a second shows it does
  // not exit on its own).
  EXPECT_EQ(d.WaitExit(milliseconds(500)), -1) << d.Log();
  EXPECT_TRUE(Alive(worker));

  auto second = Clock::now();
  d.Signal(SIGINT);
  EXPECT_EQ(d.WaitExit(milliseconds(5000)), 1) << d.Log();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - second);
  EXPECT_LT(took.count(), 5000);
  EXPECT_TRUE(d.WaitForLog("second interrupt: killing the workers")) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return !Alive(worker); }, milliseconds(2000)));
  // The killed job is not lost: it stays pending for its slot's replay.
  std::vector<std::string> pending =
      RedisStrings(redis.port(), {"XPENDING", "qd:{a}:q:jobs", "workers"});
  ASSERT_FALSE(pending.empty());
  EXPECT_EQ(pending[0], "1");
  std::printf("second SIGINT to exit: %lld ms\n",
              static_cast<long long>(took.count()));
}

}  // namespace
}  // namespace qd::test
