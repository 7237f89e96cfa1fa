#include "core/os/memory_usage.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>

namespace qd {
namespace {

TEST(MemoryUsageTest, SeesTouchedMemoryAndTrimGivesFreedBack) {
  MemoryUsage before = MemoryUsage::TrimAndReadSelf();
  ASSERT_GT(before.rss, 0u);
  constexpr size_t kSize = 64 << 20;
  auto block = std::make_unique<char[]>(kSize);
  std::memset(block.get(), 1, kSize);
  MemoryUsage during;
  ASSERT_TRUE(MemoryUsage::Read(0, &during));
  EXPECT_GE(during.rss, before.rss + kSize / 2);
  EXPECT_GE(during.anon, before.anon + kSize / 2);
  block.reset();
  MemoryUsage after = MemoryUsage::TrimAndReadSelf();
  EXPECT_LT(after.rss, during.rss - kSize / 2);
}

TEST(MemoryUsageTest, GoneProcessIsFalse) {
  MemoryUsage m;
  EXPECT_FALSE(MemoryUsage::Read(999999999, &m));
  EXPECT_TRUE(MemoryUsage::Read(getpid(), &m));
}

}  // namespace
}  // namespace qd
