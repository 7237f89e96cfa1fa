// Workers that outlast their deadlines or lose Redis: shutdown_timeout,
// job timeouts and leases, the heartbeat of a stuck loop, a hung Redis
// connection. The real daemon, a real redis-server and the testkit plugin.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

// An orchestrator's deadline: TERM with jobs that outlast shutdown_timeout
// ends the master at that timeout (the workers are killed), and the jobs
// stay in Redis unacked for the slots' replay.
TEST_F(QueueTest, TermWithJobsOutlastingShutdownTimeoutEndsOnTimeLosingNone) {
  RedisServer redis;
  std::string config = QueueConfig(redis.url(), 2);
  size_t at = config.find("shutdown_timeout: 5s");
  ASSERT_NE(at, std::string::npos);
  config.replace(at, 20, "shutdown_timeout: 8s");
  const std::vector<std::string> jobs = {"sleep:20000#1", "sleep:20000#2"};
  {
    Daemon d(config);
    ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
    Enqueue(redis.port(), "a", jobs);
    ASSERT_TRUE(WaitFor([&] { return !ReadRecord(Record(d)).empty(); },
                        milliseconds(5000)))
        << d.Log();
    auto term = std::chrono::steady_clock::now();
    d.Signal(SIGTERM);
    int code = d.WaitExit(milliseconds(15000));
    long ms = std::chrono::duration_cast<milliseconds>(
                  std::chrono::steady_clock::now() - term)
                  .count();
    EXPECT_EQ(code, 1) << "shutdown_timeout passed: exit code 1\n" << d.Log();
    EXPECT_LT(ms, 9000) << d.Log();
    EXPECT_GE(ms, 7500) << "it waited for the jobs up to the timeout";
    std::printf("TERM to exit: %ld ms (shutdown_timeout 8 s)\n", ms);
  }
  // Neither job was acked nor lost: each is pending (its worker was killed)
  // or, when one worker had fetched both and gave the unstarted one back at
  // TERM, waits undelivered as a copy (the acked original stays in XLEN
  // until a trim, so XLEN may be 3).
  EXPECT_EQ(Pending(redis.port()) + Undelivered(redis, "qd:{a}:q:jobs"), 2);
  EXPECT_EQ(RedisInt(redis.port(), {"XLEN", "qd:{a}:dead:jobs"}), 0);
  // A new daemon (same consumer names) runs them again.
  Daemon again(config);
  EXPECT_TRUE(WaitFor([&] { return !ReadRecord(Record(again)).empty(); },
                      milliseconds(10000)))
      << again.Log();
  EXPECT_TRUE(again.WaitForLog("replaying")) << again.Log();
  auto workers = again.Workers();
  again.Signal(SIGKILL);  // its jobs sleep 20 s: no graceful wait here
  again.WaitExit();
  for (const auto& [slot, pid] : workers) kill(pid, SIGKILL);
}

// A handler that blocks its worker's loop (here a job of 60 s on a queue
// without a timeout) stops the heartbeat: past heartbeat_timeout the master
// kills the worker, the replacement replays the job, and after max_attempts
// deaths it is dead-lettered. The idle worker next to it beats on.
TEST_F(QueueTest, AWorkerWhoseLoopIsStuckIsKilledAndItsJobReplayed) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2, "", false, "  heartbeat_timeout: 1s\n"));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis.port(), "a", {"sleep:60000"});
  ASSERT_TRUE(
      d.WaitForLog("its loop is stuck in job a/jobs", 1, milliseconds(10000)))
      << d.Log();
  EXPECT_TRUE(d.WaitForLog("replaying", 1, milliseconds(10000))) << d.Log();
  // max_attempts 3: the third death dead-letters it.
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 1, milliseconds(20000)))
      << d.Log();
  // Acked in the script call that dead-lettered it; its entry goes at the
  // next trim.
  EXPECT_EQ(Pending(redis.port()), 0);
  EXPECT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(5000)));
  EXPECT_EQ(d.LogCount("no heartbeat for"), 3u) << d.Log();
  EXPECT_GE(ReadRecord(Record(d))["sleep:60000"], 3);
}

// A hung Redis (stopped: the connection stays open and nothing answers) is
// found by the reply timeout (heartbeat_timeout, plus the blocking read's
// wait): the worker drops its connections and reconnects; once Redis runs
// again the jobs flow.
TEST_F(QueueTest, AHungRedisConnectionIsDroppedAndMadeAgain) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1, "", false, "  heartbeat_timeout: 2s\n"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  // A job run first: the worker is past its start-up replay and its reader
  // is in its XREADGROUP BLOCK loop.
  Enqueue(redis.port(), "a", {"before"});
  ASSERT_EQ(WaitForAll(d, {"before"}, milliseconds(10000))["before"], 1)
      << d.Log();
  ASSERT_EQ(kill(redis.pid(), SIGSTOP), 0);
  // The reader (its XREADGROUP BLOCK), the writer (lease and promoter
  // ticks) and the master's own client (the monitor's hashes) all have
  // commands waiting.
  auto dropped_by = [&](const std::string& who) {
    std::istringstream log(d.Log());
    for (std::string line; std::getline(log, line);) {
      if (line.find(who + ": redis") != std::string::npos &&
          line.find("dropping the connection") != std::string::npos)
        return true;
    }
    return false;
  };
  bool dropped = WaitFor(
      [&] { return dropped_by("site a reader") && dropped_by("master"); },
      milliseconds(10000));
  ASSERT_EQ(kill(redis.pid(), SIGCONT), 0);
  ASSERT_TRUE(dropped) << d.Log();
  std::vector<std::string> jobs = Numbered("after-", 20);
  Enqueue(redis.port(), "a", jobs);
  auto rec = WaitForAll(d, jobs, milliseconds(15000));
  for (const auto& j : jobs) EXPECT_EQ(rec[j], 1) << j << "\n" << d.Log();
  EXPECT_EQ(d.LogCount("no heartbeat for"), 0u) << "the loop never stopped";
}

// A job with a timeout of its own is watched by that timeout, not by the
// heartbeat: it may block the loop past heartbeat_timeout and finish.
TEST_F(QueueTest, AJobWithItsOwnTimeoutMayOutlastTheHeartbeat) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1, ", timeout: 10s", false,
                       "  heartbeat_timeout: 1s\n"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", {"sleep:2500"});
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(10000)))
      << d.Log();
  EXPECT_EQ(d.LogCount("no heartbeat for"), 0u) << d.Log();
  // Replies that waited in the socket while the handler blocked the loop
  // are not a hung connection.
  EXPECT_EQ(d.LogCount("dropping the connection"), 0u) << d.Log();
  EXPECT_EQ(RedisInt(redis.port(), {"XLEN", "qd:{a}:dead:jobs"}), 0);
}

TEST_F(QueueTest, AJobPastItsTimeoutIsKilledAndReplayed) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1, ", timeout: 300ms"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", {"sleep:60000"});
  ASSERT_TRUE(d.WaitForLog("ran past its timeout", 1, milliseconds(10000)))
      << d.Log();
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 1, milliseconds(30000)))
      << d.Log();
  EXPECT_EQ(ReadRecord(Record(d))["sleep:60000"], 3);
}

TEST_F(QueueTest, ALongJobKeepsItsLeaseAndIsNotStolen) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2, ", visibility_timeout: 3s"));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis.port(), "a", {"sleep:4500", "sleep:4501"});
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(30000)))
      << d.Log();
  auto rec = ReadRecord(Record(d));
  EXPECT_EQ(rec["sleep:4500"], 1) << d.Log();
  EXPECT_EQ(rec["sleep:4501"], 1) << d.Log();
  EXPECT_EQ(d.LogCount("claimed idle job"), 0u) << d.Log();
}

TEST_F(QueueTest, ManyShortJobsOutlastingTheVisibilityTimeoutAreNotStolen) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2, ", visibility_timeout: 2s"));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::vector<std::string> payloads;
  for (int i = 0; i < 40; ++i)
    payloads.push_back("sleep:200#" + std::to_string(i));
  Enqueue(redis.port(), "a", payloads);
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(30000)))
      << d.Log();
  auto rec = ReadRecord(Record(d));
  for (const auto& p : payloads) EXPECT_EQ(rec[p], 1) << p;
  EXPECT_EQ(d.LogCount("claimed idle job"), 0u) << d.Log();
  if (HasFailure()) {
    std::ifstream in(Record(d));
    std::cout << in.rdbuf();
  }
}

}  // namespace
}  // namespace qd::test
