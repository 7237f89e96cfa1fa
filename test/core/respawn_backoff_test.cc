#include "core/respawn_backoff.h"

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

}  // namespace
}  // namespace qd
