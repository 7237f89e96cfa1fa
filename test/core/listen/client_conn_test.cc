#include "core/listen/client_conn.h"

#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

namespace qd {
namespace {

// A connection on one end of a socketpair, driven by hand: the test writes
// to the other end and turns the loop; kInput takes frames as the Listener
// does.
class ClientConnTest : public ::testing::Test, private ClientConn::Owner {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    fcntl(fds_[0], F_SETFL, O_NONBLOCK);
    fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    config_.terminator = "\n";
    config_.max_frame = 1 << 20;
  }
  void TearDown() override {
    conn_.reset();
    if (fds_[1] >= 0) close(fds_[1]);
    event_base_free(base_);
  }
  void Accept() {
    conn_ = ClientConn::Accept(base_, fds_[0], 1, "c1", "unix", config_, this);
    ASSERT_NE(conn_, nullptr);
  }
  // Writes `bytes` to the client end while it takes them, turning the loop
  // in between, until all are written or nothing moves any more.
  size_t Feed(const std::string& bytes) {
    size_t written = 0;
    for (int idle = 0; idle < 50 && written < bytes.size();) {
      ssize_t n =
          write(fds_[1], bytes.data() + written, bytes.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      event_base_loop(base_, EVLOOP_NONBLOCK);
      idle = n > 0 ? 0 : idle + 1;
    }
    for (int i = 0; i < 10; ++i) event_base_loop(base_, EVLOOP_NONBLOCK);
    return written;
  }

  ListenerConfig config_;
  event_base* base_ = event_base_new();
  int fds_[2] = {-1, -1};
  std::unique_ptr<ClientConn> conn_;

 private:
  void OnConnEvent(ClientConn* c, ClientConn::Event event) override {
    if (event != ClientConn::Event::kInput) return;
    bool too_long = false;
    c->TakeFrames(&too_long);
  }
};

// Large frames fill the queue by their bytes long before kMaxQueued of
// them are there: at most kMaxQueuedBytes plus one frame is queued.
TEST_F(ClientConnTest, QueueIsBoundedInBytesNotOnlyInCount) {
  ASSERT_NO_FATAL_FAILURE(Accept());
  std::string frames;
  for (int i = 0; i < 20; ++i) frames += std::string(200 << 10, 'a') + "\n";
  Feed(frames);
  size_t bytes = 0;
  for (const std::string& f : conn_->queued()) bytes += f.size();
  EXPECT_GT(conn_->queued().size(), 0u);
  EXPECT_LT(conn_->queued().size(), ClientConn::kMaxQueued);
  EXPECT_TRUE(conn_->queue_full());
  EXPECT_LE(bytes, ClientConn::kMaxQueuedBytes + config_.max_frame);
  // Taking one out lets reading go on.
  conn_->PopQueued();
  EXPECT_TRUE(conn_->ResumeRead());
}

// Replies over max_output stop reading until the client reads them.
TEST_F(ClientConnTest, OutputOverMaxOutputStopsReading) {
  config_.max_output = 64 << 10;
  ASSERT_NO_FATAL_FAILURE(Accept());
  conn_->PauseRead();
  // The socketpair's buffer takes some; the rest stays in the output.
  bool full = false;
  for (int i = 0; i < 1000 && !full; ++i) {
    full = conn_->Reply(std::string(16 << 10, 'r'), "\n");
    event_base_loop(base_, EVLOOP_NONBLOCK);
  }
  ASSERT_TRUE(full);
  EXPECT_TRUE(conn_->output_full());
  EXPECT_FALSE(conn_->ResumeRead());
}

}  // namespace
}  // namespace qd
