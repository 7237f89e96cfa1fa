// The trim of acked entries (core/queue/trim_script.h, stream_trim.h) and
// the queue depths that no longer read XLEN (core/queue/queue_depth.h),
// run by a real redis-server: acked entries go, entries some group has not
// acked or not read never do (two groups, a slow consumer, a producer
// writing between the trims), and ready/pending stay right while acked
// entries wait for their trim. The last test runs the real daemon.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config/config.h"
#include "core/queue/queue_depth.h"
#include "core/queue/trim_script.h"
#include "core/redis/argv_of.h"
#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

constexpr const char* kStream = "qd:{a}:q:jobs";

class StreamTrimTest : public ::testing::Test {
 protected:
  long long Int(const std::vector<std::string>& cmd) {
    return RedisInt(redis_.port(), cmd);
  }
  std::vector<std::string> Strings(const std::vector<std::string>& cmd) {
    return RedisStrings(redis_.port(), cmd);
  }
  void Add(int from, int to) {  // entries FROM-0 .. TO-0
    std::vector<std::vector<std::string>> cmds;
    for (int i = from; i <= to; ++i) {
      cmds.push_back({"XADD", kStream, std::to_string(i) + "-0", "payload",
                      std::to_string(i)});
    }
    ASSERT_EQ(RedisPipeline(redis_.port(), cmds), cmds.size());
  }
  void Group(const std::string& group) {
    ASSERT_EQ(Strings({"XGROUP", "CREATE", kStream, group, "0", "MKSTREAM"}),
              std::vector<std::string>{"OK"});
  }
  // Delivers up to `count` new entries to `group`; their payloads.
  std::vector<std::string> Read(const std::string& group, int count) {
    std::vector<std::string> flat =
        Strings({"XREADGROUP", "GROUP", group, "c", "COUNT",
                 std::to_string(count), "STREAMS", kStream, ">"});
    std::vector<std::string> payloads;  // key, then id, "payload", value...
    for (size_t i = 3; i < flat.size(); i += 3) payloads.push_back(flat[i]);
    return payloads;
  }
  void Ack(const std::string& group, const std::vector<std::string>& ids) {
    std::vector<std::string> cmd = {"XACK", kStream, group};
    cmd.insert(cmd.end(), ids.begin(), ids.end());
    ASSERT_EQ(Int(cmd), static_cast<long long>(ids.size()));
  }
  void AckRange(const std::string& group, int from, int to) {
    std::vector<std::string> ids;
    for (int i = from; i <= to; ++i) ids.push_back(std::to_string(i) + "-0");
    Ack(group, ids);
  }
  // One trim; how many entries it deleted.
  long long Trim() {
    std::vector<std::string> r =
        Strings({"EVAL", kTrimScript, "1", kStream, "workers"});
    return r.empty() ? -1 : std::stoll(r[0]);
  }
  std::string FirstId() {
    std::vector<std::string> r =
        Strings({"XRANGE", kStream, "-", "+", "COUNT", "1"});
    return r.empty() ? "" : r[0];
  }
  // QueueDepth's commands for site a, queue jobs, parsed as the daemon and
  // queuectl parse them.
  QueueDepth Depth() {
    SiteConfig site;
    site.name = "a";
    site.prefix = "qd";
    auto commands = QueueDepth::Commands(site, "jobs");
    redisContext* c = redisConnect("127.0.0.1", redis_.port());
    QueueDepth out;
    if (c == nullptr || c->err) {
      ADD_FAILURE() << "connect";
      if (c != nullptr) redisFree(c);
      return out;
    }
    std::vector<redisReply*> replies;
    for (const auto& cmd : commands) {
      ArgvOf command(cmd);
      replies.push_back(static_cast<redisReply*>(redisCommandArgv(
          c, command.argc(), command.argv.data(), command.lens.data())));
    }
    EXPECT_EQ(replies[0]->type, REDIS_REPLY_INTEGER);
    out.FromReply(replies[1], replies[0]->integer);
    for (redisReply* r : replies) freeReplyObject(r);
    redisFree(c);
    return out;
  }

  RedisServer redis_;
};

TEST_F(StreamTrimTest, AckedEntriesGoUpToTheOldestPendingOne) {
  Add(1, 10);
  Group("workers");
  ASSERT_EQ(Read("workers", 6).size(), 6u);
  AckRange("workers", 1, 2);
  AckRange("workers", 4, 6);  // 3 is still running (a slow job)
  EXPECT_EQ(Trim(), 2);
  EXPECT_EQ(FirstId(), "3-0");
  EXPECT_EQ(Trim(), 0) << "nothing more until 3 is acked";
  AckRange("workers", 3, 3);
  EXPECT_EQ(Trim(), 4);
  // 7..10 were never delivered: they stay.
  EXPECT_EQ(Int({"XLEN", kStream}), 4);
  EXPECT_EQ(FirstId(), "7-0");
  EXPECT_EQ(Read("workers", 10).size(), 4u);
}

TEST_F(StreamTrimTest, EntriesAnotherGroupHasNotReadOrAckedStay) {
  Add(1, 10);
  Group("workers");
  Group("audit");
  ASSERT_EQ(Read("audit", 4).size(), 4u);
  AckRange("audit", 1, 1);  // 2..4 pending in audit, 5.. unread by it
  ASSERT_EQ(Read("workers", 10).size(), 10u);
  AckRange("workers", 1, 10);
  EXPECT_EQ(Trim(), 1);
  EXPECT_EQ(FirstId(), "2-0");
  AckRange("audit", 2, 4);
  EXPECT_EQ(Trim(), 3);
  EXPECT_EQ(FirstId(), "5-0") << "audit has not read 5 yet";
  ASSERT_EQ(Read("audit", 10).size(), 6u);
  AckRange("audit", 5, 10);
  EXPECT_EQ(Trim(), 6);
  EXPECT_EQ(Int({"XLEN", kStream}), 0);
}

// Entries producers wrote before any worker made the group are read from
// "0" when it is made: nothing goes before, whatever other groups did.
TEST_F(StreamTrimTest, NothingGoesWithoutTheDaemonsGroup) {
  Add(1, 5);
  EXPECT_EQ(Trim(), 0) << "no group at all";
  Group("audit");
  ASSERT_EQ(Read("audit", 5).size(), 5u);
  AckRange("audit", 1, 5);
  EXPECT_EQ(Trim(), 0);
  EXPECT_EQ(Int({"XLEN", kStream}), 5);
  Group("workers");
  EXPECT_EQ(Read("workers", 10).size(), 5u);
  EXPECT_EQ(Trim(), 0) << "delivered, not acked";
  ASSERT_EQ(Strings({"SET", "qd:{a}:q:str", "x"}),
            std::vector<std::string>{"OK"});
  EXPECT_EQ(RedisStrings(redis_.port(),
                         {"EVAL", kTrimScript, "1", "qd:{a}:q:str", "workers"}),
            std::vector<std::string>{"0"})
      << "a key of another type is left alone";
}

// A producer writes while two groups read, one of them slowly, one of the
// consumers holds its first entry to the end, and a trim follows every
// round: every entry still reaches both groups.
TEST_F(StreamTrimTest, AProducerWritingBetweenTrimsLosesNothing) {
  constexpr int kBatches = 40, kBatch = 50, kTotal = kBatches * kBatch;
  Group("workers");
  Group("audit");
  std::atomic<bool> produced{false};
  std::thread producer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<std::vector<std::string>> cmds;
      for (int i = 0; i < kBatch; ++i) {
        cmds.push_back(
            {"XADD", kStream, "*", "payload", std::to_string(b * kBatch + i)});
      }
      RedisPipeline(redis_.port(), cmds);
    }
    produced = true;
  });
  std::map<std::string, std::multiset<std::string>> seen;
  std::string held;  // workers' first entry, acked only at the end
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int round = 0; std::chrono::steady_clock::now() < deadline; ++round) {
    for (const char* group : {"workers", "audit"}) {
      if (std::string(group) == "audit" && round % 3 != 0) continue;
      std::vector<std::string> flat =
          Strings({"XREADGROUP", "GROUP", group, "c", "COUNT", "37", "STREAMS",
                   kStream, ">"});
      std::vector<std::string> ids;
      for (size_t i = 1; i + 2 < flat.size(); i += 3) {
        seen[group].insert(flat[i + 2]);
        if (held.empty() && std::string(group) == "workers") {
          held = flat[i];
          continue;
        }
        ids.push_back(flat[i]);
      }
      if (!ids.empty()) Ack(group, ids);
    }
    EXPECT_GE(Trim(), 0);
    bool all =
        seen["workers"].size() == kTotal && seen["audit"].size() == kTotal;
    if (produced && all) break;
  }
  producer.join();
  for (const char* group : {"workers", "audit"}) {
    ASSERT_EQ(seen[group].size(), static_cast<size_t>(kTotal)) << group;
    std::set<std::string> distinct(seen[group].begin(), seen[group].end());
    EXPECT_EQ(distinct.size(), static_cast<size_t>(kTotal)) << group;
  }
  EXPECT_EQ(FirstId(), held) << "the held entry pins the stream";
  Ack("workers", {held});
  Trim();
  EXPECT_EQ(Int({"XLEN", kStream}), 0);
}

TEST_F(StreamTrimTest, DepthsLeaveOutAckedEntriesWaitingForTheTrim) {
  Add(1, 10);
  Group("workers");
  ASSERT_EQ(Read("workers", 6).size(), 6u);
  AckRange("workers", 1, 4);
  QueueDepth d = Depth();
  EXPECT_EQ(d.ready, 4);
  EXPECT_EQ(d.pending, 2);
  EXPECT_TRUE(d.ready_exact);
  EXPECT_EQ(Int({"XLEN", kStream}), 10) << "the acked ones are still there";
}

// Redis gives no lag while an XDELed entry lies after the group's
// last-delivered-id: the entries after it are counted (XLEN - pending, the
// rule before, would count the acked entries too).
TEST_F(StreamTrimTest, DepthsCountWhenRedisGivesNoLag) {
  Add(1, 6);
  Group("workers");
  ASSERT_EQ(Read("workers", 3).size(), 3u);
  AckRange("workers", 1, 3);
  ASSERT_EQ(Int({"XDEL", kStream, "5-0"}), 1);
  QueueDepth d = Depth();
  EXPECT_EQ(d.ready, 2);  // 4 and 6
  EXPECT_EQ(d.pending, 0);
  EXPECT_TRUE(d.ready_exact);
}

// On Redis 7.0 the lag keeps counting an undelivered entry that was XDELed
// once the trim took its tombstone: a drained queue must still show 0.
TEST_F(StreamTrimTest, ADrainedQueueShowsNothingReadyAfterADeletedEntry) {
  Add(1, 4);
  Group("workers");
  ASSERT_EQ(Int({"XDEL", kStream, "3-0"}), 1);
  ASSERT_EQ(Read("workers", 10).size(), 3u);
  Ack("workers", {"1-0", "2-0", "4-0"});
  EXPECT_EQ(Trim(), 3);
  QueueDepth d = Depth();
  EXPECT_EQ(d.ready, 0);
  EXPECT_EQ(d.pending, 0);
}

TEST_F(StreamTrimTest, DepthsWithoutAGroupCountEveryEntryReady) {
  Add(1, 3);
  QueueDepth d = Depth();
  EXPECT_EQ(d.ready, 3);
  EXPECT_EQ(d.pending, 0);
}

// The daemon acks with XACK alone and trims: its acked entries go, the
// entries a second group has not read yet stay until it has.
TEST_F(StreamTrimTest, TheDaemonTrimsWhatEveryGroupIsDoneWith) {
  Group("workers");
  Group("audit");
  Daemon d(QueueConfig(redis_.url(), 2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis_.port(), "a", Numbered("j", 200));
  ASSERT_EQ(Read("audit", 120).size(), 120u);
  std::vector<std::string> ids =
      Strings({"XRANGE", kStream, "-", "+", "COUNT", "120"});
  std::vector<std::string> first;
  for (size_t i = 0; i < ids.size(); i += 3) first.push_back(ids[i]);
  Ack("audit", first);
  ASSERT_TRUE(WaitFor(
      [&] { return ReadRecord(d.dir().File("record.txt")).size() == 200; },
      milliseconds(20000)))
      << d.Log();
  // The record is written as a job starts: its ack may still be on its way.
  QueueDepth depth;
  EXPECT_TRUE(WaitFor(
      [&] {
        depth = Depth();
        return Int({"XLEN", kStream}) == 80 && depth.pending == 0;
      },
      milliseconds(5000)))
      << "XLEN " << Int({"XLEN", kStream}) << " pending " << depth.pending;
  EXPECT_EQ(depth.ready, 0);
  ASSERT_EQ(Read("audit", 200).size(), 80u);
  ids = Strings({"XRANGE", kStream, "-", "+"});
  std::vector<std::string> rest;
  for (size_t i = 0; i < ids.size(); i += 3) rest.push_back(ids[i]);
  Ack("audit", rest);
  // The daemon acked nothing since: its every-10 s trim of all queues.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Int({"XLEN", kStream}) == 0;
      },
      milliseconds(15000)));
}

}  // namespace
}  // namespace qd::test
