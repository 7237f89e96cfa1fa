// A retry or a dead letter whose target key another program wrote with
// another Redis type (`SET qd:{a}:delayed x`): the job is not lost. Its
// entry stays pending in the stream, the key is named once in the log, and
// once the key is fixed the job is claimed again and moves on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

constexpr const char* kStream = "qd:{a}:q:jobs";

TEST_F(QueueTest, ARetryIntoAWrongTypedDelayedSetLeavesTheJobPending) {
  RedisServer redis;
  ASSERT_EQ(RedisPipeline(redis.port(), {{"SET", "qd:{a}:delayed", "x"}}), 1u);
  Daemon d(QueueConfig(redis.url(), 1, ", visibility_timeout: 2s"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", {"retry:1"});
  EXPECT_TRUE(d.WaitForLog("key qd:{a}:delayed holds a string, not a zset"))
      << d.Log();
  // Not acked nor deleted: still in the stream, pending.
  ASSERT_EQ(RedisInt(redis.port(), {"XLEN", kStream}), 1) << d.Log();
  ASSERT_EQ(Pending(redis.port()), 1) << d.Log();
  // Fixed: claimed after the visibility timeout, retried through the
  // delayed set, run again and acked.
  ASSERT_EQ(RedisPipeline(redis.port(), {{"DEL", "qd:{a}:delayed"}}), 1u);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string rec = ReadFileText(Record(d));
        return rec.find("retry:1 1 ") != std::string::npos;
      },
      milliseconds(20000)))
      << d.Log();
  EXPECT_TRUE(WaitForLen(redis, kStream, 0, milliseconds(10000))) << d.Log();
  EXPECT_EQ(Pending(redis.port()), 0) << d.Log();
  EXPECT_EQ(RedisInt(redis.port(), {"ZCARD", "qd:{a}:delayed"}), 0);
  EXPECT_EQ(d.LogCount("key qd:{a}:delayed holds a string"), 1u) << d.Log();
}

TEST_F(QueueTest, ADeadLetterIntoAWrongTypedDeadStreamLeavesTheJobPending) {
  RedisServer redis;
  ASSERT_EQ(RedisPipeline(redis.port(), {{"SET", "qd:{a}:dead:jobs", "x"}}),
            1u);
  Daemon d(QueueConfig(redis.url(), 1, ", visibility_timeout: 2s"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), "a", {"fail"});
  EXPECT_TRUE(d.WaitForLog("key qd:{a}:dead:jobs holds a string, not a stream"))
      << d.Log();
  ASSERT_EQ(RedisInt(redis.port(), {"XLEN", kStream}), 1) << d.Log();
  ASSERT_EQ(Pending(redis.port()), 1) << d.Log();
  // Fixed: claimed after the visibility timeout, failed again, dead-lettered.
  ASSERT_EQ(RedisPipeline(redis.port(), {{"DEL", "qd:{a}:dead:jobs"}}), 1u);
  EXPECT_TRUE(WaitForLen(redis, "qd:{a}:dead:jobs", 1, milliseconds(20000)))
      << d.Log();
  EXPECT_TRUE(WaitForLen(redis, kStream, 0, milliseconds(10000))) << d.Log();
  EXPECT_EQ(Pending(redis.port()), 0) << d.Log();
  EXPECT_EQ(d.LogCount("key qd:{a}:dead:jobs holds a string"), 1u) << d.Log();
}

}  // namespace
}  // namespace qd::test
