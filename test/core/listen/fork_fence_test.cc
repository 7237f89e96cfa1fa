#include "core/listen/fork_fence.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "core/listen/request_wire.h"
#include "core/listen/worker_proc.h"

namespace qd {
namespace {

// Not a process of ours and never signalled: the fence only signals in
// Terminate() and SignalAll(), which these tests do not call.
constexpr pid_t kPid = 999999;

class ForkFenceTest : public ::testing::Test,
                      private ForkFence::Owner,
                      private WorkerProc::Owner {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    ASSERT_NE(base_, nullptr);
    ForkFence::Owner* fence_owner = this;
    fence_ = std::make_unique<ForkFence>(base_, config_, &stats_, fence_owner);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    worker_end_ = sv[1];
    WorkerProc::Owner* owner = this;
    proc_ = fence_->Add(
        std::make_unique<WorkerProc>(base_, kPid, sv[0], nullptr, owner));
  }

  void TearDown() override {
    fence_.reset();
    close(worker_end_);
    event_base_free(base_);
  }

  // A worker asked of a fork server, on channel `fd` (taken over).
  WorkerProc* AddPending(int fd) {
    WorkerProc::Owner* owner = this;
    return fence_->Add(
        std::make_unique<WorkerProc>(base_, -1, fd, nullptr, owner));
  }

  // ForkFence::Owner: no connection waits in these tests.
  void Admit(uint64_t) override {}
  void TimedOut(const std::vector<uint64_t>&) override {}

  // WorkerProc::Owner: the first reply releases the worker, as the
  // listener does when its client left during the request.
  void OnWorkerReply(WorkerProc* p, WireMessage& message) override {
    replies_.push_back(message.body);
    fence_->Release(p);
    // The worker was reaped before: it is done, yet still valid here.
    released_in_callback_ = p->released() && p->reaped();
  }
  void OnWorkerGone(WorkerProc* p, const std::string&) override {
    ++gone_;
    fence_->Release(p);
  }
  void OnKeepaliveEnd(WorkerProc* p) override { fence_->Release(p); }

  ListenerConfig config_;
  ListenerStats stats_;
  event_base* base_ = nullptr;
  std::unique_ptr<ForkFence> fence_;
  WorkerProc* proc_ = nullptr;
  int worker_end_ = -1;
  std::vector<std::string> replies_;
  bool released_in_callback_ = false;
  int gone_ = 0;
};

// The worker wrote two messages and was reaped before the master read its
// channel (shutdown's SIGKILL does this). The first reply releases it from
// inside its own read callback, which then checks the channel before
// decoding the next message: the fence must not have freed it yet.
TEST_F(ForkFenceTest, WorkerReleasedInsideItsReadCallbackIsFreedAfterTheTurn) {
  proc_->Send(R"({"t":"request"})", "one");
  ASSERT_TRUE(RequestWire::Write(worker_end_, {{"t", "reply"}}, "first"));
  ASSERT_TRUE(RequestWire::Write(worker_end_, {{"t", "reply"}}, "second"));
  ASSERT_TRUE(fence_->Reaped(kPid, 0));
  EXPECT_EQ(fence_->alive(), 0);

  ASSERT_EQ(event_base_loop(base_, EVLOOP_ONCE), 0);
  event_base_loop(base_, EVLOOP_NONBLOCK);  // frees it if still due

  EXPECT_TRUE(released_in_callback_);
  EXPECT_EQ(replies_, std::vector<std::string>{"first"});
  EXPECT_EQ(gone_, 0);
  EXPECT_EQ(fence_->busy(), 0);
}

// A worker asked of the fork server counts at once, before its pid is
// known; the pid makes it reapable by pid, and a lost fork counts as
// reaped, so the fence frees its place.
TEST_F(ForkFenceTest, PendingWorkerCountsUntilForkedAndReapedOrLost) {
  int a[2], b[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
  WorkerProc* forked = AddPending(a[0]);
  WorkerProc* lost = AddPending(b[0]);
  EXPECT_EQ(fence_->alive(), 3);
  EXPECT_EQ(stats_.forks, 1u) << "counted once forked";
  EXPECT_FALSE(fence_->Reaped(kPid + 1, 0)) << "pid not known yet";

  fence_->Forked(forked, kPid + 1);
  EXPECT_EQ(forked->pid(), kPid + 1);
  EXPECT_EQ(stats_.forks, 2u);
  EXPECT_TRUE(fence_->Reaped(kPid + 1, 0));
  fence_->ForkFailed(lost);
  EXPECT_EQ(fence_->alive(), 1);
  fence_->ForkFailed(lost);  // once only
  EXPECT_EQ(fence_->alive(), 1);

  fence_->Release(forked);
  fence_->Release(lost);
  event_base_loop(base_, EVLOOP_NONBLOCK);  // frees the done ones
  EXPECT_EQ(fence_->busy(), 0);
  close(a[1]);
  close(b[1]);
}

// Closed (no fork server), the fence lets no one fork.
TEST_F(ForkFenceTest, ClosedFenceMayNotFork) {
  config_.max_concurrent = 8;
  EXPECT_TRUE(fence_->MayFork());
  fence_->set_open(false);
  EXPECT_FALSE(fence_->MayFork());
  fence_->set_open(true);
  EXPECT_TRUE(fence_->MayFork());
}

}  // namespace
}  // namespace qd
