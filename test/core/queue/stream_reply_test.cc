#include "core/queue/stream_reply.h"

#include <gtest/gtest.h>

#include <climits>
#include <memory>
#include <string>
#include <utility>

#include "test/core/redis/resp_text.h"

namespace qd {
namespace {

using test::Resp;

TEST(StreamReplyTest, ParseReadKeepsKnownStreamsAndFieldOrder) {
  auto r = Resp(
      "*2\r\n"
      "*2\r\n$1\r\na\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*4\r\n"
      "$7\r\npayload\r\n$2\r\nhi\r\n$3\r\njid\r\n$1\r\nj\r\n"
      "*2\r\n$5\r\nother\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*0\r\n");
  std::vector<HeldJob> jobs;
  StreamReply::ParseRead(r.get(), {{"a", 3}}, &jobs);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].queue, 3);
  EXPECT_EQ(jobs[0].id, "1-1");
  ASSERT_EQ(jobs[0].fields.size(), 2u);
  EXPECT_EQ(jobs[0].fields[0].first, "payload");
  EXPECT_EQ(jobs[0].fields[1].second, "j");
}

TEST(StreamReplyTest, DeletedPendingEntryHasNoFields) {
  auto r = Resp("*1\r\n*2\r\n$3\r\n5-0\r\n$-1\r\n");
  std::vector<HeldJob> jobs;
  StreamReply::ParseEntries(0, r.get(), &jobs);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_TRUE(jobs[0].fields.empty());
}

TEST(StreamReplyTest, MalformedShapesYieldNothing) {
  std::vector<HeldJob> jobs;
  for (const char* text :
       {"$3\r\nabc\r\n", "*1\r\n:5\r\n", "*1\r\n*1\r\n$1\r\na\r\n",
        "*1\r\n*2\r\n:1\r\n*0\r\n", "-ERR no\r\n", "*-1\r\n"}) {
    auto r = Resp(text);
    StreamReply::ParseRead(r.get(), {{"a", 0}}, &jobs);
    StreamReply::ParseEntries(0, r.get(), &jobs);
  }
  StreamReply::ParseRead(nullptr, {{"a", 0}}, &jobs);
  EXPECT_TRUE(jobs.empty());
}

TEST(StreamReplyTest, FirstPendingReadsTheDeliveryCount) {
  auto r = Resp("*1\r\n*4\r\n$3\r\n7-1\r\n$1\r\nc\r\n:1500\r\n:3\r\n");
  std::string id;
  int deliveries = 0;
  ASSERT_TRUE(StreamReply::FirstPending(r.get(), &id, &deliveries));
  EXPECT_EQ(id, "7-1");
  EXPECT_EQ(deliveries, 3);
  auto empty = Resp("*0\r\n");
  EXPECT_FALSE(StreamReply::FirstPending(empty.get(), &id, &deliveries));
  auto bad = Resp("*1\r\n*4\r\n$3\r\n7-1\r\n$1\r\nc\r\n:1500\r\n$1\r\n3\r\n");
  EXPECT_FALSE(StreamReply::FirstPending(bad.get(), &id, &deliveries));
}

// Found by test/fuzz/stream_reply_fuzz.cc (a count of -1 came out as -1):
// the count was truncated to int, so 2^32 + 1 also read as 1 and 2^31 as
// INT_MIN (on which SiteConsumer::Hold's deliveries - 1 overflows).
TEST(StreamReplyTest, FirstPendingClampsTheDeliveryCount) {
  std::string id;
  int deliveries = 0;
  for (auto [count, want] : {std::pair<const char*, int>{"4294967297", INT_MAX},
                             {"2147483648", INT_MAX},
                             {"-1", 0},
                             {"-9223372036854775807", 0}}) {
    auto r = Resp(std::string("*1\r\n*4\r\n$1\r\n1\r\n$1\r\nc\r\n:0\r\n:") +
                  count + "\r\n");
    ASSERT_TRUE(StreamReply::FirstPending(r.get(), &id, &deliveries)) << count;
    EXPECT_EQ(deliveries, want) << count;
  }
}

}  // namespace
}  // namespace qd
