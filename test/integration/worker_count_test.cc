// `daemon.threads: 0` (the default) starts one queue worker per CPU the
// process may run on: its affinity mask (sched_getaffinity), which
// `taskset`, cgroup cpusets and container CPU pinning narrow, not the
// CPUs the machine has.
#include <gtest/gtest.h>
#include <sched.h>

#include <optional>
#include <string>

#include "daemon_harness.h"

namespace qd::test {
namespace {

// The CPUs this thread may run on.
std::optional<cpu_set_t> OwnMask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return std::nullopt;
  return set;
}

// While alive, this thread may run on one CPU only (the first of its mask),
// as under `taskset -c N`: a child forked meanwhile inherits the mask.
class OneCpu {
 public:
  explicit OneCpu(const cpu_set_t& mask) : saved_(mask) {
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    ok_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~OneCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }
  bool ok() const { return ok_; }

 private:
  cpu_set_t saved_;
  bool ok_ = false;
};

class WorkerCountTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  static RedisServer* redis_;
};
RedisServer* WorkerCountTest::redis_ = nullptr;

TEST_F(WorkerCountTest, ThreadsZeroStartsOneWorkerPerCpuOfTheAffinityMask) {
  auto mask = OwnMask();
  ASSERT_TRUE(mask.has_value());
  size_t cpus = CPU_COUNT(&*mask);
  Daemon d(TestConfig(0, redis_->url()));
  ASSERT_TRUE(d.WaitForWorkers(cpus)) << cpus << " CPUs\n" << d.Log();
  EXPECT_TRUE(d.WaitForLog("all " + std::to_string(cpus) + " workers ready"))
      << d.Log();
}

TEST_F(WorkerCountTest, ThreadsZeroUnderAOneCpuMaskStartsOneWorker) {
  auto mask = OwnMask();
  ASSERT_TRUE(mask.has_value());
  if (CPU_COUNT(&*mask) < 2) {
    GTEST_SKIP() << "this process may run on one CPU only: a one-CPU mask "
                    "would not differ from it";
  }
  std::optional<Daemon> d;
  {
    OneCpu pinned(*mask);
    ASSERT_TRUE(pinned.ok()) << "sched_setaffinity";
    d.emplace(TestConfig(0, redis_->url()));
  }
  ASSERT_TRUE(d->WaitForWorkers(1)) << d->Log();
  EXPECT_TRUE(d->WaitForLog("all 1 workers ready")) << d->Log();
  EXPECT_EQ(d->Workers().size(), 1u);
}

}  // namespace
}  // namespace qd::test
