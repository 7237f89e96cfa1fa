#include "core/queue/fetch_plan.h"

#include <gtest/gtest.h>

#include <vector>

namespace qd {
namespace {

constexpr size_t kBatch = FetchPlan::kBatch;

class FetchPlanTest : public ::testing::Test {
 protected:
  // Queue `i` holds `held[i]` jobs.
  void Hold(const std::vector<size_t>& held) {
    queues_.assign(held.size(), SiteQueue{});
    total_ = 0;
    for (size_t i = 0; i < held.size(); ++i) {
      queues_[i].name = "q" + std::to_string(i);
      queues_[i].ready.resize(held[i]);
      total_ += held[i];
    }
  }
  // A reply with `n[i]` entries for queue i.
  static std::vector<HeldJob> Reply(const std::vector<size_t>& n) {
    std::vector<HeldJob> got;
    for (size_t i = 0; i < n.size(); ++i) {
      for (size_t k = 0; k < n[i]; ++k) {
        HeldJob job;
        job.queue = static_cast<int>(i);
        got.push_back(job);
      }
    }
    return got;
  }
  bool Wanted() const { return FetchPlan::Wanted(queues_, total_); }

  std::vector<SiteQueue> queues_;
  size_t total_ = 0;
};

TEST_F(FetchPlanTest, LessThanABatchInAllReadsEveryQueueBlocking) {
  Hold({kBatch - 1, 0});
  EXPECT_TRUE(Wanted());
  FetchPlan plan = FetchPlan::For(queues_, /*listen=*/true);
  EXPECT_EQ(plan.queues, (std::vector<int>{0, 1}));
  EXPECT_TRUE(plan.block);
  EXPECT_FALSE(FetchPlan::For(queues_, /*listen=*/false).block) << "poll";
}

TEST_F(FetchPlanTest, AFullQueueHoldsOffAReadOfTheOthersWhileTheyHaveNoMore) {
  Hold({kBatch, 0});
  EXPECT_FALSE(Wanted()) << "the one flooded queue runs what it holds";
}

TEST_F(FetchPlanTest, AQueueThatMayHaveMoreIsReadWithoutBlocking) {
  // Weights 3:1 under a flood: the heavy queue ran low, the light one still
  // holds a batch. Reading only on the site's total would wait for the
  // light queue to run down too, and run it alone meanwhile.
  Hold({kBatch - 1, kBatch + 40});
  queues_[0].more = true;
  queues_[1].more = true;
  EXPECT_TRUE(Wanted());
  FetchPlan plan = FetchPlan::For(queues_, /*listen=*/true);
  EXPECT_EQ(plan.queues, (std::vector<int>{0})) << "the full one is left out";
  EXPECT_FALSE(plan.block) << "the light queue must stay readable";
}

TEST_F(FetchPlanTest, NoteSetsMoreOnlyForTheQueuesRead) {
  Hold({0, 0, kBatch + 1});
  queues_[2].more = true;
  FetchPlan plan = FetchPlan::For(queues_, true);
  ASSERT_EQ(plan.queues, (std::vector<int>{0, 1}));
  plan.Note(Reply({kBatch, 3, 0}), &queues_);
  EXPECT_TRUE(queues_[0].more);
  EXPECT_FALSE(queues_[1].more);
  EXPECT_TRUE(queues_[2].more) << "not read: unchanged";
}

TEST_F(FetchPlanTest, AnEmptyReadEndsTheReadsUntilTheSiteRunsLow) {
  Hold({kBatch - 1, kBatch * 2 - 1});
  queues_[0].more = true;
  ASSERT_TRUE(Wanted());
  FetchPlan plan = FetchPlan::For(queues_, true);
  plan.Note({}, &queues_);
  EXPECT_FALSE(Wanted()) << "no second empty read";
}

TEST_F(FetchPlanTest, ClosedQueuesAreNeitherReadNorCounted) {
  Hold({kBatch - 1, 0});
  queues_[0].more = true;
  queues_[0].wrong_type = "string";  // set aside
  FetchPlan plan = FetchPlan::For(queues_, true);
  EXPECT_EQ(plan.queues, (std::vector<int>{1}));
  EXPECT_TRUE(plan.block);
  Hold({kBatch, kBatch * 2});
  queues_[0].more = true;
  queues_[0].wrong_type = "hash";
  EXPECT_FALSE(Wanted());
}

}  // namespace
}  // namespace qd
