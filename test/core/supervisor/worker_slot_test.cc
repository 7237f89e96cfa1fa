#include "core/supervisor/worker_slot.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <limits>
#include <memory>
#include <vector>

#include "core/util/exit_codes.h"
#include "core/worker/slot_board.h"

namespace qd {
namespace {

// No process is forked and no signal is sent: the slot is given a pid that
// cannot exist and told how it "exited".
constexpr pid_t kNoSuchPid = std::numeric_limits<pid_t>::max();

// Stands in for the WorkerPool: records what the slot reports.
class FakeOwner : public WorkerSlot::Owner {
 public:
  struct Exited {
    int slot;
    WorkerSlot::Exit how;
    int64_t jobs;
    int64_t failed;
  };
  void Spawn(int slot) override { spawns.push_back(slot); }
  void SlotReady(int slot) override { readies.push_back(slot); }
  void SlotExited(int slot, WorkerSlot::Exit how, int64_t jobs,
                  int64_t failed) override {
    exits.push_back({slot, how, jobs, failed});
  }
  std::vector<int> spawns, readies;
  std::vector<Exited> exits;
};

class WorkerSlotTest : public ::testing::Test {
 protected:
  WorkerSlotTest() : base_(event_base_new()) {
    slot_ = std::make_unique<WorkerSlot>(base_, &owner_, 3);
  }
  ~WorkerSlotTest() override {
    slot_.reset();  // its events before their base
    event_base_free(base_);
  }

  // A "started" process; worker_end_ is the worker's side of its channel.
  void Start() {
    Channel master_end;
    ASSERT_TRUE(Channel::Pair(&master_end, &worker_end_).ok());
    slot_->Started(kNoSuchPid, std::move(master_end), 1);
  }

  event_base* base_;
  FakeOwner owner_;
  std::unique_ptr<WorkerSlot> slot_;
  Channel worker_end_;
};

TEST_F(WorkerSlotTest, ReadyMessageReachesTheOwner) {
  Start();
  EXPECT_EQ(slot_->state(), WorkerSlot::State::kStarting);
  ASSERT_TRUE(worker_end_.Send({{"t", "ready"}, {"rss", 1234}}));
  event_base_loop(base_, EVLOOP_ONCE);
  EXPECT_EQ(owner_.readies, std::vector<int>{3});
  EXPECT_EQ(slot_->state(), WorkerSlot::State::kReady);
  EXPECT_EQ(slot_->rss(), 1234u);
}

TEST_F(WorkerSlotTest, RecycleIsReportedWithTheJobsAndRespawnedAtOnce) {
  Start();
  ASSERT_NE(slot_->board(), nullptr);
  slot_->board()->JobFinished(false);
  slot_->board()->JobFinished(true);
  slot_->Exited(W_EXITCODE(kExitRecycle, 0), true);
  ASSERT_EQ(owner_.exits.size(), 1u);
  EXPECT_EQ(owner_.exits[0].slot, 3);
  EXPECT_EQ(owner_.exits[0].how, WorkerSlot::Exit::kRecycled);
  EXPECT_EQ(owner_.exits[0].jobs, 2);
  EXPECT_EQ(owner_.exits[0].failed, 1);
  EXPECT_FALSE(slot_->alive());
  EXPECT_EQ(slot_->board()->Read().jobs, 0);  // counted once, then reset
  EXPECT_TRUE(owner_.spawns.empty());         // on the next loop turn
  event_base_loop(base_, EVLOOP_ONCE);
  EXPECT_EQ(owner_.spawns, std::vector<int>{3});
  EXPECT_EQ(slot_->state(), WorkerSlot::State::kEmpty);
}

TEST_F(WorkerSlotTest, CrashIsReportedAndBackedOff) {
  Start();
  slot_->Exited(W_EXITCODE(0, SIGSEGV), true);
  ASSERT_EQ(owner_.exits.size(), 1u);
  EXPECT_EQ(owner_.exits[0].how, WorkerSlot::Exit::kCrashed);
  EXPECT_EQ(slot_->state(), WorkerSlot::State::kBackoff);
}

TEST_F(WorkerSlotTest, OverTheLimitAtBirthParksTheSlot) {
  Start();
  slot_->Exited(W_EXITCODE(kExitShutdown, 0), true);
  ASSERT_EQ(owner_.exits.size(), 1u);
  EXPECT_EQ(owner_.exits[0].how, WorkerSlot::Exit::kParked);
  EXPECT_EQ(slot_->state(), WorkerSlot::State::kParked);
}

TEST_F(WorkerSlotTest, ExitNotToBeReplacedEmptiesTheSlot) {
  Start();
  slot_->Exited(W_EXITCODE(kExitOk, 0), false);
  ASSERT_EQ(owner_.exits.size(), 1u);
  EXPECT_EQ(owner_.exits[0].how, WorkerSlot::Exit::kRetired);
  EXPECT_EQ(slot_->state(), WorkerSlot::State::kEmpty);
  EXPECT_TRUE(owner_.spawns.empty());
}

}  // namespace
}  // namespace qd
