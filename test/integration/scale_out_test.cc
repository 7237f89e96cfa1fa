// Scale-out (README, "Scaling out"): several daemons on one Redis share
// the work and take over a dead one's jobs, stale consumers are forgotten,
// sites live on different Redis servers, and a Sentinel failover is
// followed. Real redis-server, redis-sentinel and queuedaemon processes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"
#include "sentinel_set.h"

namespace qd::test {
namespace {

using std::chrono::steady_clock;

// The testkit config of QueueConfig with the daemon's `id` and site a's
// `site_extra` (e.g. consumer_idle_limit) added.
std::string ScaleConfig(const std::string& redis, int threads,
                        const std::string& id,
                        const std::string& queue_extra = "",
                        const std::string& site_extra = "") {
  std::string text =
      QueueConfig(redis, threads, queue_extra, false, "  id: " + id + "\n");
  std::string site = "  a:\n    queues:\n";
  text.replace(text.find(site), site.size(),
               "  a:\n" + site_extra + "    queues:\n");
  return text;
}

// The consumers of site a's queue group, by name.
std::set<std::string> Consumers(int port) {
  std::vector<std::string> all =
      RedisStrings(port, {"XINFO", "CONSUMERS", "qd:{a}:q:jobs", "workers"});
  std::set<std::string> names;
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    if (all[i] == "name") names.insert(all[i + 1]);
  }
  return names;
}

bool HasConsumerOf(const std::set<std::string>& consumers,
                   const std::string& id) {
  for (const auto& name : consumers) {
    if (name.find(":" + id + ":") != std::string::npos) return true;
  }
  return false;
}

// Entries of site a's queue delivered and not acked.
long long Pending(int port) {
  std::vector<std::string> summary =
      RedisStrings(port, {"XPENDING", "qd:{a}:q:jobs", "workers"});
  return summary.empty() ? -1 : std::stoll(summary[0]);
}

// How many records of `rec` match `want` (each payload once).
size_t Covered(const std::map<std::string, int>& rec,
               const std::vector<std::string>& want) {
  size_t n = 0;
  for (const auto& p : want) n += rec.count(p);
  return n;
}

std::map<std::string, int> Union(const std::map<std::string, int>& a,
                                 const std::map<std::string, int>& b) {
  std::map<std::string, int> all = a;
  for (const auto& [p, n] : b) all[p] += n;
  return all;
}

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

// A master, a replica and three Sentinels: the master is killed in the
// middle of a run. Jobs the replica had (WAIT said so) before the kill all
// run; so do jobs enqueued on the new master after the failover.
TEST(ScaleOutTest, ASentinelFailoverIsFollowedAndNoAcknowledgedJobIsLost) {
  SentinelSet set;
  std::string redis =
      "{ sentinel: " + set.SentinelList() + ", master: " + set.name() + " }";
  Daemon d(ScaleConfig(redis, 2, "sentinel"));
  ASSERT_TRUE(d.WaitForWorkers(2));
  std::vector<std::string> before = Numbered("sleep:1:before", 2000);
  std::vector<std::vector<std::string>> cmds;
  for (const auto& p : before) {
    cmds.push_back({"XADD", "qd:{a}:q:jobs", "*", "payload", p});
  }
  cmds.push_back({"WAIT", "1", "5000"});
  ASSERT_EQ(RedisPipeline(set.master_port(), cmds), cmds.size());
  // The WAIT's reply: the replica has every one of them.
  ASSERT_EQ(RedisInt(set.master_port(), {"WAIT", "1", "5000"}), 1);
  // So does queuectl's, found through the Sentinels.
  CtlResult ctl =
      RunQueuectl(d.dir(), {"-c", "qd.yaml", "enqueue", "--replicas", "1", "a",
                            "jobs", "ctl-before"});
  ASSERT_EQ(ctl.code, 0) << ctl.err;
  before.push_back("ctl-before");

  std::string rec = d.dir().File("record.txt");
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(rec).size() >= 300; },
                      milliseconds(20000)));
  set.KillMaster();
  auto killed = steady_clock::now();
  ASSERT_TRUE(set.WaitForFailover(milliseconds(30000)));
  auto promoted = steady_clock::now();

  std::vector<std::string> after = Numbered("after", 500);
  Enqueue(set.replica_port(), "a", after);
  // The new master has no replica left: queuectl says the job may be
  // lost in the next failover (it is enqueued all the same).
  ctl = RunQueuectl(d.dir(),
                    {"-c", "qd.yaml", "enqueue", "--replicas", "1",
                     "--replicas-timeout", "200ms", "a", "jobs", "ctl-after"});
  EXPECT_EQ(ctl.code, 1);
  EXPECT_NE(ctl.err.find("only 0 of 1 replicas had it within 200ms"),
            std::string::npos)
      << ctl.err;
  after.push_back("ctl-after");
  std::map<std::string, int> r;
  steady_clock::time_point first_after{};
  ASSERT_TRUE(WaitFor(
      [&] {
        r = ReadRecord(rec);
        if (first_after == steady_clock::time_point{} && Covered(r, after) > 0)
          first_after = steady_clock::now();
        return Covered(r, before) == before.size() &&
               Covered(r, after) == after.size();
      },
      milliseconds(60000)))
      << "before: " << Covered(r, before) << " of " << before.size()
      << ", after: " << Covered(r, after) << " of " << after.size();
  size_t runs = 0;
  for (const auto& [p, n] : r) runs += n;
  auto ms = [](auto d) {
    return static_cast<long long>(
        std::chrono::duration_cast<milliseconds>(d).count());
  };
  std::printf(
      "failover %lld ms after the kill; first new job ran %lld ms after the "
      "promotion; %zu runs for %zu jobs (%zu again)\n",
      ms(promoted - killed), ms(first_after - promoted), runs,
      before.size() + after.size(), runs - before.size() - after.size());
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(set.replica_port(), {"XLEN", "qd:{a}:q:jobs"}) == 0;
      },
      milliseconds(10000)));
  EXPECT_GE(d.LogCount("(master " + set.name() + ")"), 1u) << d.LogTail(30);

  // queuectl finds the new master through the Sentinels too.
  CtlResult stats = RunQueuectl(d.dir(), {"-c", "qd.yaml", "stats"});
  EXPECT_EQ(stats.code, 0) << stats.err;
}

// An ACL user without ROLE (it is in @admin) on Sentinel-found servers:
// the daemon warns once and runs its jobs all the same.
TEST(ScaleOutTest, AUserNotAllowedRoleIsLetInWithAWarning) {
  SentinelSet set;
  for (int port : {set.master_port(), set.replica_port()}) {
    ASSERT_EQ(RedisStrings(port, {"ACL", "SETUSER", "qd", "on", ">s3cret-pw",
                                  "~*", "&*", "+@all", "-role"}),
              std::vector<std::string>{"OK"});
  }
  std::string redis = "{ sentinel: " + set.SentinelList() +
                      ", master: " + set.name() +
                      ", username: qd, password_env: QD_TEST_PW }";
  Daemon d(ScaleConfig(redis, 1, "norole"), {}, {"QD_TEST_PW=s3cret-pw"});
  ASSERT_TRUE(d.WaitForWorkers(1));
  std::vector<std::string> want = Numbered("r", 20);
  Enqueue(set.master_port(), "a", want);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Covered(ReadRecord(d.dir().File("record.txt")), want) ==
               want.size();
      },
      milliseconds(15000)))
      << d.LogTail(20);
  EXPECT_GE(d.LogCount("grant the user +role"), 1u);
  EXPECT_EQ(d.Log().find("s3cret-pw"), std::string::npos);
}

// A Redis Cluster of three masters: a site whose url names a node without
// its slot is refused at start, with what to do; named by the node that
// holds its slot, it runs (its retries through the delayed set too: the
// promoter script's keys share the slot).
TEST(ScaleOutTest, ASiteOnAClusterMustNameTheNodeOfItsSlot) {
  std::vector<std::unique_ptr<RedisServer>> nodes;
  std::vector<std::string> create = {"redis-cli", "--cluster", "create"};
  for (int i = 0; i < 3; ++i) {
    // The bus port is given: port + 10000 (the default) may not be free.
    nodes.push_back(std::make_unique<RedisServer>(
        std::vector<std::string>{"--cluster-enabled", "yes",
                                 "--cluster-config-file", "nodes.conf",
                                 "--cluster-port", std::to_string(FreePort())},
        ""));
    create.push_back("127.0.0.1:" + std::to_string(nodes.back()->port()));
  }
  create.push_back("--cluster-yes");
  TempDir dir;
  pid_t pid = Spawn(create, {}, dir.File("create.log"));
  int status = -1;
  ASSERT_TRUE(WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                      milliseconds(30000)));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << ReadFileText(dir.File("create.log"));
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& n : nodes) {
          auto info = RedisStrings(n->port(), {"CLUSTER", "INFO"});
          if (info.empty() ||
              info[0].find("cluster_state:ok") == std::string::npos) {
            return false;
          }
        }
        return true;
      },
      milliseconds(30000)));
  // The node that holds site a's slot answers; the others say MOVED.
  const std::string key = "qd:{a}:delayed";
  int owner = 0, other = 0;
  for (const auto& n : nodes) {
    (RedisInt(n->port(), {"EXISTS", key}) == 0 ? owner : other) = n->port();
  }
  ASSERT_NE(owner, 0);
  ASSERT_NE(other, 0);

  RedisServer own;  // the daemon's own Redis cannot be a Cluster
  auto config = [&](int node) {
    std::string text = QueueConfig(own.url(), 1);
    std::string site = "  a:\n    queues:\n";
    text.replace(text.find(site), site.size(),
                 "  a:\n    redis: redis://127.0.0.1:" + std::to_string(node) +
                     "\n    queues:\n");
    return text;
  };
  {
    Daemon wrong(config(other));
    EXPECT_EQ(wrong.WaitExit(), 1);
    std::string log = wrong.Log();
    EXPECT_NE(log.find("does not follow Cluster redirections"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("MOVED"), std::string::npos) << log;
    EXPECT_NE(log.find(key), std::string::npos) << log;
  }
  Daemon right(config(owner));
  ASSERT_TRUE(right.WaitForWorkers(1));
  std::vector<std::string> want = Numbered("c", 100);
  want.push_back("retry:1");
  Enqueue(owner, "a", want);
  std::map<std::string, int> r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = ReadRecord(right.dir().File("record.txt"));
        return Covered(r, want) == want.size() && r["retry:1"] == 2;
      },
      milliseconds(30000)))
      << "done " << Covered(r, want) << " of " << want.size();
}

}  // namespace
}  // namespace qd::test
