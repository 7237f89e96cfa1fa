#include "core/util/respawn_backoff.h"

#include <gtest/gtest.h>

namespace qd {
namespace {
using ms = std::chrono::milliseconds;

TEST(RespawnBackoffTest, DoublesFromInitialUpToCap) {
  RespawnBackoff b;
  std::vector<long> got;
  for (int i = 0; i < 12; ++i) got.push_back(b.OnCrash(ms(10)).count());
  std::vector<long> want = {100,  200,   400,   800,   1600,  3200,
                            6400, 12800, 25600, 30000, 30000, 30000};
  EXPECT_EQ(got, want);
}

TEST(RespawnBackoffTest, ResetsAfterAWorkerLivedLongEnough) {
  RespawnBackoff b;
  for (int i = 0; i < 5; ++i) b.OnCrash(ms(10));
  EXPECT_EQ(b.current(), ms(3200));
  EXPECT_EQ(b.OnCrash(ms(60000)), ms(100));
  EXPECT_EQ(b.OnCrash(ms(59999)), ms(200));
}

TEST(RespawnBackoffTest, CustomScheduleAndReset) {
  RespawnBackoff b(ms(1), ms(5), ms(1000));
  EXPECT_EQ(b.OnCrash(ms(0)), ms(1));
  EXPECT_EQ(b.OnCrash(ms(0)), ms(2));
  EXPECT_EQ(b.OnCrash(ms(0)), ms(4));
  EXPECT_EQ(b.OnCrash(ms(0)), ms(5));
  b.Reset();
  EXPECT_EQ(b.OnCrash(ms(0)), ms(1));
}

TEST(RespawnBackoffTest, BurstWaitsInitialThenDoublesThenRecovers) {
  RespawnBackoff b;
  b.AllowBurst(3, ms(10000));
  // Three crashes within the window: each waits 100 ms, however short-lived.
  EXPECT_EQ(b.OnCrash(ms(10), ms(0)), ms(100));
  EXPECT_EQ(b.OnCrash(ms(10), ms(200)), ms(100));
  EXPECT_EQ(b.OnCrash(ms(10), ms(400)), ms(100));
  // Past the burst: a crash loop, doubling.
  EXPECT_EQ(b.OnCrash(ms(10), ms(600)), ms(100));
  EXPECT_EQ(b.OnCrash(ms(10), ms(800)), ms(200));
  EXPECT_EQ(b.OnCrash(ms(10), ms(1100)), ms(400));
  // Quiet for a window: back to the burst allowance.
  EXPECT_EQ(b.OnCrash(ms(10), ms(11200)), ms(100));
  EXPECT_EQ(b.OnCrash(ms(10), ms(11300)), ms(100));
}

TEST(RespawnBackoffTest, BurstOfKillsEveryFifteenSecondsNeverBacksOff) {
  // The soak's pattern: a worker killed every 15 s for 10 minutes.
  RespawnBackoff b;
  b.AllowBurst(30, ms(10000));
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(b.OnCrash(ms(15000), ms(15000 * i)), ms(100)) << i;
  }
}

}  // namespace
}  // namespace qd
