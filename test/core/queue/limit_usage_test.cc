// LimitUsage: how `queuectl stats` names a limit's bounds.
#include "core/queue/limit_usage.h"

#include <gtest/gtest.h>

namespace qd {
namespace {

TEST(LimitUsageTest, BoundSaysBothBoundsInConfigUnits) {
  LimitUsage u;
  u.concurrency = 2;
  EXPECT_EQ(u.Bound(), "concurrency 2");
  u.rate = 100;
  u.window_ms = 60000;
  EXPECT_EQ(u.Bound(), "concurrency 2, rate 100/1m");
  u.concurrency = 0;
  u.window_ms = 7200000;
  EXPECT_EQ(u.Bound(), "rate 100/2h");
  u.window_ms = 90000;
  EXPECT_EQ(u.Bound(), "rate 100/90s");
}

}  // namespace
}  // namespace qd
