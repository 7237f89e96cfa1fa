// Redis behind Sentinel and in a Cluster (docs/scaling-out.md): a
// failover followed with no acknowledged job lost, a user not allowed ROLE,
// a site that must name the Cluster node of its slot, and sites on a
// cluster that follow a slot's migration (MOVED, ASK) and a promoted
// replica. Real redis-server, redis-sentinel, redis-cli and queuedaemon
// processes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster_fixture.h"
#include "daemon_harness.h"
#include "queue_harness.h"
#include "scale_out_harness.h"
#include "sentinel_set.h"

namespace qd::test {
namespace {

using std::chrono::steady_clock;

// CLUSTER KEYSLOT of `key`, asked of the node at `port`.
long long KeySlotOf(const std::string& key, int port) {
  return RedisInt(port, {"CLUSTER", "KEYSLOT", key});
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

// The live node of `nodes` that serves `key` (other than `not_port`), or
// null: other nodes, replicas included, answer MOVED.
RedisServer* NodeOf(const std::vector<std::unique_ptr<RedisServer>>& nodes,
                    const std::string& key, int not_port = 0) {
  for (const auto& n : nodes) {
    if (n->port() != not_port && Alive(n->pid()) &&
        RedisInt(n->port(), {"EXISTS", key}) >= 0) {
      return n.get();
    }
  }
  return nullptr;
}

// Moves `slot` from the master at `from` to the one at `to` as redis-cli
// --cluster reshard does: SETSLOT IMPORTING and MIGRATING, then MIGRATE one
// key at a time (streams first: the keys the workers read all the time),
// `after_each` run after each key, then SETSLOT NODE on every master.
void MigrateSlot(
    int slot, int from, int to, const std::vector<int>& masters,
    const std::function<void(const std::string&)>& after_each =
        [](const std::string&) {}) {
  std::string s = std::to_string(slot);
  std::string from_id = RedisStrings(from, {"CLUSTER", "MYID"}).at(0);
  std::string to_id = RedisStrings(to, {"CLUSTER", "MYID"}).at(0);
  ASSERT_EQ(
      RedisStrings(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id}).at(0),
      "OK");
  ASSERT_EQ(
      RedisStrings(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id}).at(0),
      "OK");
  std::vector<std::string> keys =
      RedisStrings(from, {"CLUSTER", "GETKEYSINSLOT", s, "1000"});
  ASSERT_FALSE(keys.empty());
  std::stable_partition(keys.begin(), keys.end(), [](const std::string& k) {
    return k.find(":q:") != std::string::npos;
  });
  for (const std::string& key : keys) {
    ASSERT_EQ(RedisStrings(from, {"MIGRATE", "127.0.0.1", std::to_string(to),
                                  key, "0", "5000"})
                  .at(0),
              "OK")
        << key;
    after_each(key);
  }
  for (int port : masters) {
    ASSERT_EQ(
        RedisStrings(port, {"CLUSTER", "SETSLOT", s, "NODE", to_id}).at(0),
        "OK");
  }
}

// Kills `master` -9 and waits until a replica serves `key` in its place.
RedisServer* KillAndWaitForPromotion(
    const std::vector<std::unique_ptr<RedisServer>>& nodes, RedisServer* master,
    const std::string& key) {
  int old_port = master->port();
  master->Kill();
  RedisServer* promoted = nullptr;
  EXPECT_TRUE(WaitFor([&] { return (promoted = NodeOf(nodes, key, old_port)); },
                      milliseconds(30000)));
  return promoted;
}

// "127.0.0.1:P1, 127.0.0.1:P2, ...": every node, as the seeds.
std::string Seeds(const std::vector<std::unique_ptr<RedisServer>>& nodes) {
  std::string seeds;
  for (const auto& n : nodes) {
    seeds += (seeds.empty() ? "" : ", ") + std::string("127.0.0.1:") +
             std::to_string(n->port());
  }
  return seeds;
}

// Enqueues `payloads` on `site`'s queue at the node at `port` and waits
// until a replica has them (WAIT), when `replicated`.
void EnqueueReplicated(int port, const std::string& site,
                       const std::vector<std::string>& payloads) {
  std::vector<std::vector<std::string>> cmds;
  for (const auto& p : payloads) {
    cmds.push_back({"XADD", "qd:{" + site + "}:q:jobs", "*", "payload", p});
  }
  cmds.push_back({"WAIT", "1", "5000"});
  ASSERT_EQ(RedisPipeline(port, cmds), cmds.size());
}

// A Redis Cluster of three masters: a site whose url names a node without
// its slot is refused at start, with what to do; named by the node that
// holds its slot, it runs (its retries through the delayed set too: the
// promoter script's keys share the slot).
TEST(ScaleOutTest, ASiteOnAClusterMustNameTheNodeOfItsSlot) {
  std::vector<std::unique_ptr<RedisServer>> nodes;
  ASSERT_NO_FATAL_FAILURE(StartCluster(&nodes));
  // The node that holds site a's slot answers; the others say MOVED.
  const std::string key = "qd:{a}:delayed";
  int owner = 0, other = 0;
  for (const auto& n : nodes) {
    (RedisInt(n->port(), {"EXISTS", key}) == 0 ? owner : other) = n->port();
  }
  ASSERT_NE(owner, 0);
  ASSERT_NE(other, 0);

  // The daemon's own Redis: standalone here (the top level on a Cluster:
  // cluster_top_level_test.cc).
  RedisServer own;
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
    EXPECT_NE(log.find("cluster: [host:port, ...]"), std::string::npos) << log;
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

// A site on `redis: { cluster: [...] }` seeded with a node that does not
// serve its slot: the daemon finds the node that does; then the slot is
// migrated to another master mid-run (SETSLOT IMPORTING/MIGRATING, MIGRATE,
// SETSLOT NODE) and the daemon follows MOVED there: every job runs.
TEST(ScaleOutTest, ASiteOnAClusterFollowsItsSlotToAnotherMaster) {
  std::vector<std::unique_ptr<RedisServer>> nodes;
  ASSERT_NO_FATAL_FAILURE(StartCluster(&nodes));
  const std::string key = "qd:{a}:delayed";
  int owner = 0, other = 0, third = 0;
  for (const auto& n : nodes) {
    if (RedisInt(n->port(), {"EXISTS", key}) == 0) {
      owner = n->port();
    } else {
      (other == 0 ? other : third) = n->port();
    }
  }
  ASSERT_TRUE(owner != 0 && other != 0 && third != 0);
  RedisServer own;
  std::string text = QueueConfig(own.url(), 2);
  std::string site = "  a:\n    queues:\n";
  text.replace(text.find(site), site.size(),
               "  a:\n    redis: { cluster: [127.0.0.1:" +
                   std::to_string(other) + "] }\n    queues:\n");
  Daemon d(text);
  ASSERT_TRUE(d.WaitForWorkers(2));
  std::vector<std::string> want = Numbered("before", 300);
  Enqueue(owner, "a", want);
  std::map<std::string, int> r;
  ASSERT_TRUE(
      WaitForCovered(d.dir().File("record.txt"), want, milliseconds(30000), &r))
      << d.Log();

  // Move the slot from `owner` to `other`, as redis-cli --cluster reshard.
  ASSERT_NO_FATAL_FAILURE(MigrateSlot(static_cast<int>(KeySlotOf("{a}", owner)),
                                      owner, other, {other, owner, third}));
  std::vector<std::string> after = Numbered("after", 300);
  Enqueue(other, "a", after);
  want.insert(want.end(), after.begin(), after.end());
  ASSERT_TRUE(
      WaitForCovered(d.dir().File("record.txt"), want, milliseconds(30000), &r))
      << d.Log();
  int duplicates = Duplicates(r, want);
  std::printf("slot migration: %zu jobs, lost 0, duplicates %d\n", want.size(),
              duplicates);
  EXPECT_NE(d.Log().find("the slot moved"), std::string::npos) << d.Log();
}

// Three masters with a replica each; site a's master is killed -9 while its
// jobs run: the cluster promotes the replica and the daemon follows it.
// Every job enqueued (and replicated: WAIT) runs; duplicates are printed.
TEST(ScaleOutTest, ASiteOnAClusterFollowsAPromotedReplica) {
  std::vector<std::unique_ptr<RedisServer>> nodes;
  ASSERT_NO_FATAL_FAILURE(StartCluster(&nodes, 1));
  const std::string key = "qd:{a}:delayed";
  RedisServer* owner = NodeOf(nodes, key);
  ASSERT_NE(owner, nullptr);
  std::string seeds = Seeds(nodes);
  RedisServer own;
  std::string text = QueueConfig(own.url(), 2);
  std::string site = "  a:\n    queues:\n";
  text.replace(text.find(site), site.size(),
               "  a:\n    redis: { cluster: [" + seeds + "] }\n    queues:\n");
  Daemon d(text);
  ASSERT_TRUE(d.WaitForWorkers(2));
  std::vector<std::string> want = Numbered("before", 1000);
  ASSERT_NO_FATAL_FAILURE(EnqueueReplicated(owner->port(), "a", want));
  std::map<std::string, int> r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = ReadRecord(d.dir().File("record.txt"));
        return Covered(r, want) >= 100;
      },
      milliseconds(30000)));
  RedisServer* promoted = KillAndWaitForPromotion(nodes, owner, key);
  ASSERT_NE(promoted, nullptr);
  std::vector<std::string> after = Numbered("after", 1000);
  Enqueue(promoted->port(), "a", after);
  want.insert(want.end(), after.begin(), after.end());
  ASSERT_TRUE(
      WaitForCovered(d.dir().File("record.txt"), want, milliseconds(60000), &r))
      << d.Log();
  int duplicates = Duplicates(r, want);
  std::printf("failover: %zu jobs, lost 0, duplicates %d\n", want.size(),
              duplicates);
}

// Six sites spread over a cluster of three masters (two sites each, each
// master with a replica) run 3,000 jobs. Mid-run one site's slot is
// migrated to another master a key at a time, the daemon following ASK for
// the keys already moved (the test waits for that after the first key);
// then the third master is killed -9 and its replica promoted. Every job
// runs; duplicates are counted and printed.
TEST(ScaleOutTest, SitesOnAClusterFollowAskAndAFailoverWithNoJobLost) {
  std::vector<std::unique_ptr<RedisServer>> nodes;
  ASSERT_NO_FATAL_FAILURE(StartCluster(&nodes, 1));
  std::vector<RedisServer*> masters;
  for (const auto& n : nodes) {
    std::vector<std::string> role = RedisStrings(n->port(), {"ROLE"});
    if (!role.empty() && role[0] == "master") masters.push_back(n.get());
  }
  ASSERT_EQ(masters.size(), 3u);
  // Two sites per master, by their slots.
  std::map<RedisServer*, std::vector<std::string>> by_master;
  std::vector<std::string> sites;
  for (int i = 0; sites.size() < 6 && i < 200; ++i) {
    std::string site = "s" + std::to_string(i);
    RedisServer* at = NodeOf(nodes, "qd:{" + site + "}:q:jobs");
    ASSERT_NE(at, nullptr);
    if (by_master[at].size() == 2) continue;
    by_master[at].push_back(site);
    sites.push_back(site);
  }
  ASSERT_EQ(sites.size(), 6u);
  RedisServer* from = masters[0];
  RedisServer* to = masters[1];
  RedisServer* doomed = masters[2];
  const std::string moving = by_master[from][0];

  RedisServer own;
  std::string text = QueueConfig(own.url(), 2);
  text.erase(text.find("sites:\n"));
  text += "sites:\n";
  for (const std::string& site : sites) {
    text += "  " + site + ":\n    redis: { cluster: [" + Seeds(nodes) +
            "] }\n    queues:\n      jobs: { handler: testkit, record: "
            "RUN_DIR/record.txt }\n";
  }
  Daemon d(text);
  ASSERT_TRUE(d.WaitForWorkers(2));
  // Half before, on each site's master; slow enough (2 ms a job) that the
  // moving site still has jobs when its slot starts to move.
  std::vector<std::string> want;
  for (const std::string& site : sites) {
    std::vector<std::string> jobs = Numbered("sleep:2:" + site + "-a", 250);
    ASSERT_NO_FATAL_FAILURE(EnqueueReplicated(
        NodeOf(nodes, "qd:{" + site + "}:q:jobs")->port(), site, jobs));
    want.insert(want.end(), jobs.begin(), jobs.end());
  }
  std::string rec = d.dir().File("record.txt");
  std::map<std::string, int> r;
  ASSERT_TRUE(WaitFor([&] { return Covered(ReadRecord(rec), want) >= 200; },
                      milliseconds(20000)));

  // The moving site's stream goes first; its workers then meet ASK on
  // their next command, which the test waits for before moving the rest.
  const std::string followed = "after ASKING";
  ASSERT_NO_FATAL_FAILURE(MigrateSlot(
      static_cast<int>(KeySlotOf("{" + moving + "}", from->port())),
      from->port(), to->port(), {from->port(), to->port(), doomed->port()},
      [&](const std::string& key) {
        if (key.find(":q:") == std::string::npos) return;
        EXPECT_TRUE(WaitFor([&] { return d.LogCount(followed) > 0; },
                            milliseconds(10000)))
            << d.LogTail(30);
      }));
  RedisServer* promoted = KillAndWaitForPromotion(
      nodes, doomed, "qd:{" + by_master[doomed][0] + "}:q:jobs");
  ASSERT_NE(promoted, nullptr);

  // The other half, on each site's master now (the nodes answer
  // CLUSTERDOWN for a moment after the promotion).
  for (const std::string& site : sites) {
    std::vector<std::string> jobs = Numbered("sleep:0:" + site + "-b", 250);
    RedisServer* at = nullptr;
    ASSERT_TRUE(WaitFor(
        [&] { return (at = NodeOf(nodes, "qd:{" + site + "}:q:jobs")); },
        milliseconds(10000)))
        << site;
    Enqueue(at->port(), site, jobs);
    want.insert(want.end(), jobs.begin(), jobs.end());
  }
  ASSERT_EQ(want.size(), 3000u);
  ASSERT_TRUE(WaitForCovered(rec, want, milliseconds(30000), &r))
      << d.LogTail(40);
  int duplicates = Duplicates(r, want);
  std::printf(
      "ASK and failover: %zu jobs on 6 sites, lost 0, duplicates %d; ASK "
      "followed (logged by %zu connections)\n",
      want.size(), duplicates, d.LogCount(followed));
  EXPECT_GE(d.LogCount(followed), 1u);
  EXPECT_NE(d.Log().find("the slot moved"), std::string::npos);
}

}  // namespace
}  // namespace qd::test
