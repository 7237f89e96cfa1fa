// Redis Cluster in the config (`redis: { cluster: [...] }` per site), the
// url it resolves to (the site's hash tag picks the slot), the node a
// CLUSTER SLOTS reply names for it, and the lookup against nodes that are
// not there (the integration test has a real cluster).
#include "core/redis/cluster_lookup.h"

#include <gtest/gtest.h>
#include <hiredis/read.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "core/config/config.h"
#include "core/config/own_keys.h"
#include "core/redis/cluster_slots.h"
#include "test/core/redis/lookup_fixtures.h"

namespace qd {
namespace {

using test::ClosedPort;
using test::Load;
using test::LoadError;

constexpr char kTwoSites[] =
    "sites:\n"
    "  shop:\n"
    "    redis: { cluster: [10.0.0.1:7000, '[::1]:7001'] }\n"
    "    queues: { q: { handler: noop } }\n"
    "  blog:\n"
    "    redis: { cluster: [10.0.0.1:7000, '[::1]:7001'] }\n"
    "    queues: { q: { handler: noop } }\n";

TEST(ClusterLookupTest, ASiteOnAClusterIsLookedUpByItsHashTag) {
  Config c = Load(kTwoSites);
  const SiteConfig& shop = c.sites.at("shop");
  EXPECT_TRUE(shop.redis.Given());
  EXPECT_EQ(&c.RedisOf(shop), &shop.redis);
  RedisUrl url;
  ASSERT_TRUE(c.RedisOf(shop).Resolve(&url).ok());
  ASSERT_TRUE(url.via_cluster());
  EXPECT_FALSE(url.via_sentinel());
  EXPECT_EQ(url.cluster_key, "{shop}");
  ASSERT_EQ(url.cluster.size(), 2u);
  EXPECT_EQ(url.cluster[1].host, "::1");
  EXPECT_EQ(url.cluster[1].port, 7001);
  EXPECT_EQ(url.Describe(), "{shop} via cluster 10.0.0.1:7000");
  // Two sites on one cluster are two connections (two slots).
  RedisUrl blog;
  ASSERT_TRUE(c.RedisOf(c.sites.at("blog")).Resolve(&blog).ok());
  EXPECT_NE(url.Key(), blog.Key());
  EXPECT_FALSE(shop.redis.SameAs(c.sites.at("blog").redis));
}

TEST(ClusterLookupTest, MistakesAreNamedWithTheirPlace) {
  const std::string site =
      "sites:\n  a:\n    queues: { q: { handler: noop } }\n"
      "    redis: ";
  EXPECT_NE(LoadError(site + "{ cluster: [h:7000], url: redis://h:1 }\n")
                .find("x.yaml:4:"),
            std::string::npos);
  EXPECT_NE(LoadError(site + "{ cluster: [h:7000], url: redis://h:1 }\n")
                .find("url does not go with cluster"),
            std::string::npos);
  EXPECT_NE(LoadError(site + "{ cluster: [h:7000], db: 2 }\n")
                .find("db does not go with cluster"),
            std::string::npos);
  EXPECT_NE(
      LoadError(site + "{ cluster: [h] }\n")
          .find("entry 1 'h': expected host:port (a Cluster node's port)"),
      std::string::npos);
  EXPECT_NE(LoadError(site + "{ cluster: [] }\n").find("got none"),
            std::string::npos);
  std::string top = LoadError("redis:\n  cluster: [h:7000]\n  db: 1\n");
  EXPECT_NE(top.find("x.yaml:3:"), std::string::npos) << top;
  EXPECT_NE(top.find("db does not go with cluster"), std::string::npos) << top;
}

// The top level on a Cluster: the daemon's own keys' tag picks its node,
// and a site without a redis of its own goes to its own slot's node.
TEST(ClusterLookupTest, ATopLevelClusterUsesTheOwnKeysTag) {
  Config c = Load(
      "redis:\n"
      "  cluster: [10.0.0.1:7000, 10.0.0.2:7000]\n"
      "sites:\n"
      "  shop: { queues: { q: { handler: noop } } }\n"
      "  blog:\n"
      "    redis: embedded\n"
      "    queues: { q: { handler: noop } }\n"
      "  own:\n"
      "    redis: redis://127.0.0.1:6390\n"
      "    queues: { q: { handler: noop } }\n");
  RedisUrl top;
  ASSERT_TRUE(c.redis.Resolve(&top).ok());
  ASSERT_TRUE(top.via_cluster());
  EXPECT_EQ(top.cluster_key, "{qd}");
  EXPECT_EQ(top.cluster_key, OwnKeys::kTag);
  EXPECT_EQ(KeySlot(OwnKeys::Daemon("h", "generic")), KeySlot(top.cluster_key));
  for (const char* name : {"shop", "blog"}) {
    const SiteConfig& site = c.sites.at(name);
    EXPECT_TRUE(site.redis.from_top_level) << name;
    RedisUrl url;
    ASSERT_TRUE(c.RedisOf(site).Resolve(&url).ok()) << name;
    ASSERT_TRUE(url.via_cluster()) << name;
    EXPECT_EQ(url.cluster_key, "{" + std::string(name) + "}");
    EXPECT_EQ(url.cluster.size(), 2u);
    EXPECT_FALSE(site.redis.SameAs(c.redis)) << name;
  }
  const SiteConfig& own = c.sites.at("own");
  EXPECT_FALSE(own.redis.from_top_level);
  RedisUrl url;
  ASSERT_TRUE(c.RedisOf(own).Resolve(&url).ok());
  EXPECT_FALSE(url.via_cluster());
  EXPECT_EQ(url.port, 6390);
}

TEST(ClusterLookupTest, TheSlotsMasterOfTheKeyIsTheNode) {
  RedisUrl url;
  url.cluster = {{"seed", 7000}};
  url.cluster_key = "{shop}";
  url.password = "pw";
  // KeySlot("{shop}") is 3808: the second range.
  const std::string resp =
      "*2\r\n*3\r\n:0\r\n:3807\r\n*2\r\n$1\r\na\r\n:7000\r\n"
      "*3\r\n:3808\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n";
  ASSERT_EQ(KeySlot("{shop}"), 3808);
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, resp.data(), resp.size());
  void* reply = nullptr;
  ASSERT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  ClusterSlots map;
  RedisUrl node;
  Status s = NodeFromSlots(url, static_cast<redisReply*>(reply), "10.0.0.9",
                           &map, &node);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(node.host, "10.0.0.9");  // "": the node asked
  EXPECT_EQ(node.port, 7001);
  EXPECT_FALSE(node.via_cluster());
  EXPECT_EQ(node.password, "pw");
  EXPECT_EQ(node.Describe(), "10.0.0.9:7001/0 (cluster {shop})");

  url.cluster_key = "{a}";  // slot 15495: served by no range now
  ASSERT_EQ(KeySlot("{a}"), 15495);
  map = ClusterSlots();
  const std::string half =
      "*1\r\n*3\r\n:0\r\n:3807\r\n*2\r\n$1\r\na\r\n:7000\r\n";
  reader = redisReaderCreate();
  redisReaderFeed(reader, half.data(), half.size());
  freeReplyObject(reply);
  ASSERT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  redisReaderFree(reader);
  s = NodeFromSlots(url, static_cast<redisReply*>(reply), "h", &map, &node);
  freeReplyObject(reply);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "slot 15495 of {a} is served by no node");
}

TEST(ClusterLookupTest, NamesEveryNodeAskedWhenNoneAnswers) {
  RedisUrl url;
  int a = ClosedPort(), b = ClosedPort();
  url.cluster = {{"127.0.0.1", a}, {"127.0.0.1", b}};
  url.cluster_key = "{shop}";
  RedisUrl node;
  Status s = LookupClusterNode(url, {0, 300000}, &node);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no Cluster node gave the slot's master"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("node 127.0.0.1:" + std::to_string(a)),
            std::string::npos);
  EXPECT_NE(s.message().find("node 127.0.0.1:" + std::to_string(b)),
            std::string::npos);
}

}  // namespace
}  // namespace qd
