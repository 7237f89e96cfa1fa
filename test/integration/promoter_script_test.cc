// The delayed-job promoter script (core/queue/promoter_script.h) run by a
// real redis-server, members written as careless or hostile producers
// would write them: every member ends in its stream, in the dead stream
// with a reason, or stays in the delayed set; none vanishes or arrives
// mangled.
#include "core/queue/promoter_script.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
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
    return RedisStrings(redis_.port(), {"EVAL", kPromoterScript, "1", kDelayed,
                                        std::to_string(now), "256",
                                        "qd:{s}:", "10000", "q", "ok", "strq"});
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
  // The fields of the stream's only entry.
  std::map<std::string, std::string> Only(const std::string& key) {
    std::vector<std::string> e = Entries(key);
    std::map<std::string, std::string> out;
    EXPECT_EQ(e.size() % 2, 1u);  // the id, then names and values
    for (size_t i = 1; i + 1 < e.size(); i += 2) out[e[i]] = e[i + 1];
    return out;
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

TEST_F(PromoterScriptTest, ValuesThatAreNotStringsArriveAsTheirJsonText) {
  AddDue(R"({"queue":"q","payload":{"to":"a@b","n":[1,2]},"none":null,)"
         R"("yes":true,"count":42,"ratio":1.5,"id":9007199254740991})");
  EXPECT_EQ(Promote()[0], "1");
  auto f = Only("qd:{s}:q:q");
  EXPECT_EQ(f["payload"].front(), '{') << f["payload"];
  EXPECT_NE(f["payload"].find(R"("to":"a@b")"), std::string::npos);
  EXPECT_NE(f["payload"].find(R"("n":[1,2])"), std::string::npos);
  EXPECT_EQ(f["none"], "null");
  EXPECT_EQ(f["yes"], "true");
  EXPECT_EQ(f["count"], "42");
  EXPECT_EQ(f["ratio"], "1.5");
  EXPECT_EQ(f["id"], "9007199254740991");
}

TEST_F(PromoterScriptTest, NumbersThatWouldNotArriveAsWrittenAreRefused) {
  AddDue(R"({"queue":"q","payload":"p","big":12345678901234567890})");
  AddDue(R"({"queue":"q","payload":{"big":12345678901234567}})");
  EXPECT_EQ(Promote()[0], "0");
  EXPECT_EQ(Len("qd:{s}:q:q"), 0);
  ASSERT_EQ(Len(kMalformed), 2);
  std::vector<std::string> dead = Entries(kMalformed);
  size_t said = 0;
  for (const auto& s : dead) said += s.find("give it as a string") != s.npos;
  EXPECT_EQ(said, 2u);
  EXPECT_TRUE(
      Has(dead, R"({"queue":"q","payload":"p","big":12345678901234567890})"))
      << "the member is kept as it was";
}

TEST_F(PromoterScriptTest, AnInvalidBase64FieldIsRefusedNotEmptied) {
  AddDue(R"({"queue":"q","payload_b64":"a!b="})");
  AddDue(R"({"queue":"q","payload":"x","payload_b64":"eA=="})");
  EXPECT_EQ(Promote()[0], "0");
  EXPECT_EQ(Len("qd:{s}:q:q"), 0);
  std::vector<std::string> dead = Entries(kMalformed);
  EXPECT_TRUE(Has(dead, R"(field "payload_b64" is not valid base64)"));
  EXPECT_TRUE(Has(
      dead, R"(field "payload" is given twice (as payload and payload_b64))"));
}

TEST_F(PromoterScriptTest, AnyFieldMayBeCarriedAsBase64) {
  AddDue(R"({"queue":"q","payload_b64":"/w==","error_b64":"b29wcyD+"})");
  EXPECT_EQ(Promote()[0], "1");
  auto f = Only("qd:{s}:q:q");
  EXPECT_EQ(f["payload"], "\xFF");
  EXPECT_EQ(f["error"], "oops \xFE");
  EXPECT_EQ(f.count("error_b64"), 0u);
}

TEST_F(PromoterScriptTest, AQueueTheSiteDoesNotHaveIsRefusedWithTheReason) {
  AddDue(R"({"queue":"../../x","payload":"p"})");
  AddDue(R"({"queue":"other","payload":"p"})");
  EXPECT_EQ(Promote()[0], "0");
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", "qd:{s}:q:../../x"}), 0);
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", "qd:{s}:q:other"}), 0);
  std::vector<std::string> dead = Entries(kMalformed);
  EXPECT_TRUE(Has(dead, R"(queue "other" is not a queue of this site)"));
  EXPECT_TRUE(Has(dead, R"(queue "../../x" is not a queue of this site)"));
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", kDelayed}), 0);
}

TEST_F(PromoterScriptTest, AMemberWithoutAPayloadIsRefusedWithTheReason) {
  AddDue(R"({"queue":"q","paylaod":"typo"})");
  EXPECT_EQ(Promote()[0], "0");
  EXPECT_EQ(Len("qd:{s}:q:q"), 0);
  EXPECT_TRUE(
      Has(Entries(kMalformed), R"(no "payload" (nor "payload_b64"): not run)"));
}

}  // namespace
}  // namespace qd::test
