// LimitBucket: the decisions a worker makes for a limit without a Redis
// call: when a job runs on a slot the worker holds idle, and when it asks.
#include "core/queue/limit_bucket.h"

#include <gtest/gtest.h>

namespace qd {
namespace {

class LimitBucketTest : public ::testing::Test {
 protected:
  LimitBucketTest() {
    limit_.name = "g";
    limit_.concurrency = 2;
    bucket_.limit = &limit_;
  }
  void AddJob(HeldJob::Fields fields = {{"payload", "p"}}) {
    HeldJob job;
    job.id = "1-" + std::to_string(bucket_.jobs.size());
    job.fields = std::move(fields);
    bucket_.jobs.push_back(std::move(job));
  }

  LimitConfig limit_;
  LimitBucket bucket_;
};

TEST_F(LimitBucketTest, AJobRunsOnAnIdleSlotWithoutAsking) {
  bucket_.held = 1;
  AddJob();
  EXPECT_TRUE(bucket_.GrantsLocally());
  EXPECT_EQ(bucket_.AskCount(64, false), 0u);
}

TEST_F(LimitBucketTest, AJobWithoutAnIdleSlotAsksForOne) {
  bucket_.held = 1;
  bucket_.busy = 1;
  AddJob();
  EXPECT_FALSE(bucket_.GrantsLocally());
  EXPECT_EQ(bucket_.AskCount(64, false), 1u);
}

// A job moved back from the wait list has a slot reserved in Redis: run
// on the idle slot, it would leave that reservation counted until its
// lease ends, so it is asked for even while a slot is idle.
TEST_F(LimitBucketTest, AJobBackFromTheWaitListIsAskedForEvenWithAnIdleSlot) {
  bucket_.held = 1;
  AddJob({{"payload", "p"}, {"limit_waited", "1"}});
  EXPECT_TRUE(bucket_.NextReserved());
  EXPECT_FALSE(bucket_.GrantsLocally());
  EXPECT_EQ(bucket_.AskCount(64, false), 1u);
}

TEST_F(LimitBucketTest, IdleSlotsGoBackAfterTheIdleTimeOrAtOnceWhenAsked) {
  bucket_.held = 2;
  bucket_.busy = 1;
  bucket_.idle_ms = 1000;
  EXPECT_EQ(bucket_.Keep(1000 + LimitBucket::kIdleMs - 1, false), 2);
  EXPECT_EQ(bucket_.Keep(1000 + LimitBucket::kIdleMs, false), 1);
  EXPECT_EQ(bucket_.Keep(1001, true), 1);
  bucket_.waiters = true;
  EXPECT_EQ(bucket_.Keep(1001, false), 1);
}

}  // namespace
}  // namespace qd
