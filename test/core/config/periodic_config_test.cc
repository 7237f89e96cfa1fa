// A site's `periodic:` section (core/config/config_periodic.cc): what it
// accepts, and where each refusal points (file:line:col, the column inside
// the cron expression when it is written plain or quoted).
#include <gtest/gtest.h>

#include <string>

#include "core/config/config.h"
#include "core/schedule/cron_ticks.h"

namespace qd {
namespace {

// A site `shop` with queues reports and xmpp-less mail, then `periodic`.
// Line 6 is the first line of the entries.
std::string Site(const std::string& entries) {
  return "sites:\n"
         "  shop:\n"
         "    queues:\n"
         "      reports: { handler: noop }\n"
         "    periodic:\n" +
         entries;
}

Config Load(const std::string& text) {
  Config config;
  Status s = Config::LoadString(text, "x.yaml", &config);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
  return config;
}

// The whole error message, "" (and a failure) if it loaded.
std::string Error(const std::string& text) {
  Config config;
  Status s = Config::LoadString(text, "x.yaml", &config);
  EXPECT_FALSE(s.ok()) << "loaded:\n" << text;
  return s.ok() ? "" : s.message();
}

TEST(PeriodicConfigTest, ReadsAnEntryWithItsDefaults) {
  Config c =
      Load(Site("      nightly-report:\n"
                "        cron: \"0 30 2 * * *\"\n"
                "        timezone: Europe/Paris\n"
                "        queue: reports\n"
                "        payload: '{\"kind\":\"nightly\"}'\n"
                "        missed: run_once\n"
                "      every-minute: { cron: '* * * * *', queue: reports }\n"));
  const SiteConfig& site = c.sites.at("shop");
  ASSERT_EQ(site.periodic.size(), 2u);
  const PeriodicConfig& n = site.periodic.at("nightly-report");
  EXPECT_EQ(n.name, "nightly-report");
  EXPECT_EQ(n.cron.text(), "0 30 2 * * *");
  EXPECT_EQ(n.timezone, "Europe/Paris");
  ASSERT_NE(n.zone, nullptr);
  EXPECT_EQ(n.zone->name(), "Europe/Paris");
  EXPECT_EQ(n.queue, "reports");
  EXPECT_EQ(n.payload, "{\"kind\":\"nightly\"}");
  EXPECT_EQ(n.missed, PeriodicConfig::Missed::kRunOnce);
  EXPECT_EQ(n.line, 6);
  const PeriodicConfig& m = site.periodic.at("every-minute");
  EXPECT_EQ(m.timezone, "UTC");
  ASSERT_NE(m.zone, nullptr);
  EXPECT_EQ(m.payload, "");
  EXPECT_EQ(m.missed, PeriodicConfig::Missed::kSkip);
  EXPECT_TRUE(m.cron.MatchesSecond(0));
  EXPECT_FALSE(m.cron.MatchesSecond(1));
}

TEST(PeriodicConfigTest, ACronErrorPointsInsideAPlainExpression) {
  // "0 30 25 * * *" at column 15: the hour (col 6 of it) at 15 + 5.
  EXPECT_EQ(Error(Site("      r:\n"
                       "        cron: 0 30 25 * * *\n"
                       "        queue: reports\n")),
            "x.yaml:7:20: sites.shop.periodic.r.cron: hour 25 out of range "
            "0-23");
}

TEST(PeriodicConfigTest, ACronErrorCountsTheQuoteOfAQuotedExpression) {
  EXPECT_EQ(Error(Site("      r:\n"
                       "        cron: \"0 30 25 * * *\"\n"
                       "        queue: reports\n")),
            "x.yaml:7:21: sites.shop.periodic.r.cron: hour 25 out of range "
            "0-23");
  EXPECT_EQ(Error(Site("      r: { queue: reports, cron: '0 0 1 L * *' }\n")),
            "x.yaml:6:41: sites.shop.periodic.r.cron: day-of-month: 'L' (the "
            "last day) is not supported (Quartz syntax)");
}

TEST(PeriodicConfigTest, ACronErrorInABlockScalarPointsAtTheValue) {
  // No column inside a block scalar: its text starts on the next line.
  std::string error =
      Error(Site("      r:\n"
                 "        cron: >-\n"
                 "          0 30 25 * * *\n"
                 "        queue: reports\n"));
  EXPECT_EQ(error.rfind("x.yaml:7:15: sites.shop.periodic.r.cron: hour 25", 0),
            0u)
      << error;
  // Nor after an escape, whose text is not what was read.
  error =
      Error(Site("      r:\n"
                 "        cron: \"0\\t30 25 * * *\"\n"
                 "        queue: reports\n"));
  EXPECT_EQ(error.rfind("x.yaml:7:15: sites.shop.periodic.r.cron: hour 25", 0),
            0u)
      << error;
}

TEST(PeriodicConfigTest, RefusesAnUnknownTimeZoneAtItsValue) {
  std::string error =
      Error(Site("      r:\n"
                 "        cron: '0 0 * * *'\n"
                 "        timezone: Europe/Pariss\n"
                 "        queue: reports\n"));
  EXPECT_EQ(error.rfind("x.yaml:8:19: sites.shop.periodic.r.timezone: "
                        "unknown time zone 'Europe/Pariss'",
                        0),
            0u)
      << error;
}

TEST(PeriodicConfigTest, RefusesAQueueTheSiteDoesNotHave) {
  EXPECT_EQ(Error(Site("      r:\n"
                       "        cron: '0 0 * * *'\n"
                       "        queue: report\n")),
            "x.yaml:8:16: sites.shop.periodic.r.queue: unknown queue 'report' "
            "of site shop (did you mean 'reports'?)");
  // Queues listed after the entries count.
  Load(
      "sites:\n"
      "  shop:\n"
      "    periodic: { r: { cron: '0 0 * * *', queue: late } }\n"
      "    queues: { late: { handler: noop } }\n");
}

TEST(PeriodicConfigTest, RefusesAnExpressionThatNeverMatches) {
  std::string error =
      Error(Site("      r:\n"
                 "        cron: '0 0 30 2 *'\n"
                 "        queue: reports\n"));
  EXPECT_EQ(error.rfind("x.yaml:7:15: sites.shop.periodic.r.cron: '0 0 30 2 "
                        "*' has no tick in the next",
                        0),
            0u)
      << error;
}

TEST(PeriodicConfigTest, RefusesBadKeysAndValues) {
  EXPECT_EQ(Error(Site("      r: { cron: '0 0 * * *', queue: reports, "
                       "missed: always }\n")),
            "x.yaml:6:55: sites.shop.periodic.r.missed: expected one of "
            "skip|run_once, got 'always'");
  EXPECT_EQ(Error(Site("      r: { cron: '0 0 * * *', queue: reports, "
                       "timzone: UTC }\n")),
            "x.yaml:6:47: sites.shop.periodic.r.timzone: unknown key (did you "
            "mean 'timezone'?)");
  EXPECT_EQ(Error(Site("      r: { cron: '0 0 * * *' }\n")),
            "x.yaml:6:7: sites.shop.periodic.r: missing required key 'queue'");
  EXPECT_EQ(Error(Site("      r: { queue: reports }\n")),
            "x.yaml:6:7: sites.shop.periodic.r: missing required key 'cron'");
  EXPECT_EQ(Error(Site("      r: '0 0 * * *'\n")),
            "x.yaml:6:10: sites.shop.periodic.r: expected a map such as { "
            "cron: '0 30 2 * * *', queue: reports }, got '0 0 * * *'");
  // JSON left unquoted is a YAML map, not a payload.
  std::string error = Error(
      Site("      r: { cron: '0 0 * * *', queue: reports, payload: {\"a\": "
           "1} }\n"));
  EXPECT_NE(error.find("x.yaml:6:56: sites.shop.periodic.r.payload: expected "
                       "a string, got a map (quote a JSON payload"),
            std::string::npos)
      << error;
}

TEST(PeriodicConfigTest, EntryNamesFollowTheQueueNameRules) {
  EXPECT_EQ(Error(Site("      \"a{b}\": { cron: '0 0 * * *', queue: reports "
                       "}\n")),
            "x.yaml:6:7: sites.shop.periodic.a{b}: a periodic entry name may "
            "only hold letters, digits and _ . : -");
  Load(Site("      a_b.c:d-e: { cron: '0 0 * * *', queue: reports }\n"));
}

}  // namespace
}  // namespace qd
