// The `limits:` section of a site and the queues' `limit:` (config_limits.cc).
#include <gtest/gtest.h>

#include <string>

#include "core/config/config.h"

namespace qd {
namespace {

// A site `a` with `limits` (YAML flow map text) and one queue `q` whose
// extra keys are `queue`: line 3 holds the limits, line 5 the queue.
std::string Site(const std::string& limits, const std::string& queue = "") {
  return "sites:\n  a:\n    limits: " + limits +
         "\n    queues:\n      q: { handler: x" + queue + " }\n";
}

Status Load(const std::string& text, Config* config) {
  return Config::LoadString(text, "x.yaml", config);
}

std::string Error(const std::string& text) {
  Config config;
  Status s = Load(text, &config);
  EXPECT_FALSE(s.ok()) << "loaded:\n" << text;
  return s.ok() ? "" : s.message();
}

TEST(ConfigLimitsTest, ReadsConcurrencyRateAndTheQueuesLimit) {
  Config c;
  Status s = Load(R"(sites:
  shop:
    queues:
      sync: { handler: exec, command: [true], limit: github }
      mail: { handler: log, limit: mailer }
      free: { handler: log }
    limits:
      github: { concurrency: 2 }
      mailer: { rate: 5/1s }
      both: { concurrency: 3, rate: 100/2m }
      hourly: { rate: 1000/h }
)",
                  &c);
  ASSERT_TRUE(s.ok()) << s.message();
  const SiteConfig& site = c.sites.at("shop");
  ASSERT_EQ(site.limits.size(), 4u);
  EXPECT_EQ(site.limits.at("github").name, "github");
  EXPECT_EQ(site.limits.at("github").concurrency, 2);
  EXPECT_EQ(site.limits.at("github").rate, 0);
  EXPECT_EQ(site.limits.at("mailer").rate, 5);
  EXPECT_EQ(site.limits.at("mailer").rate_window, Duration(1000));
  EXPECT_EQ(site.limits.at("mailer").concurrency, 0);
  EXPECT_EQ(site.limits.at("both").concurrency, 3);
  EXPECT_EQ(site.limits.at("both").rate, 100);
  EXPECT_EQ(site.limits.at("both").rate_window, Duration(120000));
  EXPECT_EQ(site.limits.at("hourly").rate_window, Duration(3600000));
  EXPECT_EQ(site.queues.at("sync").limit, "github");
  EXPECT_EQ(site.queues.at("mail").limit, "mailer");
  EXPECT_EQ(site.queues.at("free").limit, "");
  // The limit key is the framework's: it does not reach the handler.
  EXPECT_FALSE(site.queues.at("sync").handler_options["limit"]);
}

TEST(ConfigLimitsTest, BadRatesSayWhatIsWrong) {
  EXPECT_EQ(Error(Site("{ m: { rate: 5 } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: expected a rate such as 5/1s, "
            "100/1m or 1000/1h (starts per window), got '5'");
  EXPECT_EQ(Error(Site("{ m: { rate: five/1s } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: 'five' is not a whole number "
            "of starts (expected a rate such as 5/1s, 100/1m or 1000/1h "
            "(starts per window))");
  EXPECT_EQ(Error(Site("{ m: { rate: 0/1s } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: expected 1 to 1000000 starts "
            "per window, got 0");
  EXPECT_EQ(Error(Site("{ m: { rate: 5/100ms } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: the window of a rate is a "
            "whole number of s, m or h (1s to 1h), got '100ms'");
  EXPECT_EQ(Error(Site("{ m: { rate: 5/1.5s } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: the window of a rate is a "
            "whole number of s, m or h (1s to 1h), got '1.5s'");
  EXPECT_EQ(Error(Site("{ m: { rate: 5/2h } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: the window of a rate must be "
            "1s to 1h, got 2h");
  EXPECT_EQ(Error(Site("{ m: { rate: 5/0s } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: the window of a rate must be "
            "1s to 1h, got 0s");
  EXPECT_EQ(Error(Site("{ m: { rate: [5, 1s] } }")),
            "x.yaml:3:26: sites.a.limits.m.rate: expected a rate such as 5/1s, "
            "100/1m or 1000/1h (starts per window), got a list");
}

TEST(ConfigLimitsTest, AcceptsWindowsFromOneSecondToOneHour) {
  for (const char* rate : {"5/1s", "5/2s", "5/s", "100/1m", "100/30m", "2/60m",
                           "1000/1h", "1000000/3600s"}) {
    Config c;
    Status s = Load(Site(std::string("{ m: { rate: ") + rate + " } }"), &c);
    EXPECT_TRUE(s.ok()) << rate << ": " << s.message();
  }
}

TEST(ConfigLimitsTest, ConcurrencyIsAtLeastOne) {
  EXPECT_EQ(Error(Site("{ g: { concurrency: 0 } }")),
            "x.yaml:3:33: sites.a.limits.g.concurrency: expected a whole "
            "number >= 1, got '0'");
  EXPECT_EQ(Error(Site("{ g: { concurrency: two } }")),
            "x.yaml:3:33: sites.a.limits.g.concurrency: expected a whole "
            "number >= 1, got 'two'");
}

TEST(ConfigLimitsTest, ALimitNeedsABound) {
  EXPECT_EQ(Error(Site("{ g: {} }")),
            "x.yaml:3:15: sites.a.limits.g: a limit needs concurrency, rate or "
            "both, such as { concurrency: 2 } or { rate: 5/1s }");
  EXPECT_EQ(Error(Site("{ g: { concurency: 2 } }")),
            "x.yaml:3:20: sites.a.limits.g.concurency: unknown key "
            "(did you mean 'concurrency'?)");
}

TEST(ConfigLimitsTest, LimitNamesHoldNoColon) {
  EXPECT_EQ(Error(Site("{ 'git:hub': { concurrency: 2 } }")),
            "x.yaml:3:15: sites.a.limits.git:hub: a limit name may only hold "
            "letters, digits and _ . -");
}

TEST(ConfigLimitsTest, AQueueMayOnlyNameALimitOfItsSite) {
  EXPECT_EQ(Error(Site("{ github: { concurrency: 2 } }", ", limit: githb")),
            "x.yaml:5:31: sites.a.queues.q.limit: unknown limit 'githb' (did "
            "you mean 'github'?)");
  EXPECT_EQ(Error(Site("{ github: { concurrency: 2 } }", ", limit: mailer")),
            "x.yaml:5:31: sites.a.queues.q.limit: unknown limit 'mailer' "
            "(limits of this site: github)");
  EXPECT_EQ(Error("sites:\n  a:\n    queues:\n      q: { handler: x, limit: "
                  "github }\n"),
            "x.yaml:4:31: sites.a.queues.q.limit: unknown limit 'github' (the "
            "site has no limits: define it under the site's limits:)");
  // Another site's limit does not count.
  EXPECT_EQ(Error("sites:\n  b:\n    limits: { github: { concurrency: 1 } }\n"
                  "  a:\n    queues:\n      q: { handler: x, limit: github "
                  "}\n"),
            "x.yaml:6:31: sites.a.queues.q.limit: unknown limit 'github' (the "
            "site has no limits: define it under the site's limits:)");
}

}  // namespace
}  // namespace qd
