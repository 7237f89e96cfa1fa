#include "core/os/accept_pause.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <sstream>
#include <vector>

namespace qd {
namespace {

using std::chrono::milliseconds;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// An AcceptPause of 20 ms on its own event_base, recording the Toggle's
// calls, with the default logger writing into log_.
class AcceptPauseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    ASSERT_NE(base_, nullptr);
    old_logger_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("t", sink));
    pause_ = std::make_unique<AcceptPause>(
        base_, "test.listener", milliseconds(20),
        [this](bool accept) { toggles_.push_back(accept); });
  }
  void TearDown() override {
    pause_.reset();
    event_base_free(base_);
    spdlog::set_default_logger(old_logger_);
  }

  // Runs the loop until the Toggle has been called `n` times in all, for
  // at most 2 s.
  bool RunUntilToggles(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (int turns = 0; turns < 1000 && toggles_.size() < n &&
                        std::chrono::steady_clock::now() < deadline;
         ++turns) {
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return toggles_.size() >= n;
  }

  event_base* base_ = nullptr;
  std::shared_ptr<spdlog::logger> old_logger_;
  std::ostringstream log_;
  std::vector<bool> toggles_;
  std::unique_ptr<AcceptPause> pause_;
};

TEST_F(AcceptPauseTest, LeavesOtherErrorsToTheCaller) {
  EXPECT_FALSE(pause_->OnAcceptError(ECONNRESET));
  EXPECT_FALSE(pause_->OnAcceptError(EINVAL));
  EXPECT_TRUE(toggles_.empty());
  EXPECT_FALSE(pause_->paused());
  EXPECT_EQ(log_.str(), "");
}

TEST_F(AcceptPauseTest, StopsThenResumesAfterThePause) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(pause_->OnAcceptError(EMFILE));
  EXPECT_EQ(toggles_, std::vector<bool>{false});
  EXPECT_TRUE(pause_->paused());
  ASSERT_TRUE(RunUntilToggles(2));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(15));
  EXPECT_EQ(toggles_, (std::vector<bool>{false, true}));
  EXPECT_FALSE(pause_->paused());
}

TEST_F(AcceptPauseTest, LogsOncePerEpisode) {
  for (int error : {EMFILE, ENFILE, EMFILE}) {
    ASSERT_TRUE(pause_->OnAcceptError(error));
    ASSERT_TRUE(RunUntilToggles(toggles_.size() + 1));
  }
  EXPECT_EQ(pause_->failures(), 3u);
  EXPECT_EQ(Count(log_.str(), "pausing accepts"), 1u) << log_.str();
  pause_->OnAccepted();
  pause_->OnAccepted();
  EXPECT_EQ(pause_->failures(), 0u);
  EXPECT_EQ(Count(log_.str(), "accepting again"), 1u) << log_.str();
  EXPECT_EQ(Count(log_.str(), "(3 failed accepts)"), 1u) << log_.str();

  ASSERT_TRUE(pause_->OnAcceptError(ENOBUFS));
  EXPECT_EQ(pause_->episodes(), 2u);
  EXPECT_EQ(Count(log_.str(), "pausing accepts"), 2u) << log_.str();
}

TEST_F(AcceptPauseTest, DestructionCancelsTheResume) {
  ASSERT_TRUE(pause_->OnAcceptError(EMFILE));
  pause_.reset();
  event_base_loop(base_, EVLOOP_NONBLOCK);
  EXPECT_EQ(toggles_, std::vector<bool>{false});
}

}  // namespace
}  // namespace qd
