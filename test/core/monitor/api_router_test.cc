#include "core/monitor/api_router.h"

#include <gtest/gtest.h>

#include "core/monitor/api_guard.h"
#include "core/monitor/api_query.h"
#include "core/monitor/overview_series.h"

namespace qd {
namespace {

class ApiRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/api/v1/overview", 1);
    router_.Add("GET", "/api/v1/sites/{site}/queues/{queue}/jobs", 2);
    router_.Add("POST", "/api/v1/sites/{site}/queues/{queue}/jobs", 3);
    router_.Add("POST", "/api/v1/sites/{site}/queues/{queue}/dead/{id}/retry",
                4);
    router_.Add("POST", "/api/v1/sites/{site}/queues/{queue}/dead/retry-all",
                5);
  }
  ApiRouter router_;
};

TEST_F(ApiRouterTest, FindsAFixedPath) {
  ApiRouter::Match m = router_.Find("GET", "/api/v1/overview");
  EXPECT_EQ(m.status, 0);
  EXPECT_EQ(m.route, 1);
}

TEST_F(ApiRouterTest, HeadMatchesGet) {
  EXPECT_EQ(router_.Find("HEAD", "/api/v1/overview").route, 1);
}

TEST_F(ApiRouterTest, DecodesSegmentsAfterTheSplit) {
  ApiRouter::Match m =
      router_.Find("GET", "/api/v1/sites/a%3Ab/queues/mail%2Fx/jobs");
  ASSERT_EQ(m.status, 0);
  EXPECT_EQ(m.route, 2);
  EXPECT_EQ(m.params["site"], "a:b");
  EXPECT_EQ(m.params["queue"], "mail/x");  // stays one segment
}

TEST_F(ApiRouterTest, ChoosesByMethod) {
  EXPECT_EQ(router_.Find("POST", "/api/v1/sites/a/queues/q/jobs").route, 3);
  EXPECT_EQ(router_.Find("GET", "/api/v1/sites/a/queues/q/jobs").route, 2);
}

TEST_F(ApiRouterTest, LiteralAndParameterSegmentsDoNotMeet) {
  EXPECT_EQ(
      router_.Find("POST", "/api/v1/sites/a/queues/q/dead/retry-all").route, 5);
  ApiRouter::Match m =
      router_.Find("POST", "/api/v1/sites/a/queues/q/dead/1-0/retry");
  EXPECT_EQ(m.route, 4);
  EXPECT_EQ(m.params["id"], "1-0");
}

TEST_F(ApiRouterTest, WrongMethodIs405WithAllow) {
  ApiRouter::Match m = router_.Find("DELETE", "/api/v1/sites/a/queues/q/jobs");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  EXPECT_EQ(router_.Find("POST", "/api/v1/overview").status, 405);
}

TEST_F(ApiRouterTest, UnknownPathIs404) {
  EXPECT_EQ(router_.Find("GET", "/api/v1/nope").status, 404);
  EXPECT_EQ(router_.Find("GET", "/api/v1/overview/").status, 404);
  EXPECT_EQ(router_.Find("GET", "/api/v1/sites//queues/q/jobs").status, 404);
}

TEST_F(ApiRouterTest, BadEscapeIs400) {
  EXPECT_EQ(router_.Find("GET", "/api/v1/sites/%zz/queues/q/jobs").status, 400);
  EXPECT_EQ(router_.Find("GET", "/api/v1/sites/a%2/queues/q/jobs").status, 400);
}

TEST(ApiQueryTest, DefaultsWhenAbsent) {
  ApiQuery q;
  ASSERT_TRUE(ApiQuery::Parse("", &q).ok());
  int count = 0;
  std::string cursor = "x";
  int64_t offset = 9;
  EXPECT_TRUE(q.Count(&count).ok());
  EXPECT_EQ(count, ApiQuery::kDefaultCount);
  EXPECT_TRUE(q.Cursor(&cursor).ok());
  EXPECT_EQ(cursor, "");
  EXPECT_TRUE(q.Offset(&offset).ok());
  EXPECT_EQ(offset, 0);
}

TEST(ApiQueryTest, CountIsBounded) {
  for (const char* bad : {"count=0", "count=101", "count=-1", "count=+5",
                          "count=5x", "count=", "count=99999999999999999999"}) {
    ApiQuery q;
    ASSERT_TRUE(ApiQuery::Parse(bad, &q).ok()) << bad;
    int count = 0;
    EXPECT_FALSE(q.Count(&count).ok()) << bad;
  }
  ApiQuery q;
  ASSERT_TRUE(ApiQuery::Parse("count=100&_=17", &q).ok());
  int count = 0;
  EXPECT_TRUE(q.Count(&count).ok());
  EXPECT_EQ(count, 100);
}

TEST(ApiQueryTest, CursorMustBeAnEntryId) {
  for (const char* bad :
       {"cursor=abc", "cursor=1", "cursor=1-", "cursor=-1", "cursor=1-2-3",
        "cursor=99999999999999999999999-0", "cursor=%2B", "cursor=1%20-0"}) {
    ApiQuery q;
    ASSERT_TRUE(ApiQuery::Parse(bad, &q).ok()) << bad;
    std::string cursor;
    EXPECT_FALSE(q.Cursor(&cursor).ok()) << bad;
  }
  ApiQuery q;
  ASSERT_TRUE(ApiQuery::Parse("cursor=1700000000000-12", &q).ok());
  std::string cursor;
  EXPECT_TRUE(q.Cursor(&cursor).ok());
  EXPECT_EQ(cursor, "1700000000000-12");
}

TEST(ApiQueryTest, RefusesBadEscapesAndRepeats) {
  ApiQuery q;
  EXPECT_FALSE(ApiQuery::Parse("count=%G1", &q).ok());
  EXPECT_FALSE(ApiQuery::Parse("count=1&count=2", &q).ok());
}

TEST(ApiQueryTest, DecodesPlusInQueriesOnly) {
  std::string out;
  EXPECT_TRUE(ApiQuery::Decode("a+b%20c", true, &out));
  EXPECT_EQ(out, "a b c");
  EXPECT_TRUE(ApiQuery::Decode("a+b", false, &out));
  EXPECT_EQ(out, "a+b");
}

HttpRequest Request(std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/api/v1/overview";
  r.headers = std::move(headers);
  return r;
}

TEST(ApiGuardTest, LetsRequestsWithoutOriginThrough) {
  EXPECT_EQ(ApiGuard::CheckOrigin(Request({{"Host", "127.0.0.1:9187"}})).status,
            0);
}

TEST(ApiGuardTest, LetsTheSameOriginThrough) {
  EXPECT_EQ(
      ApiGuard::CheckOrigin(Request({{"Host", "127.0.0.1:9187"},
                                     {"Origin", "http://127.0.0.1:9187"}}))
          .status,
      0);
}

TEST(ApiGuardTest, RefusesCrossSite) {
  EXPECT_EQ(ApiGuard::CheckOrigin(Request({{"Host", "127.0.0.1:9187"},
                                           {"Origin", "http://evil.example"}}))
                .status,
            403);
  EXPECT_EQ(ApiGuard::CheckOrigin(
                Request({{"Host", "127.0.0.1:9187"}, {"Origin", "null"}}))
                .status,
            403);
  EXPECT_EQ(
      ApiGuard::CheckOrigin(Request({{"Origin", "http://127.0.0.1:9187"}}))
          .status,
      403);  // no Host to compare with
  EXPECT_EQ(ApiGuard::CheckOrigin(
                Request({{"Host", "a"}, {"Sec-Fetch-Site", "cross-site"}}))
                .status,
            403);
  // https:// is another origin than the plain-HTTP monitor port.
  EXPECT_EQ(
      ApiGuard::CheckOrigin(Request({{"Host", "127.0.0.1:9187"},
                                     {"Origin", "https://127.0.0.1:9187"}}))
          .status,
      403);
}

TEST(ApiGuardTest, ActionsNeedTheToken) {
  const std::string token = "0123456789abcdef";
  EXPECT_EQ(ApiGuard::CheckToken(Request({}), "").status, 403);
  EXPECT_EQ(
      ApiGuard::CheckToken(Request({{"Authorization", "Bearer " + token}}), "")
          .status,
      403);
  EXPECT_EQ(ApiGuard::CheckToken(Request({}), token).status, 401);
  EXPECT_EQ(
      ApiGuard::CheckToken(Request({{"Authorization", "Basic eDp5"}}), token)
          .status,
      401);
  EXPECT_EQ(ApiGuard::CheckToken(
                Request({{"Authorization", "Bearer " + token + "x"}}), token)
                .status,
            401);
  EXPECT_EQ(ApiGuard::CheckToken(
                Request({{"Authorization", "bearer " + token}}), token)
                .status,
            0);
}

TEST(ApiGuardTest, SameSecretComparesWholeValues) {
  EXPECT_TRUE(ApiGuard::SameSecret("abc", "abc"));
  EXPECT_FALSE(ApiGuard::SameSecret("abc", "abd"));
  EXPECT_FALSE(ApiGuard::SameSecret("abc", "abcd"));
  EXPECT_FALSE(ApiGuard::SameSecret("", "a"));
}

TEST(OverviewSeriesTest, KeepsTheLastCapacityPointsOldestFirst) {
  OverviewSeries series;
  for (int i = 0; i < 1000; ++i) series.Add(1000 * i, 10 * i, i, i);
  std::vector<OverviewSeries::Point> points = series.Points();
  ASSERT_EQ(points.size(), OverviewSeries::kCapacity);
  EXPECT_EQ(points.front().t_ms, 1000 * 100);
  EXPECT_EQ(points.back().t_ms, 1000 * 999);
  EXPECT_DOUBLE_EQ(points.back().processed_per_s, 10);
  EXPECT_DOUBLE_EQ(points.back().failed_per_s, 1);
  EXPECT_EQ(points.back().ready, 999);
}

TEST(OverviewSeriesTest, FirstPointAndBackwardsCountersAreZero) {
  OverviewSeries series;
  series.Add(1000, 50, 5, 0);
  series.Add(2000, 40, 2, 0);
  std::vector<OverviewSeries::Point> points = series.Points();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_DOUBLE_EQ(points[0].processed_per_s, 0);
  EXPECT_DOUBLE_EQ(points[1].processed_per_s, 0);
  EXPECT_DOUBLE_EQ(points[1].failed_per_s, 0);
}

}  // namespace
}  // namespace qd
