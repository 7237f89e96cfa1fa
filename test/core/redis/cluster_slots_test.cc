// The Cluster key slot (CRC16 and hash tags), the CLUSTER SLOTS map and the
// MOVED/ASK parsing, on replies written as RESP the way a node sends them.
#include "core/redis/cluster_slots.h"

#include <gtest/gtest.h>
#include <hiredis/read.h>

#include <memory>
#include <string>

namespace qd {
namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// `resp` parsed by hiredis' reader: one complete reply.
Reply Parse(const std::string& resp) {
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  EXPECT_NE(reply, nullptr) << "incomplete: " << resp;
  return Reply(static_cast<redisReply*>(reply));
}

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

std::string Node(const std::string& host, int port) {
  return "*3\r\n" + Bulk(host) + ":" + std::to_string(port) + "\r\n" +
         Bulk("09dbe9720cda62f7865eabc5fd8857c5d2678366");
}

std::string Range(int start, int end, const std::string& nodes, int count) {
  return "*" + std::to_string(2 + count) + "\r\n:" + std::to_string(start) +
         "\r\n:" + std::to_string(end) + "\r\n" + nodes;
}

// Three masters with a replica each, as `redis-cli --cluster create` splits
// the slots.
std::string ThreeMasters() {
  return "*3\r\n" +
         Range(0, 5460, Node("127.0.0.1", 7000) + Node("127.0.0.1", 7003), 2) +
         Range(10923, 16383, Node("127.0.0.1", 7002) + Node("127.0.0.1", 7005),
               2) +
         Range(5461, 10922, Node("127.0.0.1", 7001) + Node("127.0.0.1", 7004),
               2);
}

TEST(ClusterSlotsTest, KeySlotIsTheSpecificationsCrc16) {
  EXPECT_EQ(ClusterCrc16("123456789"), 0x31C3);  // the spec's check value
  EXPECT_EQ(KeySlot("foo"), 12182);              // CLUSTER KEYSLOT foo
  EXPECT_EQ(KeySlot("hello"), 866);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(ClusterSlotsTest, HashTagsHashOnlyTheirContent) {
  EXPECT_EQ(KeySlot("qd:{shop}:q:mail"), KeySlot("shop"));
  EXPECT_EQ(KeySlot("qd:{shop}:delayed"), KeySlot("{shop}"));
  // The first '{' and the next '}'; an empty tag hashes the whole key.
  EXPECT_EQ(KeySlot("{a}{b}"), KeySlot("a"));
  EXPECT_EQ(KeySlot("x{}{a}"), KeySlot("x{}{a}"));
  EXPECT_NE(KeySlot("x{}{a}"), KeySlot("a"));
  EXPECT_EQ(KeySlot("x{a"), ClusterCrc16("x{a") % 16384);
}

TEST(ClusterSlotsTest, MapsEverySlotToItsMaster) {
  ClusterSlots map;
  Reply r = Parse(ThreeMasters());
  ASSERT_TRUE(map.Parse(r.get(), "10.9.9.9").ok());
  EXPECT_EQ(map.ranges(), 3u);
  EXPECT_EQ(map.MasterOf(0)->port, 7000);
  EXPECT_EQ(map.MasterOf(5460)->port, 7000);
  EXPECT_EQ(map.MasterOf(5461)->port, 7001);
  EXPECT_EQ(map.MasterOf(10922)->port, 7001);
  EXPECT_EQ(map.MasterOf(10923)->port, 7002);
  EXPECT_EQ(map.MasterOf(16383)->port, 7002);
  EXPECT_EQ(map.MasterOf(16383)->host, "127.0.0.1");
  std::vector<ClusterNode> nodes = map.Nodes();
  ASSERT_EQ(nodes.size(), 6u);
  EXPECT_EQ(nodes[0].port, 7000);  // masters first, in slot order
  EXPECT_EQ(nodes[3].port, 7003);
}

TEST(ClusterSlotsTest, UncoveredSlotsHaveNoMaster) {
  ClusterSlots map;
  Reply r = Parse("*1\r\n" + Range(100, 200, Node("h", 7000), 1));
  ASSERT_TRUE(map.Parse(r.get(), "h").ok());
  EXPECT_EQ(map.MasterOf(99), nullptr);
  EXPECT_NE(map.MasterOf(100), nullptr);
  EXPECT_NE(map.MasterOf(200), nullptr);
  EXPECT_EQ(map.MasterOf(201), nullptr);
  Reply none = Parse("*0\r\n");
  ASSERT_TRUE(map.Parse(none.get(), "h").ok());
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.MasterOf(150), nullptr);
}

TEST(ClusterSlotsTest, EndpointsTheClusterDoesNotKnow) {
  ClusterSlots map;
  // NIL and "": the host asked; "?": unknown, its slots unserved.
  Reply r = Parse(
      "*3\r\n" + Range(0, 9, "*2\r\n$-1\r\n:7000\r\n" + Node("?", 7003), 2) +
      Range(10, 19, Node("", 7001), 1) + Range(20, 29, Node("?", 7002), 1));
  ASSERT_TRUE(map.Parse(r.get(), "10.0.0.5").ok());
  EXPECT_EQ(map.MasterOf(0)->Describe(), "10.0.0.5:7000");
  EXPECT_EQ(map.MasterOf(10)->Describe(), "10.0.0.5:7001");
  EXPECT_EQ(map.MasterOf(20), nullptr);
  EXPECT_EQ(map.Nodes().size(), 2u);  // the unknown replica is left out
}

TEST(ClusterSlotsTest, Redis7MetadataAndIpv6) {
  ClusterSlots map;
  std::string node = "*4\r\n" + Bulk("::1") + ":7000\r\n" + Bulk("id") +
                     "*2\r\n" + Bulk("hostname") + Bulk("a");
  Reply r = Parse("*1\r\n" + Range(0, 16383, node, 1));
  ASSERT_TRUE(map.Parse(r.get(), "x").ok());
  EXPECT_EQ(map.MasterOf(7)->Describe(), "[::1]:7000");
}

TEST(ClusterSlotsTest, RefusesMalformedRepliesAndKeepsTheMap) {
  ClusterSlots map;
  Reply good = Parse(ThreeMasters());
  ASSERT_TRUE(map.Parse(good.get(), "h").ok());
  const std::pair<std::string, std::string> bad[] = {
      {"-ERR This instance has cluster support disabled\r\n", "disabled"},
      {"+OK\r\n", "list of ranges"},
      {"*1\r\n:5\r\n", "range 1: not [start"},
      {"*1\r\n" + Range(0, 16384, Node("h", 1), 1), "0..16383"},
      {"*1\r\n" + Range(-1, 5, Node("h", 1), 1), "0..16383"},
      {"*1\r\n" + Range(9, 5, Node("h", 1), 1), "0..16383"},
      {"*1\r\n" + Range(0, 5, Node("h", 0), 1), "port"},
      {"*1\r\n" + Range(0, 5, Node("h", 65536), 1), "port"},
      {"*1\r\n" + Range(0, 5, "*2\r\n:1\r\n:7000\r\n", 1), "host"},
      {"*1\r\n" + Range(0, 5, Node("a b", 7000), 1), "host"},
      {"*1\r\n" + Range(0, 5, Node(std::string(256, 'h'), 7000), 1), "host"},
      {"*1\r\n" + Range(0, 5, "*1\r\n" + Bulk("h"), 1), "[host, port"},
      {"*2\r\n" + Range(0, 5, Node("h", 1), 1) + Range(5, 9, Node("h", 2), 1),
       "overlapping ranges (0-5 and 5-9)"},
  };
  for (const auto& [resp, why] : bad) {
    Reply r = Parse(resp);
    Status s = map.Parse(r.get(), "h");
    ASSERT_FALSE(s.ok()) << resp;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  }
  EXPECT_EQ(map.ranges(), 3u);
  EXPECT_EQ(map.MasterOf(6000)->port, 7001);
  EXPECT_FALSE(map.Parse(nullptr, "h").ok());
}

TEST(ClusterSlotsTest, RefusesMoreReplicasThanTheBound) {
  std::string nodes;
  const int count = 1 + ClusterSlots::kMaxReplicas + 1;
  for (int i = 0; i < count; ++i) nodes += Node("h", 7000 + i);
  ClusterSlots map;
  Reply r = Parse("*1\r\n" + Range(0, 1, nodes, count));
  EXPECT_FALSE(map.Parse(r.get(), "h").ok());
}

TEST(ClusterSlotsTest, ParsesMovedAndAsk) {
  ClusterRedirect r;
  ASSERT_TRUE(ParseRedirect("MOVED 3999 127.0.0.1:6381", "h", &r));
  EXPECT_EQ(r.kind, ClusterRedirect::Kind::kMoved);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.node.Describe(), "127.0.0.1:6381");
  ASSERT_TRUE(ParseRedirect("ASK 0 ::1:7000", "h", &r));
  EXPECT_EQ(r.kind, ClusterRedirect::Kind::kAsk);
  EXPECT_EQ(r.node.host, "::1");
  EXPECT_EQ(r.node.port, 7000);
  ASSERT_TRUE(ParseRedirect("ASK 16383 [::1]:7001", "h", &r));
  EXPECT_EQ(r.node.host, "::1");
  EXPECT_EQ(r.slot, 16383);
  ASSERT_TRUE(ParseRedirect("MOVED 5 :7002", "10.0.0.5", &r));
  EXPECT_EQ(r.node.Describe(), "10.0.0.5:7002");
}

TEST(ClusterSlotsTest, RefusesOtherErrorsAsRedirects) {
  ClusterRedirect r;
  r.slot = 42;
  for (const char* text :
       {"", "MOVED", "MOVED ", "MOVED 1", "MOVED 1 h", "MOVED 1 h:",
        "MOVED x h:1", "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 1 h:0",
        "MOVED 1 h:65536", "MOVED 1 h:7000x", "MOVED 1 a b:7000", "moved 1 h:1",
        "ASKING 1 h:1", "READONLY You can't write against a read only replica.",
        "TRYAGAIN Multiple keys request during rehashing of slot"}) {
    EXPECT_FALSE(ParseRedirect(text, "h", &r)) << text;
  }
  EXPECT_EQ(r.slot, 42);  // untouched
}

}  // namespace
}  // namespace qd
