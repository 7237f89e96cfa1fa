// Streams that no configured queue serves, end to end: the real daemon
// against a real redis-server logs them at start and at each reload, and
// /metrics and /status show them.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon_harness.h"

namespace qd::test {
namespace {

constexpr const char* kNosuch = "qd:{default}:q:nosuch";
constexpr const char* kNosuchWarning =
    "stream qd:{default}:q:nosuch is not served: no queue nosuch in the "
    "config (3 entries)";
constexpr const char* kLaterWarning =
    "stream qd:{default}:q:later is not served";

std::string Config(const std::string& redis_url, int http_port,
                   const std::string& more_queues = "") {
  return TestConfig(1, redis_url, "",
                    more_queues + "monitor: { http: 127.0.0.1:" +
                        std::to_string(http_port) + " }\n");
}

// `promtool check metrics` on `text`: its exit code, *out what it said.
int Promtool(const TempDir& dir, const std::string& text, std::string* out) {
  dir.Write("metrics.txt", text);
  std::string cmd =
      "promtool check metrics < " + dir.File("metrics.txt") + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) *out += buf;
  return pclose(p);
}

// /metrics once it holds `needle` (or the last body after `deadline`).
bool MetricsWith(int port, const std::string& needle, std::string* body,
                 milliseconds deadline = milliseconds(10000)) {
  return WaitFor(
      [&] {
        return HttpGet(port, "/metrics", body) == 200 &&
               body->find(needle) != std::string::npos;
      },
      deadline);
}

// Every key beside the unserved stream that must not be reported.
void WriteOtherKeys(int port) {
  std::vector<std::vector<std::string>> cmds = {
      {"XADD", "qd:{default}:q:noop", "*", "payload", "served"},
      {"XADD", "qd:{default}:dead:nosuch", "*", "payload", "d"},
      {"XADD", "qd:{default}:dead:_malformed", "*", "payload", "m"},
      {"ZADD", "qd:{default}:delayed", "99999999999999",
       R"({"queue":"noop","payload":"later"})"},
      {"ZADD", "qd:{default}:xmpp:confirm", "99999999999999", "x"},
      {"SET", "qd:{default}:q:notastream", "x"},
      {"XADD", "xx:{default}:q:otherprefix", "*", "payload", "o"},
      {"XADD", "qd:{elsewhere}:q:othersite", "*", "payload", "o"},
  };
  ASSERT_EQ(RedisPipeline(port, cmds), cmds.size());
}

TEST(UnservedTest, LoggedOnceAtStartAndOnceAtEachReload) {
  RedisServer redis;
  for (int i = 0; i < 3; ++i) {
    ASSERT_GT(RedisStrings(redis.port(),
                           {"XADD", kNosuch, "*", "payload", std::to_string(i)})
                  .size(),
              0u);
  }
  WriteOtherKeys(redis.port());
  int port = FreePort();
  Daemon d(Config(redis.url(), port));
  ASSERT_TRUE(d.WaitForLog(kNosuchWarning)) << d.Log();
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  // A stream made after the start is not logged until the next reload.
  ASSERT_GT(RedisStrings(redis.port(),
                         {"XADD", "qd:{default}:q:later", "*", "payload", "l"})
                .size(),
            0u);

  d.Signal(SIGHUP);
  ASSERT_TRUE(d.WaitForLog(kNosuchWarning, 2)) << d.Log();
  ASSERT_TRUE(d.WaitForLog(kLaterWarning)) << d.Log();
  // The reload's look is over (its lines come together): nothing else was
  // reported, and nothing twice.
  EXPECT_EQ(d.LogCount(kNosuchWarning), 2u) << d.Log();
  EXPECT_EQ(d.LogCount(kLaterWarning), 1u) << d.Log();
  EXPECT_EQ(d.LogCount("is not served"), 3u) << d.Log();
  EXPECT_EQ(d.LogCount("no queue serves"), 0u) << d.Log();  // "and N more"
}

TEST(UnservedTest, MetricsAndStatusShowThemUntilAQueueServesThem) {
  RedisServer redis;
  for (int i = 0; i < 3; ++i) {
    ASSERT_GT(RedisStrings(redis.port(),
                           {"XADD", kNosuch, "*", "payload", std::to_string(i)})
                  .size(),
              0u);
  }
  WriteOtherKeys(redis.port());
  int port = FreePort();
  Daemon d(Config(redis.url(), port));
  std::string body;
  ASSERT_TRUE(MetricsWith(port,
                          "queuedaemon_unserved_stream_length{site=\"default\","
                          "stream=\"qd:{default}:q:nosuch\"} 3\n",
                          &body))
      << body << d.Log();
  EXPECT_NE(body.find("queuedaemon_unserved_streams{site=\"default\"} 1\n"),
            std::string::npos)
      << body;
  for (const char* hidden : {"q:noop\"", "dead:", "notastream", "otherprefix",
                             "othersite", "delayed\"", "xmpp:"}) {
    EXPECT_EQ(body.find(hidden), std::string::npos) << hidden << "\n" << body;
  }
  std::string out;
  EXPECT_EQ(Promtool(d.dir(), body, &out), 0) << out << body;

  ASSERT_EQ(HttpGet(port, "/status", &body), 200);
  auto site = nlohmann::json::parse(body)["sites"][0];
  EXPECT_EQ(site["name"], "default");
  EXPECT_EQ(site["unserved"]["streams"],
            nlohmann::json::parse(
                R"([{"stream": "qd:{default}:q:nosuch", "length": 3}])"))
      << body;
  EXPECT_EQ(site["unserved"]["more"], false);

  // Served once the config has the queue.
  d.WriteConfig(Config(redis.url(), port, "      nosuch: { handler: noop }\n"));
  d.Signal(SIGHUP);
  ASSERT_TRUE(MetricsWith(
      port, "queuedaemon_unserved_streams{site=\"default\"} 0\n", &body))
      << body << d.Log();
  EXPECT_EQ(body.find("q:nosuch"), std::string::npos) << body;
  EXPECT_EQ(d.LogCount(kNosuchWarning), 1u) << d.Log();
}

}  // namespace
}  // namespace qd::test
