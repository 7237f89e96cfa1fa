// The delayed-job promoter script (core/queue/promoter_script.h) run by a
// real redis-server, members written as careless or hostile producers
// would write them: every member ends in its stream, in the dead stream
// with a reason, or stays in the delayed set; none vanishes or arrives
// mangled.
#include "core/queue/promoter_script.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

constexpr const char* kDelayed = "qd:{s}:delayed";
constexpr const char* kMalformed = "qd:{s}:dead:_malformed";
constexpr long long kNow = 1700000000000;

class PromoterScriptTest : public ::testing::Test {
 protected:
  // One run at `now`; the reply flattened: moved, then KEY, REASON pairs.
  std::vector<std::string> Promote(long long now = kNow) {
    return RedisStrings(redis_.port(),
                        {"EVAL", kPromoterScript, "1", kDelayed,
                         std::to_string(now), "256", "qd:{s}:", "10000"});
  }
  void AddDue(const std::string& member) {
    ASSERT_EQ(
        RedisPipeline(redis_.port(), {{"ZADD", kDelayed, "1000", member}}), 1u);
  }
  long long Len(const std::string& key) {
    return RedisInt(redis_.port(), {"XLEN", key});
  }
  // Field values of the stream's entries, in order, names left out.
  std::vector<std::string> Entries(const std::string& key) {
    return RedisStrings(redis_.port(), {"XRANGE", key, "-", "+"});
  }
  static bool Has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  RedisServer redis_;
};

TEST_F(PromoterScriptTest, AWrongTypedTargetKeepsTheMemberDueLaterUntilFixed) {
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"SET", "qd:{s}:q:strq", "x"}}), 1u);
  const std::string bad = R"({"queue":"strq","payload":"p"})";
  AddDue(bad);
  AddDue(R"({"queue":"ok","payload":"q"})");
  std::vector<std::string> out = Promote();
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(out[0], "1") << "the other member moved";
  EXPECT_EQ(out[1], "qd:{s}:q:strq");
  EXPECT_NE(out[2].find("string"), std::string::npos) << out[2];
  EXPECT_EQ(Len("qd:{s}:q:ok"), 1);
  // Still there, pushed 10 s later: the next run at the same time skips it.
  EXPECT_EQ(RedisStrings(redis_.port(), {"ZSCORE", kDelayed, bad}),
            std::vector<std::string>{std::to_string(kNow + 10000)});
  EXPECT_EQ(Promote(kNow + 1)[0], "0");
  // The key fixed: it moves at its new time.
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"DEL", "qd:{s}:q:strq"}}), 1u);
  EXPECT_EQ(Promote(kNow + 10000)[0], "1");
  EXPECT_EQ(Len("qd:{s}:q:strq"), 1);
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", kDelayed}), 0);
}

TEST_F(PromoterScriptTest, AMalformedMemberStaysWhenTheDeadStreamIsWrongTyped) {
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"SET", kMalformed, "x"}}), 1u);
  AddDue("not json");
  std::vector<std::string> out = Promote();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1], kMalformed);
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", kDelayed}), 1);
}

}  // namespace
}  // namespace qd::test
