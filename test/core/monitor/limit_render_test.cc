// The limits of a site in /metrics and /status (RenderLimits in
// prometheus_render.cc, SiteJson in monitor_render.cc).
#include <gtest/gtest.h>

#include <string>

#include "core/monitor/monitor_render.h"
#include "core/monitor/prometheus_render.h"

namespace qd {
namespace {

MonitorSnapshot WithLimits() {
  MonitorSnapshot s;
  SiteSnapshot shop{"shop", "127.0.0.1:6379", 0, {}, 1};
  LimitUsage github;
  github.name = "github";
  github.concurrency = 2;
  github.running = 2;
  github.waiting = 14;
  github.keys = 3;
  LimitUsage mailer;
  mailer.name = "mailer";
  mailer.rate = 5;
  mailer.window_ms = 1000;
  mailer.pending = 1;
  mailer.started = 4;
  shop.limits = {github, mailer};
  SiteSnapshot plain{"plain", "127.0.0.1:6379", 0, {}, 1};
  s.sites = {shop, plain};
  return s;
}

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(LimitRenderTest, MetricsHaveEachLimitAndItsBounds) {
  std::string text = RenderPrometheus(WithLimits());
  for (const char* line : {
           "# TYPE queuedaemon_limit_running gauge",
           "queuedaemon_limit_running{site=\"shop\",limit=\"github\"} 2",
           "queuedaemon_limit_waiting{site=\"shop\",limit=\"github\"} 14",
           "queuedaemon_limit_keys{site=\"shop\",limit=\"github\"} 3",
           "queuedaemon_limit_pending{site=\"shop\",limit=\"mailer\"} 1",
           "queuedaemon_limit_started{site=\"shop\",limit=\"mailer\"} 4",
           "queuedaemon_limit_concurrency{site=\"shop\",limit=\"github\"} 2",
           "queuedaemon_limit_concurrency{site=\"shop\",limit=\"mailer\"} 0",
           "queuedaemon_limit_rate{site=\"shop\",limit=\"mailer\"} 5",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line << "\n" << text;
  }
  EXPECT_EQ(text.find("site=\"plain\",limit="), std::string::npos);
}

TEST(LimitRenderTest, StatusListsEachLimit) {
  nlohmann::json j = RenderStatus(WithLimits());
  ASSERT_EQ(j["sites"][0]["limits"].size(), 2u);
  EXPECT_EQ(j["sites"][0]["limits"][0]["name"], "github");
  EXPECT_EQ(j["sites"][0]["limits"][0]["concurrency"], 2);
  EXPECT_EQ(j["sites"][0]["limits"][0]["waiting"], 14);
  EXPECT_EQ(j["sites"][0]["limits"][1]["window_ms"], 1000);
  EXPECT_TRUE(j["sites"][1]["limits"].empty());
}

}  // namespace
}  // namespace qd
