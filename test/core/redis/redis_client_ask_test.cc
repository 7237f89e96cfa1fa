// ASK from a Redis Cluster node (a slot migrating): RedisClient sends the
// command again, after ASKING, on a side connection to the node named, and
// the callback gets that node's reply; scripts and transactions are not
// followed; an unreachable or silent node fails the command with the ASK
// and backs off. Two fake nodes (fake_cluster_node.h): `from` answers ASK
// for the key "moved", `to` serves it only after ASKING.
#include <event2/event.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/redis/redis_client.h"
#include "test/core/redis/fake_cluster_node.h"
#include "test/core/redis/lookup_fixtures.h"

namespace qd {
namespace {

using std::chrono::milliseconds;
using test::FakeClusterNode;

class RedisClientAskTest : public ::testing::Test {
 protected:
  RedisClientAskTest()
      : base_(event_base_new()),
        tick_(event_new(
            base_, -1, EV_PERSIST, [](int, short, void*) {}, nullptr)) {
    timeval every = {0, 10000};  // wakes the loop to look at the condition
    event_add(tick_, &every);
  }
  ~RedisClientAskTest() override {
    client_.reset();
    event_free(tick_);
    event_base_free(base_);
  }

  // `to_port`: where the ASK sends "moved" (the `to` node by default).
  void StartFrom(int to_port) {
    from_ = std::make_unique<FakeClusterNode>(
        [to_port](const FakeClusterNode::Args& a, bool) -> std::string {
          if (a.size() > 1 && a[1] == "moved") {
            return "-ASK 3999 127.0.0.1:" + std::to_string(to_port) + "\r\n";
          }
          if (a.size() > 1 && a[1] == "split") {
            return "-TRYAGAIN Multiple keys request during rehashing of "
                   "slot\r\n";
          }
          return FakeClusterNode::Bulk("from:" + a[0]);
        });
  }

  void Connect(bool cluster = true) {
    RedisUrl url;
    url.host = "127.0.0.1";
    url.port = from_->port();
    url.username = "qd";
    url.password = "s3cret";
    if (cluster) {
      url.cluster = {{"127.0.0.1", from_->port()}};
      url.cluster_key = "qd:{a}:delayed";
    }
    client_ = std::make_unique<RedisClient>(base_, url, "test");
    client_->Start();
    ASSERT_TRUE(RunUntil([&] { return client_->connected(); }));
  }

  template <typename Cond>
  bool RunUntil(Cond cond, milliseconds limit = milliseconds(5000)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
      if (std::chrono::steady_clock::now() > end) return false;
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return true;
  }

  // Sends `args`; the reply's text (or "null") lands in *out.
  void Send(std::vector<std::string_view> args, std::string* out) {
    ASSERT_TRUE(client_->Command(args, [out](redisReply* r) {
      *out = r == nullptr ? "null" : std::string(ReplyString(r));
    }));
  }

  event_base* base_;
  event* tick_;
  std::unique_ptr<FakeClusterNode> from_;
  std::unique_ptr<RedisClient> client_;
};

// Serves only after ASKING, as an importing node does.
std::string Importing(const FakeClusterNode::Args& a, bool asking) {
  return asking ? FakeClusterNode::Bulk("to:" + a[0] + ":" + a[1])
                : "-MOVED 3999 127.0.0.1:1\r\n";
}

TEST_F(RedisClientAskTest, FollowsAskWithAskingAndTheSameLogin) {
  FakeClusterNode to(Importing);
  StartFrom(to.port());
  ASSERT_NO_FATAL_FAILURE(Connect());
  std::string first, second, other;
  ASSERT_NO_FATAL_FAILURE(Send({"XACK", "moved", "1-1"}, &first));
  ASSERT_NO_FATAL_FAILURE(Send({"GET", "here"}, &other));
  ASSERT_NO_FATAL_FAILURE(Send({"XLEN", "moved"}, &second));
  ASSERT_TRUE(RunUntil([&] { return !first.empty() && !second.empty(); }));
  EXPECT_EQ(first, "to:XACK:moved");
  EXPECT_EQ(second, "to:XLEN:moved");
  EXPECT_EQ(other, "from:GET");
  EXPECT_EQ(client_->asks_followed(), 2u);
  // One side connection, logged in as the main one, ASKING before each.
  EXPECT_EQ(to.connections(), 1);
  std::vector<FakeClusterNode::Args> seen = to.seen();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], (FakeClusterNode::Args{"AUTH", "qd", "s3cret"}));
  EXPECT_EQ(seen[1][0], "ASKING");
  EXPECT_EQ(seen[2][0], "XACK");
  EXPECT_EQ(seen[3][0], "ASKING");
  EXPECT_EQ(seen[4][0], "XLEN");
}

TEST_F(RedisClientAskTest, ScriptsAndTransactionsAreNotFollowed) {
  FakeClusterNode to(Importing);
  StartFrom(to.port());
  ASSERT_NO_FATAL_FAILURE(Connect());
  std::string eval, queued, exec, after;
  ASSERT_NO_FATAL_FAILURE(Send({"eval", "moved", "0"}, &eval));
  ASSERT_NO_FATAL_FAILURE(Send({"MULTI"}, &queued));
  ASSERT_NO_FATAL_FAILURE(Send({"XACK", "moved", "1-1"}, &queued));
  ASSERT_NO_FATAL_FAILURE(Send({"EXEC"}, &exec));
  // After EXEC, commands follow again.
  ASSERT_NO_FATAL_FAILURE(Send({"XACK", "moved", "1-2"}, &after));
  ASSERT_TRUE(RunUntil([&] { return !after.empty(); }));
  EXPECT_EQ(eval.substr(0, 4), "ASK ");
  EXPECT_EQ(queued.substr(0, 4), "ASK ");
  EXPECT_EQ(exec, "from:EXEC");
  EXPECT_EQ(after, "to:XACK:moved");
  EXPECT_EQ(to.Count("XACK"), 1);
  EXPECT_EQ(to.Count("eval"), 0);
}

// A url naming one node follows nothing: the ASK is the reply.
TEST_F(RedisClientAskTest, AUrlWithoutSeedsDoesNotFollow) {
  FakeClusterNode to(Importing);
  StartFrom(to.port());
  ASSERT_NO_FATAL_FAILURE(Connect(/*cluster=*/false));
  std::string reply;
  ASSERT_NO_FATAL_FAILURE(Send({"GET", "moved"}, &reply));
  ASSERT_TRUE(RunUntil([&] { return !reply.empty(); }));
  EXPECT_EQ(reply.substr(0, 4), "ASK ");
  EXPECT_EQ(to.connections(), 0);
  EXPECT_EQ(client_->asks_followed(), 0u);
}

// Nothing listens where the ASK points: the command fails with the ASK (an
// error, as when not followed), and while the link backs off the next one
// fails at once, without a connect.
TEST_F(RedisClientAskTest, AnUnreachableNodeFailsTheCommandAndBacksOff) {
  StartFrom(test::ClosedPort());
  ASSERT_NO_FATAL_FAILURE(Connect());
  std::string first, second;
  ASSERT_NO_FATAL_FAILURE(Send({"GET", "moved"}, &first));
  ASSERT_TRUE(RunUntil([&] { return !first.empty(); }));
  EXPECT_EQ(first.substr(0, 4), "ASK ");
  ASSERT_NO_FATAL_FAILURE(Send({"GET", "moved"}, &second));
  ASSERT_TRUE(RunUntil([&] { return !second.empty(); }));
  EXPECT_EQ(second.substr(0, 4), "ASK ");
  EXPECT_EQ(client_->asks_followed(), 1u);  // the second was not sent on
  EXPECT_TRUE(client_->connected());        // the main connection stays
}

// A node that takes the command and never answers: the reply deadline
// fails it with the ASK.
TEST_F(RedisClientAskTest, ASilentNodeFailsTheCommandAtTheDeadline) {
  FakeClusterNode to([](const FakeClusterNode::Args&, bool) { return ""; });
  StartFrom(to.port());
  ASSERT_NO_FATAL_FAILURE(Connect());
  client_->set_reply_timeout(milliseconds(300));
  std::string reply;
  auto sent = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(Send({"GET", "moved"}, &reply));
  ASSERT_TRUE(RunUntil([&] { return !reply.empty(); }));
  EXPECT_EQ(reply.substr(0, 4), "ASK ");
  EXPECT_GE(std::chrono::steady_clock::now() - sent, milliseconds(250));
  EXPECT_TRUE(client_->connected());
}

// The client stopped while a command waits on the side connection: its
// callback gets null, as for any connection lost.
TEST_F(RedisClientAskTest, StopGivesAWaitingCommandANullReply) {
  FakeClusterNode to([](const FakeClusterNode::Args&, bool) { return ""; });
  StartFrom(to.port());
  ASSERT_NO_FATAL_FAILURE(Connect());
  std::string reply;
  ASSERT_NO_FATAL_FAILURE(Send({"GET", "moved"}, &reply));
  ASSERT_TRUE(RunUntil([&] { return to.Count("GET") == 1; }));
  EXPECT_TRUE(reply.empty());
  client_->Stop();
  EXPECT_EQ(reply, "null");
}

// TRYAGAIN comes to the callback as the error it is.
TEST_F(RedisClientAskTest, TryAgainFailsTheCommand) {
  FakeClusterNode to(Importing);
  StartFrom(to.port());
  ASSERT_NO_FATAL_FAILURE(Connect());
  std::string reply;
  ASSERT_NO_FATAL_FAILURE(Send({"EVAL", "split", "0"}, &reply));
  ASSERT_TRUE(RunUntil([&] { return !reply.empty(); }));
  EXPECT_EQ(reply.substr(0, 8), "TRYAGAIN");
  EXPECT_TRUE(client_->connected());
}

}  // namespace
}  // namespace qd
