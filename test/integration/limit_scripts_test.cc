// The limit scripts (core/queue/limit_scripts.h) driven with plain Redis
// commands against a real redis-server, as a consumer in another language
// would use them (docs/limits.md): slots counted per worker up to the
// bound, a job past it moved whole to the wait list, waiters moved back
// with their budget reserved when a worker gives slots back or a window
// passes, the slots of a worker that died freed by its lease or taken
// over by its replacement, and keys of the wrong type leaving the job
// where it was.
#include "core/queue/limit_scripts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

constexpr const char* kStream = "qd:{s}:q:sync";
constexpr const char* kIndex = "qd:{s}:limits";

class LimitScriptsTest : public ::testing::Test {
 protected:
  // Common arguments for worker `holder`: limits g (concurrency 2), m
  // (rate 2 per second) and one (concurrency 1); queue sync with a 60 s
  // lease.
  std::vector<std::string> Eval(const std::string& script,
                                const std::string& holder) {
    return {"EVAL", script, "1",     kIndex, "qd:{s}:", "workers", "10000",
            holder, "3",    "g",     "2",    "0",       "0",       "60000",
            "m",    "0",    "2",     "1000", "60000",   "one",     "1",
            "0",    "0",    "60000", "1",    "sync",    "60000"};
  }
  // Adds a job and delivers it to consumer c: its entry id.
  std::string Fetch(const std::string& payload = "p") {
    RedisPipeline(redis_.port(),
                  {{"XGROUP", "CREATE", kStream, "workers", "0", "MKSTREAM"}});
    std::vector<std::string> id =
        RedisStrings(redis_.port(), {"XADD", kStream, "*", "payload", payload});
    RedisStrings(redis_.port(), {"XREADGROUP", "GROUP", "workers", "c", "COUNT",
                                 "1", "STREAMS", kStream, ">"});
    return id.empty() ? "" : id[0];
  }
  // Worker `holder`, which holds `held` slots of `bucket` (`free` of them
  // idle), asks budget for entry `id`: the job's code (and any held keys).
  std::vector<std::string> Acquire(const std::string& holder,
                                   const std::string& bucket,
                                   const std::string& id,
                                   const std::string& member = "",
                                   const std::string& delivery = "1",
                                   const std::string& held = "0",
                                   const std::string& free = "0") {
    std::vector<std::string> cmd = Eval(kLimitAcquireScript, holder);
    cmd.insert(cmd.end(), {"1", bucket, held, free, "1", bucket, "sync", id,
                           delivery, member});
    return RedisStrings(redis_.port(), cmd);
  }
  // Worker `holder` keeps `held` slots of `bucket`: how many jobs wait.
  std::vector<std::string> Hold(const std::string& holder,
                                const std::string& bucket,
                                const std::string& held) {
    std::vector<std::string> cmd = Eval(kLimitHoldScript, holder);
    cmd.insert(cmd.end(), {"1", bucket, held, "0"});
    return RedisStrings(redis_.port(), cmd);
  }
  std::vector<std::string> Sweep() {
    std::vector<std::string> cmd = Eval(kLimitSweepScript, "sweeper");
    cmd.push_back("100");
    return RedisStrings(redis_.port(), cmd);
  }
  long long Int(const std::vector<std::string>& cmd) {
    return RedisInt(redis_.port(), cmd);
  }
  std::map<std::string, std::string> Held(const std::string& bucket) {
    std::vector<std::string> all = RedisStrings(
        redis_.port(), {"HGETALL", "qd:{s}:limit:" + bucket + ":held"});
    std::map<std::string, std::string> out;
    for (size_t i = 0; i + 1 < all.size(); i += 2) out[all[i]] = all[i + 1];
    return out;
  }
  long long Pending() { return test::Pending(redis_.port(), kStream); }
  static std::string Member(const std::string& payload) {
    return R"({"queue":"sync","payload":")" + payload + R"("})";
  }
  using Codes = std::vector<std::string>;

  RedisServer redis_;
};

TEST_F(LimitScriptsTest, SlotsAreCountedPerWorkerUpToTheBound) {
  std::string a = Fetch(), b = Fetch(), c = Fetch("third");
  EXPECT_EQ(Acquire("w1", "g", a), Codes{"1"});
  EXPECT_EQ(Acquire("w2", "g", b), Codes{"1"});
  // Past the bound without its member: asked for, nothing changed.
  EXPECT_EQ(Acquire("w3", "g", c), Codes{"3"});
  EXPECT_EQ(Int({"XLEN", kStream}), 3);
  // With it: acked in the stream (the entry stays for the stream's trim)
  // and into the wait list, in one step.
  EXPECT_EQ(Acquire("w3", "g", c, Member("third")), Codes{"2"});
  EXPECT_EQ(Int({"XLEN", kStream}), 3);
  EXPECT_EQ(Pending(), 2);
  EXPECT_EQ(Int({"LLEN", "qd:{s}:limit:g:wait"}), 1);
  EXPECT_EQ(Held("g"),
            (std::map<std::string, std::string>{{"w1", "1"}, {"w2", "1"}}));
  EXPECT_FALSE(RedisStrings(redis_.port(), {"ZSCORE", kIndex, "g"}).empty());
  // w2 keeps its slot and learns that a job waits for one.
  EXPECT_EQ(Hold("w2", "g", "1"), Codes{"1"});
  // w1 gives its slot back: it goes to the waiter, moved back to a new
  // entry that holds it.
  EXPECT_EQ(Hold("w1", "g", "0"), Codes{"0"});
  EXPECT_EQ(Int({"LLEN", "qd:{s}:limit:g:wait"}), 0);
  EXPECT_EQ(Int({"ZCARD", kIndex}), 0);
  std::vector<std::string> entries =
      RedisStrings(redis_.port(), {"XRANGE", kStream, "-", "+"});
  // id, payload, "third", and the mark that makes its worker ask for it.
  ASSERT_GE(entries.size(), 5u);
  EXPECT_EQ(entries[entries.size() - 3], "third");
  EXPECT_EQ(entries[entries.size() - 2], "limit_waited");
  EXPECT_EQ(entries.back(), "1");
  std::string moved = entries[entries.size() - 5];
  EXPECT_EQ(Held("g"), (std::map<std::string, std::string>{
                           {"w2", "1"}, {"sync/" + moved, "1"}}));
  // A newcomer cannot take the reserved slot; the moved job's worker gets
  // it.
  std::string d = Fetch("fourth");
  EXPECT_EQ(Acquire("w4", "g", d), Codes{"3"});
  EXPECT_EQ(Acquire("w4", "g", moved), Codes{"1"});
  EXPECT_EQ(Held("g"),
            (std::map<std::string, std::string>{{"w2", "1"}, {"w4", "1"}}));
}

TEST_F(LimitScriptsTest, AJobTakesAnIdleSlotOfItsWorkerFirst) {
  std::string a = Fetch(), b = Fetch();
  EXPECT_EQ(Acquire("w1", "g", a), Codes{"1"});
  // w1 holds one slot, idle now: the next job takes it, no second one.
  EXPECT_EQ(Acquire("w1", "g", b, "", "1", "1", "1"), Codes{"1"});
  EXPECT_EQ(Held("g"), (std::map<std::string, std::string>{{"w1", "1"}}));
}

TEST_F(LimitScriptsTest, ARateGrantAheadLeavesHalfTheBudget) {
  std::string a = Fetch(), b = Fetch();
  std::vector<std::string> cmd = Eval(kLimitAcquireScript, "w1");
  cmd.insert(cmd.end(),
             {"0", "2", "m", "sync", a, "1", "", "m", "sync", b, "1", ""});
  // The second is not the first of its bucket in the call: with one grant
  // of two taken, it is not granted, and stays where it is.
  EXPECT_EQ(RedisStrings(redis_.port(), cmd), (Codes{"1", "0"}));
  EXPECT_EQ(Int({"ZCARD", "qd:{s}:limit:m:pend"}), 1);
  EXPECT_EQ(Int({"XLEN", kStream}), 2);
}

TEST_F(LimitScriptsTest, EachLimitKeyIsABucketOfItsOwn) {
  std::string a = Fetch(), b = Fetch(), c = Fetch();
  EXPECT_EQ(Acquire("w1", "one:k1", a), Codes{"1"});
  EXPECT_EQ(Acquire("w2", "one:k2", b), Codes{"1"});
  EXPECT_EQ(Acquire("w3", "one:k1", c), Codes{"3"});
  EXPECT_EQ(Int({"ZCARD", "qd:{s}:limit:one:keys"}), 2);
}

TEST_F(LimitScriptsTest, TheSlotsOfAWorkerWhoseLeaseEndedAreFree) {
  std::string a = Fetch(), b = Fetch();
  EXPECT_EQ(Acquire("w1", "one", a), Codes{"1"});
  // Its host died: nobody renews the lease, which runs out.
  RedisPipeline(redis_.port(), {{"ZADD", "qd:{s}:limit:one:run", "1", "w1"}});
  EXPECT_EQ(Acquire("w2", "one", b), Codes{"1"});
  EXPECT_EQ(Held("one"), (std::map<std::string, std::string>{{"w2", "1"}}));
}

TEST_F(LimitScriptsTest, AReplayedJobGoesFirstInTheSlotItsWorkerHeld) {
  std::string a = Fetch(), b = Fetch("b");
  EXPECT_EQ(Acquire("w1", "one", a), Codes{"1"});
  EXPECT_EQ(Acquire("w2", "one", b, Member("b")), Codes{"2"});
  // w1 was killed; its replacement (the same consumer name) holds nothing
  // yet and replays the job (delivery 2): it goes before the waiter, in
  // the slot the dead worker held.
  EXPECT_EQ(Acquire("w1", "one", a, "", "2"), Codes{"1"});
  EXPECT_EQ(Held("one"), (std::map<std::string, std::string>{{"w1", "1"}}));
  EXPECT_EQ(Int({"LLEN", "qd:{s}:limit:one:wait"}), 1);
}

TEST_F(LimitScriptsTest, ARateCountsGrantsAndStartsAndFreesWithTheWindow) {
  std::string a = Fetch(), b = Fetch(), c = Fetch("late");
  EXPECT_EQ(Acquire("w1", "m", a), Codes{"1"});
  EXPECT_EQ(Acquire("w1", "m", b), Codes{"1"});
  EXPECT_EQ(Acquire("w1", "m", c, Member("late")), Codes{"2"});
  for (const std::string& id : {a, b}) {
    EXPECT_EQ(Int({"EVAL", kLimitConfirmScript, "2", "qd:{s}:limit:m:pend",
                   "qd:{s}:limit:m:starts", "sync/" + id + "/1"}),
              1);
  }
  EXPECT_EQ(Int({"ZCARD", "qd:{s}:limit:m:starts"}), 2);
  // Within the window, the sweep moves nothing and says when to look.
  std::vector<std::string> swept = Sweep();
  ASSERT_FALSE(swept.empty());
  EXPECT_GT(std::stoll(swept[0]), 500);
  EXPECT_LE(std::stoll(swept[0]), 1000);
  EXPECT_EQ(Int({"LLEN", "qd:{s}:limit:m:wait"}), 1);
  // Once the first start leaves it, the waiter moves, its grant reserved.
  EXPECT_TRUE(WaitFor(
      [&] {
        Sweep();
        return Int({"LLEN", "qd:{s}:limit:m:wait"}) == 0;
      },
      milliseconds(3000)));
  EXPECT_EQ(Int({"ZCARD", "qd:{s}:limit:m:pend"}), 1);
  EXPECT_EQ(Int({"ZCARD", kIndex}), 0);
}

TEST_F(LimitScriptsTest, AWaitListOfTheWrongTypeLeavesTheJobPending) {
  std::string a = Fetch(), b = Fetch();
  RedisPipeline(redis_.port(), {{"SET", "qd:{s}:limit:one:wait", "x"}});
  EXPECT_EQ(Acquire("w1", "one", a), Codes{"1"});
  EXPECT_EQ(
      Acquire("w2", "one", b, Member("b")),
      (Codes{"4", "qd:{s}:limit:one:wait", "holds a string, not a list"}));
  EXPECT_EQ(Int({"XLEN", kStream}), 2);
  EXPECT_EQ(Pending(), 2);
}

TEST_F(LimitScriptsTest, AMalformedWaiterGoesToTheDeadStream) {
  std::string a = Fetch();
  EXPECT_EQ(Acquire("w1", "one", a), Codes{"1"});
  RedisPipeline(redis_.port(), {{"RPUSH", "qd:{s}:limit:one:wait", "not json"},
                                {"ZADD", kIndex, "1", "one"}});
  Hold("w1", "one", "0");
  EXPECT_EQ(Int({"XLEN", "qd:{s}:dead:_malformed"}), 1);
  EXPECT_EQ(Int({"LLEN", "qd:{s}:limit:one:wait"}), 0);
}

TEST_F(LimitScriptsTest, StatsCountWhatEachLimitHolds) {
  std::string a = Fetch(), b = Fetch("b");
  EXPECT_EQ(Acquire("w1", "one", a), Codes{"1"});
  EXPECT_EQ(Acquire("w2", "one", b, Member("b")), Codes{"2"});
  std::vector<std::string> stats =
      RedisStrings(redis_.port(), Eval(kLimitStatsScript, ""));
  // Per limit: NAME KEYS RUNNING PENDING STARTED WAITING.
  auto row = std::find(stats.begin(), stats.end(), "one");
  ASSERT_NE(row, stats.end());
  ASSERT_GE(stats.end() - row, 6);
  EXPECT_EQ(std::vector<std::string>(row, row + 6),
            (Codes{"one", "0", "1", "0", "0", "1"}));
}

}  // namespace
}  // namespace qd::test
