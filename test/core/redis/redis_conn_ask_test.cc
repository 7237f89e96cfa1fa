// ASK on the synchronous connection (queuectl, request workers): the
// command goes again, after ASKING, on a short connection to the node
// named, with the same login; scripts and AppendRaw()'s commands are not
// followed; an unreachable node is an error naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/redis/redis_client.h"
#include "core/redis/redis_conn.h"
#include "test/core/redis/fake_cluster_node.h"
#include "test/core/redis/lookup_fixtures.h"

namespace qd {
namespace {

using test::FakeClusterNode;

std::string Importing(const FakeClusterNode::Args& a, bool asking) {
  return asking ? FakeClusterNode::Bulk("to:" + a[0] + ":" + a[1])
                : "-MOVED 3999 127.0.0.1:1\r\n";
}

// Answers ASK towards `to_port` for a command naming the key "moved".
FakeClusterNode::Answer AskFor(int to_port) {
  return [to_port](const FakeClusterNode::Args& a, bool) -> std::string {
    if (std::find(a.begin() + 1, a.end(), "moved") != a.end()) {
      return "-ASK 3999 127.0.0.1:" + std::to_string(to_port) + "\r\n";
    }
    return FakeClusterNode::Bulk("from:" + a[0]);
  };
}

std::unique_ptr<RedisConn> Open(int port, bool cluster = true) {
  RedisUrl url;
  url.host = "127.0.0.1";
  url.port = port;
  url.password = "s3cret";
  if (cluster) {
    url.cluster = {{"127.0.0.1", port}};
    url.cluster_key = "qd:{a}:delayed";
  }
  std::unique_ptr<RedisConn> conn;
  Status s = RedisConn::Open(url, &conn, {2, 0});
  EXPECT_TRUE(s.ok()) << s.message();
  return conn;
}

TEST(RedisConnAskTest, CallAndReadFollowAsk) {
  FakeClusterNode to(Importing);
  FakeClusterNode from(AskFor(to.port()));
  std::unique_ptr<RedisConn> conn = Open(from.port());
  ASSERT_NE(conn, nullptr);
  ReplyPtr r;
  ASSERT_TRUE(conn->Call({"XLEN", "moved"}, &r).ok());
  EXPECT_EQ(ReplyString(r.get()), "to:XLEN:moved");
  conn->Append({"GET", "here"});
  conn->Append({"GET", "moved"});
  ASSERT_TRUE(conn->Read(&r).ok());
  EXPECT_EQ(ReplyString(r.get()), "from:GET");
  ASSERT_TRUE(conn->Read(&r).ok());
  EXPECT_EQ(ReplyString(r.get()), "to:GET:moved");
  // A short connection each time, logged in.
  EXPECT_EQ(to.connections(), 2);
  EXPECT_EQ(to.Count("AUTH"), 2);
  EXPECT_EQ(to.Count("ASKING"), 2);
}

TEST(RedisConnAskTest, ScriptsAndRawCommandsAreNotFollowed) {
  FakeClusterNode to(Importing);
  FakeClusterNode from(AskFor(to.port()));
  std::unique_ptr<RedisConn> conn = Open(from.port());
  ASSERT_NE(conn, nullptr);
  conn->Append({"FCALL", "qd_enqueue", "1", "moved"});
  RespBuffer raw;
  raw.Add({"XADD", "moved", "*", "payload", "p"});
  conn->AppendRaw(raw);
  ReplyPtr r;
  ASSERT_TRUE(conn->Read(&r).ok());
  EXPECT_EQ(ReplyString(r.get()).substr(0, 4), "ASK ");
  ASSERT_TRUE(conn->Read(&r).ok());
  EXPECT_EQ(ReplyString(r.get()).substr(0, 4), "ASK ");
  EXPECT_EQ(to.connections(), 0);
}

TEST(RedisConnAskTest, AnUnreachableNodeIsAnErrorNamingIt) {
  int closed = test::ClosedPort();
  FakeClusterNode from(AskFor(closed));
  std::unique_ptr<RedisConn> conn = Open(from.port());
  ASSERT_NE(conn, nullptr);
  Status s = conn->Call({"GET", "moved"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(closed)),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("ASK 3999"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos);
}

TEST(RedisConnAskTest, AUrlWithoutSeedsDoesNotFollow) {
  FakeClusterNode to(Importing);
  FakeClusterNode from(AskFor(to.port()));
  std::unique_ptr<RedisConn> conn = Open(from.port(), /*cluster=*/false);
  ASSERT_NE(conn, nullptr);
  Status s = conn->Call({"GET", "moved"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ASK 3999"), std::string::npos);
  EXPECT_EQ(to.connections(), 0);
}

}  // namespace
}  // namespace qd
