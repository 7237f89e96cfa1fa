#include "core/util/log_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace qd {
namespace {

using Duration = LogLimiter::Duration;

TEST(LogLimiterTest, LetsABurstThroughPerPeriodAndCountsTheRest) {
  LogLimiter limiter(3, Duration(10000));
  auto now = LogLimiter::Clock::now();
  std::string note;
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += limiter.Allow(now, &note);
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(limiter.held_back(), 997u);
  EXPECT_FALSE(limiter.Allow(now + Duration(9999), &note));
  ASSERT_TRUE(limiter.Allow(now + Duration(10000), &note));
  EXPECT_EQ(note, " (998 more like it not logged)");
  ASSERT_TRUE(limiter.Allow(now + Duration(10001), &note));
  EXPECT_EQ(note, "");
}

}  // namespace
}  // namespace qd
