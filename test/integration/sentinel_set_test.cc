// SentinelSet itself: the sentinels agree on the master, a write reaches
// the replica, and when the master is killed the sentinels promote the
// replica, which then holds the data and takes writes. Prints how long the
// failover took, for whoever tunes the timeouts of tests built on it.
#include "sentinel_set.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

using Strings = std::vector<std::string>;

TEST(SentinelSetTest, ReplicaIsPromotedWhenTheMasterIsKilled) {
  SentinelSet set;
  ASSERT_EQ(set.MasterPortBySentinels(), set.master_port());
  ASSERT_EQ(RedisStrings(set.master_port(), {"SET", "k", "before"}),
            Strings{"OK"});
  // The replica has the write before the master goes.
  ASSERT_EQ(RedisInt(set.master_port(), {"WAIT", "1", "1000"}), 1);

  auto killed = std::chrono::steady_clock::now();
  set.KillMaster();
  ASSERT_TRUE(set.WaitForFailover(milliseconds(30000)))
      << "sentinels " << set.SentinelList() << " say master port "
      << set.MasterPortBySentinels();
  auto took = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - killed);
  std::printf("failover took %lld ms from the kill\n",
              static_cast<long long>(took.count()));

  EXPECT_EQ(set.MasterPortBySentinels(), set.replica_port());
  EXPECT_EQ(RedisStrings(set.replica_port(), {"GET", "k"}), Strings{"before"});
  EXPECT_EQ(RedisStrings(set.replica_port(), {"SET", "k", "after"}),
            Strings{"OK"});
}

}  // namespace
}  // namespace qd::test
