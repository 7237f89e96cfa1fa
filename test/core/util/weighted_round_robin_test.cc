#include "core/util/weighted_round_robin.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

namespace qd {
namespace {

// The winners of `turns` turns, as letters (a = candidate 0), among the
// candidates `part` marks ("" = all).
std::string Turns(WeightedRoundRobin& rr, int turns,
                  const std::vector<bool>& part = {}) {
  std::string out;
  for (int t = 0; t < turns; ++t) {
    int i = rr.Next([&](size_t c) { return part.empty() || part[c]; });
    out += i < 0 ? '-' : static_cast<char>('a' + i);
  }
  return out;
}

TEST(WeightedRoundRobinTest, WinsAreInProportionAndSpreadOut) {
  WeightedRoundRobin rr;
  rr.Add(3);
  rr.Add(1);
  EXPECT_EQ(Turns(rr, 8), "aabaaaba");
}

TEST(WeightedRoundRobinTest, NginxExampleFiveOneOne) {
  // The example of nginx's change log for smooth weighted round robin.
  WeightedRoundRobin rr;
  rr.Add(5);
  rr.Add(1);
  rr.Add(1);
  EXPECT_EQ(Turns(rr, 7), "aabacaa");
}

TEST(WeightedRoundRobinTest, EqualWeightsArePlainRoundRobin) {
  WeightedRoundRobin rr;
  for (int i = 0; i < 3; ++i) rr.Add(1);
  EXPECT_EQ(Turns(rr, 6), "abcabc");
}

TEST(WeightedRoundRobinTest, ACandidateLeftOutBanksNothing) {
  WeightedRoundRobin rr;
  rr.Add(1);
  rr.Add(1);
  // b has nothing for 10 turns; a runs alone, and then they alternate
  // instead of b catching up with 10 turns in a row.
  EXPECT_EQ(Turns(rr, 10, {true, false}), "aaaaaaaaaa");
  EXPECT_EQ(Turns(rr, 4), "abab");
}

TEST(WeightedRoundRobinTest, NoneTakingPartIsMinusOne) {
  WeightedRoundRobin rr;
  EXPECT_EQ(Turns(rr, 1), "-");
  rr.Add(2);
  EXPECT_EQ(Turns(rr, 2, {false}), "--");
  EXPECT_EQ(Turns(rr, 2), "aa");
}

TEST(WeightedRoundRobinTest, LargestWeightsDoNotOverflow) {
  WeightedRoundRobin rr;
  rr.Add(INT_MAX);
  rr.Add(INT_MAX);
  rr.Add(1);
  std::string turns = Turns(rr, 1000);
  EXPECT_EQ(turns.substr(0, 4), "abab");
  EXPECT_EQ(turns.find('c'), std::string::npos);
}

}  // namespace
}  // namespace qd
