// Scale-out (docs/scaling-out.md): several daemons on one Redis share
// the work and take over a dead one's jobs, stale consumers are forgotten,
// a lost read is replayed, and sites live on different Redis servers. Real
// redis-server and queuedaemon processes. Sentinel and Cluster:
// redis_topology_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"
#include "scale_out_harness.h"

namespace qd::test {
namespace {

using std::chrono::steady_clock;

TEST(ScaleOutTest, TwoDaemonsShareTwentyThousandJobs) {
  RedisServer redis;
  Daemon a(ScaleConfig(redis.url(), 2, "left"));
  Daemon b(ScaleConfig(redis.url(), 2, "right"));
  ASSERT_TRUE(a.WaitForWorkers(2));
  ASSERT_TRUE(b.WaitForWorkers(2));
  // Every worker has read once (its consumer exists): all four compete.
  ASSERT_TRUE(WaitFor([&] { return Consumers(redis.port()).size() == 4; },
                      milliseconds(10000)));
  const int kJobs = 20000;
  std::vector<std::string> want = Numbered("", kJobs);
  Enqueue(redis.port(), "a", want);

  std::string rec_a = a.dir().File("record.txt");
  std::string rec_b = b.dir().File("record.txt");
  std::map<std::string, int> ra, rb;
  ASSERT_TRUE(WaitFor(
      [&] {
        ra = ReadRecord(rec_a);
        rb = ReadRecord(rec_b);
        return Covered(Union(ra, rb), want) == want.size();
      },
      milliseconds(90000)))
      << "done: " << Covered(Union(ra, rb), want) << " of " << kJobs;
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(10000)));

  size_t runs_a = 0, runs_b = 0;
  for (const auto& [p, n] : ra) runs_a += n;
  for (const auto& [p, n] : rb) runs_b += n;
  std::printf("left %zu, right %zu of %d jobs (%.0f%% / %.0f%%)\n", runs_a,
              runs_b, kJobs, 100.0 * runs_a / kJobs, 100.0 * runs_b / kJobs);
  // Exactly once each (no worker died, nothing was claimed), and both did
  // a real part of it.
  EXPECT_EQ(runs_a + runs_b, static_cast<size_t>(kJobs));
  EXPECT_GE(runs_a, kJobs / 5u);
  EXPECT_GE(runs_b, kJobs / 5u);
  EXPECT_EQ(Pending(redis.port()), 0);
}

TEST(ScaleOutTest, AHostKilledWithJobsPendingHasThemFinishedByTheOther) {
  RedisServer redis;
  std::string queue = ", visibility_timeout: 2s";
  std::string site = "    consumer_idle_limit: 1s\n";
  Daemon a(ScaleConfig(redis.url(), 2, "doomed", queue, site));
  Daemon b(ScaleConfig(redis.url(), 1, "survivor", queue, site));
  ASSERT_TRUE(a.WaitForWorkers(2));
  ASSERT_TRUE(b.WaitForWorkers(1));
  ASSERT_TRUE(WaitFor([&] { return Consumers(redis.port()).size() == 3; },
                      milliseconds(10000)));
  // 2 ms each: the run lasts long enough to crash the host in its middle.
  std::vector<std::string> want = Numbered("sleep:2:", 1500);
  Enqueue(redis.port(), "a", want);
  std::string rec_a = a.dir().File("record.txt");
  std::string rec_b = b.dir().File("record.txt");
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(rec_a).size() >= 100; },
                      milliseconds(20000)));
  EXPECT_EQ(a.Crash(), 2u);
  auto crashed = steady_clock::now();
  // The dead host's consumers hold fetched jobs that nobody will ack.
  long long held = Pending(redis.port());
  EXPECT_GT(held, 0);

  std::map<std::string, int> done;
  ASSERT_TRUE(WaitFor(
      [&] {
        done = Union(ReadRecord(rec_a), ReadRecord(rec_b));
        return Covered(done, want) == want.size();
      },
      milliseconds(60000)))
      << "done: " << Covered(done, want) << " of " << want.size();
  auto took =
      std::chrono::duration_cast<milliseconds>(steady_clock::now() - crashed);
  std::printf("%lld pending at the crash; all %zu done %lld ms after it\n",
              held, want.size(), static_cast<long long>(took.count()));
  EXPECT_GE(b.LogCount("claimed idle job"), 1u);
  ASSERT_TRUE(
      WaitFor([&] { return Pending(redis.port()) == 0; }, milliseconds(10000)));
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(10000)));
  // Nothing pending and idle past 1 s: the dead host's consumers go, the
  // survivor's stays.
  std::set<std::string> left;
  EXPECT_TRUE(WaitFor(
      [&] {
        left = Consumers(redis.port());
        return !HasConsumerOf(left, "doomed");
      },
      milliseconds(10000)));
  EXPECT_TRUE(HasConsumerOf(left, "survivor"));
}

TEST(ScaleOutTest, AConsumerHoldingJobsIsNeverForgotten) {
  RedisServer redis;
  // Before the daemon: a worker that is gone took a job and died holding
  // it (its entry waits for the visibility timeout), and another held
  // nothing. The holder is older, so never less idle than the other.
  const std::string key = "qd:{a}:q:jobs";
  ASSERT_EQ(
      RedisPipeline(redis.port(),
                    {{"XGROUP", "CREATE", key, "workers", "0", "MKSTREAM"},
                     {"XADD", key, "*", "payload", "held"},
                     {"XREADGROUP", "GROUP", "workers", "holder:0", "COUNT",
                      "1", "STREAMS", key, ">"},
                     {"XGROUP", "CREATECONSUMER", key, "workers", "gone:0"}}),
      4u);
  ASSERT_EQ(Pending(redis.port()), 1);
  Daemon d(ScaleConfig(redis.url(), 1, "live", ", visibility_timeout: 1h",
                       "    consumer_idle_limit: 1s\n"));
  ASSERT_TRUE(d.WaitForWorkers(1));
  // One sweep judged both: the idle one went, the holder stayed.
  ASSERT_TRUE(WaitFor([&] { return !Consumers(redis.port()).count("gone:0"); },
                      milliseconds(10000)))
      << d.LogTail(20);
  std::set<std::string> now = Consumers(redis.port());
  EXPECT_TRUE(now.count("holder:0")) << "forgotten while holding a job";
  EXPECT_TRUE(HasConsumerOf(now, "live"));
  EXPECT_EQ(Pending(redis.port()), 1);
}

// A read whose reply was lost (Redis restarted from its AOF, a failover, a
// dropped connection) left entries pending for the worker without its
// knowing. Made here exactly: in one transaction, entries are added and
// read as the worker's consumer; then the worker's connections are
// killed. The reconnected worker replays them at once, not after the
// visibility timeout (an hour here), and counts no death.
TEST(ScaleOutTest, AReadWhoseReplyWasLostRunsAfterTheReconnect) {
  RedisServer redis;
  Daemon d(ScaleConfig(redis.url(), 1, "lost", ", visibility_timeout: 1h"));
  ASSERT_TRUE(d.WaitForWorkers(1));
  std::set<std::string> consumers;
  ASSERT_TRUE(WaitFor(
      [&] {
        consumers = Consumers(redis.port());
        return consumers.size() == 1;
      },
      milliseconds(10000)));
  const std::string key = "qd:{a}:q:jobs";
  std::vector<std::string> want = Numbered("lost", 5);
  std::vector<std::vector<std::string>> cmds = {{"MULTI"}};
  for (const auto& p : want) cmds.push_back({"XADD", key, "*", "payload", p});
  cmds.push_back({"XREADGROUP", "GROUP", "workers", *consumers.begin(), "COUNT",
                  "5", "STREAMS", key, ">"});
  cmds.push_back({"EXEC"});
  ASSERT_EQ(RedisPipeline(redis.port(), cmds), cmds.size());
  ASSERT_EQ(Pending(redis.port()), 5);
  EXPECT_EQ(Covered(ReadRecord(d.dir().File("record.txt")), want), 0u);
  EXPECT_GE(RedisInt(redis.port(),
                     {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}),
            2);
  std::map<std::string, int> r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = ReadRecord(d.dir().File("record.txt"));
        return Covered(r, want) == want.size();
      },
      milliseconds(15000)))
      << "ran " << Covered(r, want) << " of 5\n"
      << d.LogTail(20);
  EXPECT_TRUE(
      WaitFor([&] { return Pending(redis.port()) == 0; }, milliseconds(5000)));
  EXPECT_EQ(RedisInt(redis.port(), {"XLEN", "qd:{a}:dead:jobs"}), 0);
  EXPECT_GE(d.LogCount("(delivery 1)"), 5u) << d.LogTail(20);
}

// Site a on one server, site b on another: one worker serves both, each
// through its own connections, and a backlog on one does not hold up the
// other.
TEST(ScaleOutTest, TwoSitesOnTwoRedisServersBothDrainFairly) {
  RedisServer one, two;
  std::string config = QueueConfig(one.url(), 1, "", /*two_sites=*/true);
  std::string site_b = "  b:\n    queues:\n";
  config.replace(config.find(site_b), site_b.size(),
                 "  b:\n    redis: " + two.url() + "\n    queues:\n");
  Daemon d(config);
  ASSERT_TRUE(d.WaitForWorkers(1));
  std::vector<std::string> flood = Numbered("sleep:1:a", 3000);
  std::vector<std::string> few = Numbered("b", 200);
  Enqueue(one.port(), "a", flood);
  Enqueue(two.port(), "b", few);
  std::string rec = d.dir().File("record.txt");
  std::map<std::string, int> r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = ReadRecord(rec);
        return Covered(r, few) == few.size();
      },
      milliseconds(30000)));
  size_t flood_done = Covered(r, flood);
  std::printf("site b's 200 done while site a had done %zu of 3000\n",
              flood_done);
  EXPECT_LT(flood_done, flood.size() / 2);
  EXPECT_EQ(RedisInt(one.port(), {"XLEN", "qd:{b}:q:jobs"}), 0)
      << "site b's stream appeared on site a's server";
  ASSERT_TRUE(WaitFor([&] { return Covered(ReadRecord(rec), flood) == 3000; },
                      milliseconds(60000)));
  EXPECT_TRUE(WaitForLen(one, "qd:{a}:q:jobs", 0, milliseconds(10000)));
  EXPECT_TRUE(WaitForLen(two, "qd:{b}:q:jobs", 0, milliseconds(10000)));
}

}  // namespace
}  // namespace qd::test
