#include "core/worker/master_link.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/worker/io_master.h"
#include "core/worker/slot_board.h"

namespace qd {
namespace {

class MasterLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Channel::Pair(&master_end_, &worker_end_).ok());
  }

  // Adds a link on worker_end_; a drain stops the loop.
  void AddLink(SlotBoard* board, Duration heartbeat_timeout) {
    io_.Add(std::make_unique<MasterLink>(
        &worker_end_, board, heartbeat_timeout,
        MasterLink::Hooks{[this](const std::string& why) {
                            drains_.push_back(why);
                            io_.Stop();
                          },
                          [this](const std::string& site, bool paused) {
                            pauses_.emplace_back(site, paused);
                          }}));
  }

  IoMaster io_;
  Channel master_end_, worker_end_;
  std::vector<std::string> drains_;
  std::vector<std::pair<std::string, bool>> pauses_;
};

TEST_F(MasterLinkTest, CommandsReachTheHooksInOrder) {
  AddLink(nullptr, Duration(0));
  ASSERT_TRUE(master_end_.Send({{"t", "pause"}, {"site", "a"}}));
  ASSERT_TRUE(master_end_.Send({{"t", "resume"}}));
  ASSERT_TRUE(master_end_.Send({{"t", "drain"}}));
  ASSERT_EQ(io_.Run(), 0);
  EXPECT_EQ(pauses_, (std::vector<std::pair<std::string, bool>>{{"a", true},
                                                                {"*", false}}));
  EXPECT_EQ(drains_, std::vector<std::string>{"the master asked to drain"});
}

TEST_F(MasterLinkTest, MasterGoneDrainsAndBeats) {
  SlotBoard* board = SlotBoard::Create();
  ASSERT_NE(board, nullptr);
  AddLink(board, Duration(1000));
  master_end_.Close();
  ASSERT_EQ(io_.Run(), 0);
  EXPECT_EQ(drains_, std::vector<std::string>{"the master is gone"});
  EXPECT_GT(board->Read().beat_ms, 0);
  SlotBoard::Destroy(board);
}

}  // namespace
}  // namespace qd
