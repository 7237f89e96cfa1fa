#include "core/worker/memory_guard.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace qd {
namespace {

// Stands in for the Worker: records what the guard asks of it.
struct FakeWorker {
  bool draining = false;
  std::vector<std::string> recycles;
  std::vector<std::string> reports;

  MemoryGuard::Hooks Hooks() {
    return {[this] { return draining; },
            [this](const std::string& why) {
              recycles.push_back(why);
              draining = true;
            },
            [this](const std::string& state, const MemoryUsage& memory) {
              EXPECT_GT(memory.rss, 0u);
              reports.push_back(state);
            }};
  }
};

TEST(MemoryGuardTest, UnderTheSoftLimitReportsIdle) {
  FakeWorker worker;
  MemoryGuard guard(std::numeric_limits<uint64_t>::max(), worker.Hooks());
  EXPECT_FALSE(guard.Check());
  EXPECT_TRUE(worker.recycles.empty());
  EXPECT_EQ(worker.reports, std::vector<std::string>{"idle"});
}

TEST(MemoryGuardTest, OverTheSoftLimitRecyclesOnce) {
  FakeWorker worker;
  MemoryGuard guard(1, worker.Hooks());  // every process is over 1 byte
  EXPECT_TRUE(guard.Check());
  EXPECT_TRUE(guard.Check());
  ASSERT_EQ(worker.recycles.size(), 1u);  // already draining the second time
  EXPECT_EQ(worker.recycles[0].rfind("RSS ", 0), 0u) << worker.recycles[0];
  EXPECT_NE(worker.recycles[0].find("passed the soft limit 1B"),
            std::string::npos)
      << worker.recycles[0];
  EXPECT_EQ(worker.reports, (std::vector<std::string>{"draining", "draining"}));
}

TEST(MemoryGuardTest, AfterWorkReadsAtMostOncePerQuickInterval) {
  FakeWorker worker;
  MemoryGuard guard(1, worker.Hooks());
  guard.AfterWork();  // over: a full check, which reports
  guard.AfterWork();  // within kQuickEvery: nothing read
  EXPECT_EQ(worker.recycles.size(), 1u);
  EXPECT_EQ(worker.reports.size(), 1u);
}

TEST(MemoryGuardTest, AfterWorkUnderTheLimitDoesNotReport) {
  FakeWorker worker;
  MemoryGuard guard(std::numeric_limits<uint64_t>::max(), worker.Hooks());
  guard.AfterWork();
  EXPECT_TRUE(worker.reports.empty());
  EXPECT_TRUE(worker.recycles.empty());
}

}  // namespace
}  // namespace qd
