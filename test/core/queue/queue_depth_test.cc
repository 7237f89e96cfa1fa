#include "core/queue/queue_depth.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "test/core/redis/resp_text.h"

namespace qd {
namespace {

using test::Resp;

TEST(QueueDepthTest, TakesReadyAndPendingFromTheScriptNotFromXlen) {
  QueueDepth d;
  // 5 ready, 2 pending, exact, in a stream of 40 (33 acked, not trimmed).
  d.FromReply(Resp("*3\r\n:5\r\n:2\r\n:1\r\n").get(), 40);
  EXPECT_EQ(d.ready, 5);
  EXPECT_EQ(d.pending, 2);
  EXPECT_TRUE(d.ready_exact);
}

TEST(QueueDepthTest, TheOldestReadyEntrysTimeComesFourth) {
  QueueDepth d;
  d.FromReply(Resp("*4\r\n:3\r\n:0\r\n:1\r\n:1700000000123\r\n").get(), 3);
  EXPECT_EQ(d.oldest_ready_ms, 1700000000123);
  // Nothing ready: no oldest, whatever the reply says.
  d.FromReply(Resp("*4\r\n:0\r\n:0\r\n:1\r\n:1700000000123\r\n").get(), 0);
  EXPECT_EQ(d.oldest_ready_ms, 0);
}

TEST(QueueDepthTest, ACountThatStoppedIsALowerBound) {
  QueueDepth d;
  d.FromReply(Resp("*3\r\n:10000\r\n:0\r\n:0\r\n").get(), 20000);
  EXPECT_EQ(d.ready, 10000);
  EXPECT_FALSE(d.ready_exact);
}

TEST(QueueDepthTest, WithoutTheGroupEveryEntryIsReady) {
  QueueDepth d;
  d.pending = 7;
  d.ready_exact = false;
  d.FromReply(Resp(":-1\r\n").get(), 12);
  EXPECT_EQ(d.ready, 12);
  EXPECT_EQ(d.pending, 0);
  EXPECT_TRUE(d.ready_exact);
  d.FromReply(Resp("-NOSCRIPT no\r\n").get(), 3);
  EXPECT_EQ(d.ready, 3);
  d.FromReply(nullptr, 4);
  EXPECT_EQ(d.ready, 4);
}

}  // namespace
}  // namespace qd
