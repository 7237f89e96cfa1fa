// Redis Sentinel in the config (`redis: { sentinel: [...], master: NAME }`
// at the top level and per site), the url it resolves to, the parsing of
// the Sentinels' and ROLE's replies, and both lookups against Sentinels
// that are not there (the integration test has real ones).
#include "core/redis/redis_sentinel.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "core/config/config.h"
#include "test/core/redis/lookup_fixtures.h"

namespace qd {
namespace {

using test::ClosedPort;
using test::Load;
using test::LoadError;

TEST(RedisSentinelConfigTest, TopLevelSentinelsReplaceTheEmbeddedDefault) {
  Config c = Load(
      "redis:\n  sentinel: [10.0.0.1:26379, '[::1]:26380']\n"
      "  master: mymaster\n  db: 2\n");
  EXPECT_EQ(c.redis.url, "");
  EXPECT_TRUE(c.redis.Given());
  EXPECT_EQ(c.redis.master, "mymaster");
  RedisUrl url;
  ASSERT_TRUE(c.redis.Resolve(&url).ok());
  ASSERT_TRUE(url.via_sentinel());
  ASSERT_EQ(url.sentinels.size(), 2u);
  EXPECT_EQ(url.sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(url.sentinels[0].port, 26379);
  EXPECT_EQ(url.sentinels[1].host, "::1");
  EXPECT_EQ(url.sentinels[1].port, 26380);
  EXPECT_EQ(url.db, 2);
  EXPECT_EQ(url.Describe(), "master mymaster via sentinel/2");
}

TEST(RedisSentinelConfigTest, ASiteOnSentinelsIsItsOwnServer) {
  Config c = Load(
      "sites:\n  a:\n    redis: { sentinel: [h:26379], master: m1 }\n"
      "    queues: { q: { handler: noop } }\n"
      "  b:\n    queues: { q: { handler: noop } }\n");
  EXPECT_EQ(&c.RedisOf(c.sites.at("a")), &c.sites.at("a").redis);
  EXPECT_EQ(&c.RedisOf(c.sites.at("b")), &c.redis);
  EXPECT_FALSE(c.sites.at("a").redis.SameAs(c.redis));
}

TEST(RedisSentinelConfigTest, MistakesAreNamedWithTheirPlace) {
  // Each config with (part of) the one-line message it must get.
  const std::pair<const char*, const char*> cases[] = {
      {"redis: { sentinel: [h:26379] }\n",
       "x.yaml:1:1: redis: sentinel needs master"},
      {"redis: { sentinel: [h:26379], master: m, url: 'redis://h' }\n",
       "give url or sentinel, not both"},
      {"redis: { sentinel: [h], master: m }\n",
       "redis.sentinel: entry 1 'h': expected host:port"},
      {"redis: { sentinel: [], master: m }\n", "expected a list of Sentinels"},
      {"redis: { url: 'redis://h', master: m }\n",
       "give sentinel: [host:port, ...] too"},
      {"redis: { url: 'redis://h', db: 3 }\n", "db goes in the url"},
      {"redis: { sentinel: [h:1], master: '' }\n",
       "expected a non-empty string"},
      {"sites: { a: { redis: { master: m } } }\n", "give sentinel"},
  };
  for (const auto& [text, what] : cases) {
    EXPECT_NE(LoadError(text).find(what), std::string::npos) << text;
  }
}

TEST(RedisSentinelConfigTest, ConsumerIdleLimitDefaultsToAnHour) {
  Config c = Load(
      "sites:\n  a: { queues: { q: { handler: noop } } }\n"
      "  b: { consumer_idle_limit: 0, queues: { q: { handler: noop } } }\n");
  EXPECT_EQ(c.sites.at("a").consumer_idle_limit.count(), 3600000);
  EXPECT_EQ(c.sites.at("b").consumer_idle_limit.count(), 0);
}

TEST(RedisUrlSentinelTest, KeysTellSentinelGroupsApart) {
  RedisUrl a, b;
  a.master_name = b.master_name = "m";
  a.sentinels = {{"h1", 26379}};
  b.sentinels = {{"h2", 26379}};
  EXPECT_NE(a.Key(), b.Key());
  RedisUrl found = a;
  found.sentinels.clear();
  found.host = "10.0.0.5";
  found.port = 6380;
  EXPECT_EQ(found.Describe(), "10.0.0.5:6380/0 (master m)");
}

// Reply objects as hiredis builds them.
redisReply Str(const char* s) {
  redisReply r{};
  r.type = REDIS_REPLY_STRING;
  r.str = const_cast<char*>(s);
  r.len = std::strlen(s);
  return r;
}

TEST(RedisSentinelReplyTest, MasterAddress) {
  redisReply host = Str("127.0.0.1"), port = Str("6380");
  redisReply* pair[] = {&host, &port};
  redisReply array{};
  array.type = REDIS_REPLY_ARRAY;
  array.elements = 2;
  array.element = pair;
  std::string h;
  int p = 0;
  ASSERT_TRUE(ParseMasterAddr(&array, &h, &p).ok());
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, 6380);

  redisReply bad_port = Str("70000");
  pair[1] = &bad_port;
  EXPECT_FALSE(ParseMasterAddr(&array, &h, &p).ok());
  redisReply nil{};
  nil.type = REDIS_REPLY_NIL;
  EXPECT_EQ(ParseMasterAddr(&nil, &h, &p).message(),
            "does not monitor that master");
  EXPECT_FALSE(ParseMasterAddr(nullptr, &h, &p).ok());
}

TEST(RedisSentinelReplyTest, Role) {
  redisReply master = Str("master"), slave = Str("slave");
  redisReply* one[] = {&master};
  redisReply role{};
  role.type = REDIS_REPLY_ARRAY;
  role.elements = 1;
  role.element = one;
  EXPECT_TRUE(RoleIsMaster(&role));
  one[0] = &slave;
  EXPECT_FALSE(RoleIsMaster(&role));
  EXPECT_FALSE(RoleIsMaster(nullptr));
}

RedisUrl Unreachable() {
  RedisUrl url;
  url.master_name = "m";
  url.sentinels = {{"127.0.0.1", ClosedPort()}, {"127.0.0.1", ClosedPort()}};
  return url;
}

TEST(RedisSentinelLookupTest, BlockingLookupNamesEverySentinelAsked) {
  RedisUrl url = Unreachable(), master;
  Status s = LookupMaster(url, {0, 500000}, &master);
  ASSERT_FALSE(s.ok());
  for (const auto& sentinel : url.sentinels) {
    EXPECT_NE(s.message().find(
                  "sentinel 127.0.0.1:" + std::to_string(sentinel.port) + ": "),
              std::string::npos)
        << s.message();
  }
  EXPECT_NE(s.message().find("no Sentinel gave the master"), std::string::npos);
}

TEST(RedisSentinelLookupTest, LoopLookupAsksEachAndReportsOnce) {
  event_base* base = event_base_new();
  RedisUrl url = Unreachable();
  int calls = 0;
  std::optional<Status> result;
  {
    SentinelLookup lookup(base, {0, 500000});
    lookup.Start(url, [&](const Status& s, RedisUrl) {
      ++calls;
      result = s;
      event_base_loopbreak(base);
    });
    EXPECT_TRUE(lookup.running());
    timeval limit = {5, 0};  // a deadline, in case it never calls back
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    EXPECT_FALSE(lookup.running());
  }
  event_base_free(base);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(result->ok());
  EXPECT_NE(result->message().find(std::to_string(url.sentinels[1].port)),
            std::string::npos)
      << result->message();
}

TEST(RedisSentinelLookupTest, CancelledLookupNeverCallsBack) {
  event_base* base = event_base_new();
  int calls = 0;
  {
    SentinelLookup lookup(base, {0, 500000});
    lookup.Start(Unreachable(), [&](const Status&, RedisUrl) { ++calls; });
    lookup.Cancel();
    event_base_loop(base, EVLOOP_NONBLOCK);
  }
  event_base_free(base);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace qd
