// Reliable queues end to end: the real daemon, a real redis-server, jobs
// enqueued with plain Redis commands, and the testkit plugin recording every
// run in a file.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

TEST_F(QueueTest, JobsEnqueuedWithPlainRedisRunOnceAndAreAcked) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  auto payloads = Numbered("job", 1000);
  Enqueue(redis.port(), "a", payloads);
  auto rec = WaitForAll(d, payloads, milliseconds(20000));
  size_t missing = 0, doubled = 0;
  for (const auto& p : payloads) {
    missing += rec.count(p) == 0;
    doubled += rec.count(p) && rec[p] > 1;
  }
  EXPECT_EQ(missing, 0u) << d.Log();
  EXPECT_EQ(doubled, 0u);
  // Acked and deleted: nothing left in the stream, nothing pending.
  EXPECT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(5000)));
}

TEST_F(QueueTest, KillingWorkersDuringABurstLosesNoJob) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::vector<std::string> payloads;
  for (int i = 0; i < 3000; ++i)
    payloads.push_back("sleep:1#" + std::to_string(i));
  Enqueue(redis.port(), "a", payloads);
  // Kill a worker three times while the burst runs.
  for (int k = 0; k < 3; ++k) {
    size_t before = ReadRecord(Record(d)).size();
    WaitFor([&] { return ReadRecord(Record(d)).size() > before + 200; },
            milliseconds(10000));
    kill(d.Workers()[k % 2], SIGKILL);
  }
  auto rec = WaitForAll(d, payloads, milliseconds(60000));
  size_t lost = 0, duplicates = 0;
  for (const auto& p : payloads) {
    lost += rec.count(p) == 0;
    if (rec.count(p)) duplicates += rec[p] - 1;
  }
  RecordProperty("duplicates", std::to_string(duplicates));
  EXPECT_EQ(lost, 0u) << d.Log();
  std::printf("kill -9 x3 during 3000 jobs: lost %zu, duplicates %zu\n", lost,
              duplicates);
}

TEST_F(QueueTest, FailingTwiceThenSucceedingIsRetriedFromTheDelayedSet) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", {"retry:2"});
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(Record(d))["retry:2"] == 3; },
                      milliseconds(10000)))
      << d.Log();
  EXPECT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(5000)));
  EXPECT_EQ(RedisInt(redis.port(), {"ZCARD", "qd:{a}:delayed"}), 0);
  EXPECT_EQ(RedisInt(redis.port(), {"XLEN", "qd:{a}:dead:jobs"}), 0);
}

TEST_F(QueueTest, AlwaysFailingEndsInTheDeadStreamWithItsError) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", {"throw", "fail"});
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 2, milliseconds(10000)))
      << d.Log();
  auto rec = ReadRecord(Record(d));
  EXPECT_EQ(rec["throw"], 3) << "max_attempts 3";
  EXPECT_EQ(rec["fail"], 1) << "Fail dead-letters at once";
  EXPECT_NE(d.Log().find("asked to throw"), std::string::npos) << d.Log();
}

TEST_F(QueueTest, AJobOverMaxPayloadIsDeadLetteredUnrunWithTheReason) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1, ", max_payload: 1KiB"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  std::string big(2000, 'x');
  Enqueue(redis.port(), "a", {"small-before", big, "small-after"});
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 1, milliseconds(10000)))
      << d.Log();
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(10000)))
      << d.Log();
  auto rec = ReadRecord(Record(d));
  EXPECT_EQ(rec["small-before"], 1);
  EXPECT_EQ(rec["small-after"], 1);
  EXPECT_EQ(rec[big], 0) << "never reached the handler";
  std::vector<std::string> dead =
      RedisStrings(redis.port(), {"XRANGE", "qd:{a}:dead:jobs", "-", "+"});
  std::string all;
  for (const auto& s : dead) all += s + "\n";
  EXPECT_NE(all.find("job of 2.0KiB exceeds max_payload 1.0KiB: not run"),
            std::string::npos)
      << all.substr(0, 500);
  EXPECT_NE(all.find(big), std::string::npos) << "the payload is kept";
}

TEST_F(QueueTest, AnEntryWithoutAPayloadFieldIsDeadLetteredUnrunWithTheReason) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  ASSERT_EQ(RedisPipeline(redis.port(), {{"XADD", "qd:{a}:q:jobs", "*",
                                          "paylaod", "typo", "jid", "j-1"}}),
            1u);
  Enqueue(redis.port(), "a", {"after"});
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 1, milliseconds(10000)))
      << d.Log();
  auto rec = WaitForAll(d, {"after"}, milliseconds(10000));
  EXPECT_EQ(rec.size(), 1u) << "only 'after' reached the handler";
  std::vector<std::string> dead =
      RedisStrings(redis.port(), {"XRANGE", "qd:{a}:dead:jobs", "-", "+"});
  EXPECT_NE(
      std::find(dead.begin(), dead.end(), "no \"payload\" field: not run"),
      dead.end());
  EXPECT_NE(std::find(dead.begin(), dead.end(), "typo"), dead.end())
      << "the fields are kept";
}

TEST_F(QueueTest, AJobThatKillsItsWorkerIsQuarantined) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  auto after = Numbered("after", 20);
  Enqueue(redis.port(), "a", {"crash"});
  Enqueue(redis.port(), "a", after);
  ASSERT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 1, milliseconds(20000)))
      << d.Log();
  EXPECT_TRUE(d.WaitForLog("worker died 3 times")) << d.Log();
  auto rec = WaitForAll(d, after, milliseconds(10000));
  for (const auto& p : after) EXPECT_EQ(rec[p], 1) << p;
  EXPECT_TRUE(d.WaitForWorkers(1)) << "the pool keeps serving";
}

TEST_F(QueueTest, DelayedJobsRunAfterTheirTimeNotBefore) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  auto now = std::chrono::duration_cast<milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  long long due = now + 1500;
  ASSERT_EQ(RedisPipeline(redis.port(),
                          {{"ZADD", "qd:{a}:delayed", std::to_string(due),
                            R"({"queue":"jobs","payload":"later"})"}}),
            1u);
  Enqueue(redis.port(), "a", {"now"});
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(Record(d)).count("later") == 1; },
                      milliseconds(10000)))
      << d.Log();
  std::ifstream in(Record(d));
  std::string payload, line;
  long long ran_at = 0;
  int attempt;
  while (in >> payload >> attempt >> ran_at && std::getline(in, line)) {
    if (payload == "later") break;
  }
  EXPECT_GE(ran_at, due);
  EXPECT_LE(ran_at, due + 2000);
}

TEST_F(QueueTest, RedisKilledAndRestartedMidRunLosesNothing) {
  RedisServer redis(/*aof=*/true);
  Daemon d(QueueConfig(redis.url(), 2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i)
    payloads.push_back("sleep:2#" + std::to_string(i));
  Enqueue(redis.port(), "a", payloads);
  WaitFor([&] { return ReadRecord(Record(d)).size() > 100; },
          milliseconds(10000));
  redis.Kill();
  ASSERT_TRUE(d.WaitForLog("unavailable")) << d.Log();
  ASSERT_TRUE(redis.Start());
  auto rec = WaitForAll(d, payloads, milliseconds(60000));
  size_t lost = 0;
  for (const auto& p : payloads) lost += rec.count(p) == 0;
  EXPECT_EQ(lost, 0u) << d.Log();
  EXPECT_TRUE(d.WaitForLog("reconnected to redis")) << d.Log();
  EXPECT_EQ(d.Workers().size(), 2u) << "workers stay alive through the outage";
}

TEST_F(QueueTest, AFloodedSiteDoesNotStarveAnother) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1, "", /*two_sites=*/true));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", Numbered("flood", 20000));
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(Record(d)).size() > 500; },
                      milliseconds(10000)));
  auto sent = std::chrono::steady_clock::now();
  Enqueue(redis.port(), "b", {"trickle"});
  ASSERT_TRUE(
      WaitFor([&] { return ReadRecord(Record(d)).count("trickle") == 1; },
              milliseconds(5000)))
      << d.Log();
  auto latency = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - sent);
  // Thousands of flood jobs are still queued; the trickle job went ahead.
  EXPECT_GT(Undelivered(redis, "qd:{a}:q:jobs"), 5000);
  std::printf("trickle latency behind a 20000-job flood: %lld ms\n",
              static_cast<long long>(latency.count()));
}

TEST_F(QueueTest, HupAddsAndRemovesSitesWithoutDroppingAJob) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::vector<std::string> a_jobs;
  for (int i = 0; i < 2000; ++i)
    a_jobs.push_back("sleep:1#a" + std::to_string(i));
  Enqueue(redis.port(), "a", a_jobs);
  Enqueue(redis.port(), "b", {"b-before"});
  WaitFor([&] { return ReadRecord(Record(d)).size() > 100; },
          milliseconds(10000));
  // Add site b: its waiting job runs; site a's jobs all complete meanwhile.
  std::string text = QueueConfig(redis.url(), 2, "", /*two_sites=*/true);
  for (size_t at; (at = text.find("RUN_DIR")) != std::string::npos;) {
    text.replace(at, 7, d.dir().path());
  }
  d.dir().Write("qd.yaml", text);
  d.Signal(SIGHUP);
  auto rec = WaitForAll(d, {"b-before"}, milliseconds(10000));
  EXPECT_EQ(rec["b-before"], 1) << d.Log();
  rec = WaitForAll(d, a_jobs, milliseconds(30000));
  size_t lost = 0;
  for (const auto& p : a_jobs) lost += rec.count(p) == 0;
  EXPECT_EQ(lost, 0u) << d.Log();
  EXPECT_TRUE(d.WaitForLog("gave back")) << "roll-over re-queued fetched jobs";
}

TEST_F(QueueTest, PollModeRunsEveryJobAndHoldsNoMoreThanListenMode) {
  RedisServer redis;
  std::string text = QueueConfig(redis.url(), 1);
  text.replace(text.find("  a:\n"), 5,
               "  a:\n    mode: poll\n    poll_interval: 200ms\n");
  Daemon d(text);
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  // A few jobs on an idle site: found by a poll, each run once, acked.
  auto few = Numbered("few", 20);
  Enqueue(redis.port(), "a", few);
  auto rec = WaitForAll(d, few, milliseconds(10000));
  for (const auto& p : few) EXPECT_EQ(rec[p], 1) << p << d.LogTail(20);
  EXPECT_TRUE(WaitForLen(redis, "qd:{a}:q:jobs", 0, milliseconds(5000)));
  EXPECT_EQ(Pending(redis.port()), 0);

  // A backlog: a poll that hits polls again at once, but only once the
  // worker runs low, as a listen-mode read. It holds at most two fetch
  // batches (2 x 128) plus a chunk's acks not yet flushed (64); reading on
  // at every hit took the whole backlog into the worker at once.
  std::vector<std::string> backlog;
  for (int i = 0; i < 1000; ++i)
    backlog.push_back("sleep:1#" + std::to_string(i));
  Enqueue(redis.port(), "a", backlog);
  long long most = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        most = std::max(most, Pending(redis.port()));
        return RedisInt(redis.port(), {"XLEN", "qd:{a}:q:jobs"}) == 0;
      },
      milliseconds(30000)))
      << d.LogTail(20);
  EXPECT_LE(most, 2 * 128 + 64);
  EXPECT_GT(most, 0);
  rec = ReadRecord(Record(d));
  size_t missing = 0;
  for (const auto& p : backlog) missing += rec[p] != 1;
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(Pending(redis.port()), 0) << "nothing left pending";
  std::printf("poll mode, 1000-job backlog: at most %lld held\n", most);
}

TEST(QueueStartupTest, AnUnknownHandlerIsRefusedNamingSiteQueueAndHandler) {
  TempDir dir;
  std::string text;
  EXPECT_EQ(
      CheckConfig(dir, "qd.yaml",
                  "sites:\n  s1:\n    queues:\n      q1: { handler: nope }\n",
                  &text),
      1);
  EXPECT_NE(text.find("sites.s1.queues.q1.handler: unknown handler 'nope'"),
            std::string::npos)
      << text;
}

TEST(QueueStartupTest, APluginBuiltForAnotherAbiIsRefused) {
  TempDir dir;
  std::string text;
  EXPECT_EQ(CheckConfig(dir, "qd.yaml",
                        "plugins: { dir: " + TestPluginDir() +
                            ", load: [bad_abi] }\nsites:\n  s1:\n    queues:\n"
                            "      q1: { handler: noop }\n",
                        &text),
            1);
  EXPECT_NE(text.find("bad_abi.so"), std::string::npos) << text;
  EXPECT_NE(text.find("ABI"), std::string::npos) << text;
}

}  // namespace
}  // namespace qd::test

namespace qd::test {
namespace {

TEST_F(QueueTest, SiteFlagServesOnlyTheNamedSites) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 2, "", /*two_sites=*/true),
           {"--site", "a"});
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis.port(), "b", Numbered("b", 20));
  Enqueue(redis.port(), "a", Numbered("a", 20));
  auto rec = WaitForAll(d, Numbered("a", 20), milliseconds(10000));
  for (const auto& [payload, runs] : rec) {
    EXPECT_EQ(payload[0], 'a') << payload << " ran on a daemon serving a only";
  }
  EXPECT_EQ(RedisInt(redis.port(), {"XLEN", "qd:{b}:q:jobs"}), 20);
}

TEST_F(QueueTest, AnUnknownSiteFlagIsRefusedAtStart) {
  RedisServer redis;
  Daemon d(QueueConfig(redis.url(), 1), {"--site", "nope"});
  EXPECT_EQ(d.WaitExit(), 1);
  EXPECT_NE(d.Log().find("--site nope: no such site in"), std::string::npos)
      << d.Log();
  EXPECT_NE(d.Log().find("(sites: a)"), std::string::npos) << d.Log();
}

}  // namespace
}  // namespace qd::test
