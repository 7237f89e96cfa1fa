#include "core/listen/socket_stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace qd {
namespace {

// A stream on one end of a socketpair, the test on the other end, the loop
// turned by hand.
class SocketStreamTest : public ::testing::Test {
 protected:
  void Open(int type = SOCK_STREAM) {
    ASSERT_EQ(socketpair(AF_UNIX, type, 0, fds_), 0);
    fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    stream_ = SocketStream::New(base_, fds_[0]);
    stream_->SetCallbacks(&SocketStreamTest::OnRead, &SocketStreamTest::OnWrite,
                          &SocketStreamTest::OnEvent, this);
  }
  void TearDown() override {
    stream_.reset();
    if (fds_[1] >= 0) close(fds_[1]);
    event_base_free(base_);
  }
  void Turn() { event_base_loop(base_, EVLOOP_NONBLOCK); }
  // Turns the loop until `done` or 5 s passed (the loop waits at most
  // 10 ms a turn).
  template <typename Done>
  bool TurnUntil(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    timeval tick = {0, 10000};
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      event_base_loopexit(base_, &tick);
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return true;
  }
  // What the peer can read now.
  std::string PeerRead() {
    std::string got;
    char buf[65536];
    ssize_t n;
    while ((n = recv(fds_[1], buf, sizeof buf, 0)) > 0) got.append(buf, n);
    return got;
  }

  event_base* base_ = event_base_new();
  int fds_[2] = {-1, -1};
  std::unique_ptr<SocketStream> stream_;
  std::vector<short> events_;
  int reads_ = 0;
  int writes_ = 0;
  bool free_on_read_ = false;

 private:
  static void OnRead(SocketStream*, void* arg) {
    auto* t = static_cast<SocketStreamTest*>(arg);
    ++t->reads_;
    if (t->free_on_read_) t->stream_.reset();
  }
  static void OnWrite(SocketStream*, void* arg) {
    ++static_cast<SocketStreamTest*>(arg)->writes_;
  }
  static void OnEvent(SocketStream*, short what, void* arg) {
    static_cast<SocketStreamTest*>(arg)->events_.push_back(what);
  }
};

// Nothing is written inside Write(); what one turn queued goes out at the
// end of the turn in one sendmsg() (one record on a SOCK_SEQPACKET peer).
TEST_F(SocketStreamTest, WritesOfOneTurnGoOutTogetherAtItsEnd) {
  ASSERT_NO_FATAL_FAILURE(Open(SOCK_SEQPACKET));
  stream_->Write("one ");
  stream_->Write("two");
  EXPECT_EQ(PeerRead(), "");
  EXPECT_EQ(stream_->output_size(), 7u);
  Turn();
  char buf[64];
  ssize_t n = recv(fds_[1], buf, sizeof buf, 0);
  ASSERT_EQ(n, 7);
  EXPECT_EQ(std::string(buf, n), "one two");
  EXPECT_EQ(stream_->output_size(), 0u);
  EXPECT_EQ(writes_, 1);  // low water 0: the output is empty
}

TEST_F(SocketStreamTest, ReadsWhileEnabledOnly) {
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_EQ(write(fds_[1], "abc", 3), 3);
  Turn();
  EXPECT_EQ(reads_, 0);  // reading starts off
  stream_->EnableRead();
  ASSERT_TRUE(TurnUntil([&] { return reads_ > 0; }));
  EXPECT_EQ(evbuffer_get_length(stream_->input()), 3u);
  stream_->DisableRead();
  ASSERT_EQ(write(fds_[1], "d", 1), 1);
  for (int i = 0; i < 5; ++i) Turn();
  EXPECT_EQ(reads_, 1);
}

// A peer that does not read: the rest waits for the socket to be writable,
// and the write callback comes once the output is down to its low water.
TEST_F(SocketStreamTest, FullSocketWritesTheRestWhenThePeerReads) {
  ASSERT_NO_FATAL_FAILURE(Open());
  stream_->set_write_low_water(1000);
  const std::string big(4 << 20, 'x');
  stream_->Write(big);
  Turn();
  EXPECT_GT(stream_->output_size(), 0u);
  EXPECT_EQ(writes_, 0);
  size_t got = 0;
  ASSERT_TRUE(TurnUntil([&] {
    got += PeerRead().size();
    return got == big.size();
  }));
  EXPECT_EQ(stream_->output_size(), 0u);
  EXPECT_GE(writes_, 1);
  EXPECT_TRUE(events_.empty());
}

TEST_F(SocketStreamTest, WriteTimeoutWhenThePeerNeverReads) {
  ASSERT_NO_FATAL_FAILURE(Open());
  timeval tv = {0, 50000};
  stream_->SetWriteTimeout(&tv);
  stream_->Write(std::string(4 << 20, 'x'));
  ASSERT_TRUE(TurnUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(events_, std::vector<short>{SocketStream::kTimeout});
}

// EOF stops reading; replies to what came before it are still written.
TEST_F(SocketStreamTest, EofStopsReadingAndWritingGoesOn) {
  ASSERT_NO_FATAL_FAILURE(Open());
  stream_->EnableRead();
  ASSERT_EQ(write(fds_[1], "q", 1), 1);
  ASSERT_EQ(shutdown(fds_[1], SHUT_WR), 0);
  ASSERT_TRUE(TurnUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(events_, std::vector<short>{SocketStream::kEof});
  EXPECT_FALSE(stream_->reading());
  EXPECT_EQ(evbuffer_get_length(stream_->input()), 1u);
  stream_->Write("answer");
  Turn();
  EXPECT_EQ(PeerRead(), "answer");
}

// A peer that is gone: an error with its errno, never a SIGPIPE.
TEST_F(SocketStreamTest, WriteToAPeerThatLeftIsAnError) {
  ASSERT_NO_FATAL_FAILURE(Open());
  close(fds_[1]);
  fds_[1] = -1;
  stream_->Write("lost");
  ASSERT_TRUE(TurnUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(events_, std::vector<short>{SocketStream::kError});
  EXPECT_EQ(stream_->error(), EPIPE);
  EXPECT_EQ(writes_, 0);
}

TEST_F(SocketStreamTest, MayBeFreedFromItsOwnCallback) {
  ASSERT_NO_FATAL_FAILURE(Open());
  free_on_read_ = true;
  stream_->EnableRead();
  ASSERT_EQ(write(fds_[1], "x", 1), 1);
  ASSERT_TRUE(TurnUntil([&] { return reads_ > 0; }));
  EXPECT_EQ(stream_, nullptr);
  for (int i = 0; i < 3; ++i) Turn();
  EXPECT_EQ(reads_, 1);
  // The stream closed its socket: the peer sees EOF.
  char c;
  EXPECT_EQ(recv(fds_[1], &c, 1, 0), 0);
}

// A write queued in a turn whose read callback frees the stream is dropped
// with it (its end-of-turn event goes with the stream).
TEST_F(SocketStreamTest, FreedWithAWriteQueued) {
  ASSERT_NO_FATAL_FAILURE(Open());
  stream_->Write("queued");
  stream_.reset();
  for (int i = 0; i < 3; ++i) Turn();
  char c;
  EXPECT_EQ(recv(fds_[1], &c, 1, 0), 0);
}

}  // namespace
}  // namespace qd
