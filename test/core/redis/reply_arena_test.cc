#include "core/redis/reply_arena.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <string>

#include "core/os/memory_usage.h"

namespace qd {
namespace {

class ReplyArenaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader_ = redisReaderCreate();
    arena_.Install(reader_);
  }
  void TearDown() override { redisReaderFree(reader_); }

  // Feeds `wire` and returns the next complete reply (null if none).
  redisReply* Next(const std::string& wire = "") {
    if (!wire.empty()) redisReaderFeed(reader_, wire.data(), wire.size());
    void* reply = nullptr;
    EXPECT_EQ(redisReaderGetReply(reader_, &reply), REDIS_OK);
    return static_cast<redisReply*>(reply);
  }

  redisReader* reader_ = nullptr;
  ReplyArena arena_;
};

TEST_F(ReplyArenaTest, BuildsEveryReplyType) {
  using namespace std::string_literals;  // the payload holds a NUL
  redisReply* r =
      Next("*5\r\n$3\r\na\0b\r\n:42\r\n$-1\r\n+OK\r\n*2\r\n-ERR x\r\n*0\r\n"s);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 5u);
  EXPECT_EQ(std::string(r->element[0]->str, r->element[0]->len),
            std::string("a\0b", 3));
  EXPECT_EQ(r->element[0]->str[3], '\0');
  EXPECT_EQ(r->element[1]->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(r->element[1]->integer, 42);
  EXPECT_EQ(r->element[2]->type, REDIS_REPLY_NIL);
  EXPECT_EQ(r->element[3]->type, REDIS_REPLY_STATUS);
  EXPECT_STREQ(r->element[3]->str, "OK");
  redisReply* inner = r->element[4];
  ASSERT_EQ(inner->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(inner->elements, 2u);
  EXPECT_EQ(inner->element[0]->type, REDIS_REPLY_ERROR);
  EXPECT_STREQ(inner->element[0]->str, "ERR x");
  EXPECT_EQ(inner->element[1]->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(inner->element[1]->elements, 0u);
  reader_->fn->freeObject(r);
}

TEST_F(ReplyArenaTest, AReplySplitAcrossReadsAndTheNextRewinds) {
  EXPECT_EQ(Next("*2\r\n$5\r\nhel"), nullptr);
  redisReply* r = Next("lo\r\n:7\r\n");
  ASSERT_NE(r, nullptr);
  EXPECT_STREQ(r->element[0]->str, "hello");
  EXPECT_EQ(r->element[1]->integer, 7);
  size_t first = arena_.used();
  EXPECT_GT(first, 0u);
  reader_->fn->freeObject(r);
  r = Next(":1\r\n");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->integer, 1);
  EXPECT_LT(arena_.used(), first);  // rewound for the new reply
}

TEST_F(ReplyArenaTest, LargeRepliesGrowAndTheArenaShrinksBack) {
  std::string big(300 << 10, 'x');
  std::string wire = "*20\r\n";
  for (int i = 0; i < 20; ++i) {
    wire += "$" + std::to_string(big.size()) + "\r\n" + big + "\r\n";
  }
  redisReply* r = Next(wire);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->elements, 20u);
  EXPECT_EQ(r->element[19]->len, big.size());
  EXPECT_GT(arena_.blocks(), 16u);
  reader_->fn->freeObject(r);
  ASSERT_NE(Next(":1\r\n"), nullptr);
  EXPECT_LE(arena_.blocks(), 16u);
}

// One 2 MiB value takes a block of its own; the next reply must not keep it.
TEST_F(ReplyArenaTest, ABlockForOneLargeValueIsNotKept) {
  std::string big(2 << 20, 'x');
  redisReply* r =
      Next("$" + std::to_string(big.size()) + "\r\n" + big + "\r\n");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->len, big.size());
  EXPECT_GT(arena_.held(), big.size());
  reader_->fn->freeObject(r);
  ASSERT_NE(Next(":1\r\n"), nullptr);
  EXPECT_LE(arena_.held(), size_t{64 << 10});  // a standard block for ":1"
}

// Found by test/fuzz/stream_reply_fuzz.cc: "*236223648\r\n" made the arena
// allocate and zero 1.9 GB before a single element arrived (and keep the
// block); "*2000000000\r\n" would throw bad_alloc through hiredis.
TEST_F(ReplyArenaTest, AnArrayCountCostsNothingUntilItsElementsArrive) {
  MemoryUsage before;
  ASSERT_TRUE(MemoryUsage::Read(0, &before));
  const std::string wire = "*100000000\r\n:1\r\n";  // 800 MB of pointers
  redisReaderFeed(reader_, wire.data(), wire.size());
  void* reply = nullptr;
  // REDIS_OK (waiting for the rest) or, where calloc refuses 800 MB, an
  // "Out of memory" error; never an exception or a crash.
  (void)redisReaderGetReply(reader_, &reply);
  EXPECT_EQ(reply, nullptr);
  MemoryUsage after;
  ASSERT_TRUE(MemoryUsage::Read(0, &after));
  EXPECT_LT(after.rss, before.rss + (64u << 20));
  EXPECT_LE(arena_.blocks(), 1u);
}

TEST_F(ReplyArenaTest, ALargeArrayIsBuiltAndFreedAtTheNextReply) {
  std::string wire = "*100000\r\n";
  for (int i = 0; i < 100000; ++i) wire += ":" + std::to_string(i) + "\r\n";
  redisReply* r = Next(wire);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->elements, 100000u);
  EXPECT_EQ(r->element[99999]->integer, 99999);
  size_t used = arena_.used();
  EXPECT_GT(used, 100000 * sizeof(redisReply*));
  reader_->fn->freeObject(r);
  ASSERT_NE(Next(":1\r\n"), nullptr);
  EXPECT_LT(arena_.used(), 1024u);
}

}  // namespace
}  // namespace qd
