#include "core/util/poll_backoff.h"

#include <gtest/gtest.h>

namespace qd {
namespace {
using ms = std::chrono::milliseconds;

TEST(PollBackoffTest, MissesDoubleFromFirstDelayUpToInterval) {
  PollBackoff b(ms(10000), ms(1000));
  std::vector<long> got;
  for (int i = 0; i < 6; ++i) got.push_back(b.Next(false).count());
  EXPECT_EQ(got, (std::vector<long>{1000, 2000, 4000, 8000, 10000, 10000}));
}

TEST(PollBackoffTest, HitPollsAgainAtOnceAndRestartsTheSchedule) {
  PollBackoff b(ms(10000), ms(1000));
  b.Next(false);
  b.Next(false);
  EXPECT_EQ(b.Next(true), ms(0));
  EXPECT_EQ(b.Next(true), ms(0));
  EXPECT_EQ(b.Next(false), ms(1000));
}

TEST(PollBackoffTest, IntervalShorterThanFirstDelayCaps) {
  PollBackoff b(ms(250), ms(1000));
  EXPECT_EQ(b.Next(false), ms(250));
  EXPECT_EQ(b.Next(false), ms(250));
}

}  // namespace
}  // namespace qd
