#include "core/schedule/cron_ticks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace qd {
namespace {

using date::sys_seconds;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const date::time_zone* Zone(std::string_view name) {
  const date::time_zone* zone = nullptr;
  Status s = FindTimeZone(name, &zone);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
  return zone;
}

CronExpr Expr(std::string_view text) {
  CronError error;
  std::optional<CronExpr> expr = CronExpr::Parse(text, &error);
  EXPECT_TRUE(expr.has_value()) << text << ": " << error.ToString();
  return expr.value_or(*CronExpr::Parse("* * * * *", nullptr));
}

sys_seconds Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0,
                int s = 0) {
  return date::sys_days{date::year{y} / mo / d} + hours{h} + minutes{mi} +
         seconds{s};
}

std::string Show(std::optional<sys_seconds> t) {
  return t ? date::format("%F %T", *t) : "none";
}

// NextAfter in a zone, shown as UTC "YYYY-MM-DD HH:MM:SS".
std::string Next(std::string_view expr, std::string_view zone,
                 sys_seconds after) {
  return Show(NextAfter(Expr(expr), Zone(zone), after));
}

std::string Last(std::string_view expr, std::string_view zone, sys_seconds at) {
  return Show(LastAtOrBefore(Expr(expr), Zone(zone), at));
}

// Every tick in (from, to], in UTC; at most 1000.
std::vector<std::string> Ticks(std::string_view text, std::string_view zone,
                               sys_seconds from, sys_seconds to) {
  const CronExpr expr = Expr(text);
  const date::time_zone* tz = Zone(zone);
  std::vector<std::string> out;
  std::optional<sys_seconds> t = from;
  while (out.size() < 1000 && (t = NextAfter(expr, tz, *t)) && *t <= to) {
    out.push_back(Show(t));
  }
  return out;
}

TEST(CronTicksTest, FindTimeZone) {
  const date::time_zone* zone = nullptr;
  ASSERT_TRUE(FindTimeZone("Europe/Paris", &zone).ok());
  EXPECT_EQ(zone->name(), "Europe/Paris");
  ASSERT_TRUE(FindTimeZone("UTC", &zone).ok());
  EXPECT_EQ(zone->name(), "UTC");
}

TEST(CronTicksTest, UnknownTimeZoneIsAClearError) {
  const date::time_zone* zone = nullptr;
  Status s = FindTimeZone("Mars/Olympus_Mons", &zone);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "unknown time zone 'Mars/Olympus_Mons': expected an IANA name "
            "such as UTC, Europe/Paris or America/New_York (as in "
            "/usr/share/zoneinfo)");
  EXPECT_EQ(zone, nullptr);
  // Names are case-sensitive, as the files are.
  EXPECT_FALSE(FindTimeZone("europe/paris", &zone).ok());
  s = FindTimeZone("", &zone);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("unknown time zone '': ", 0), 0u);
  s = FindTimeZone("Europe/Par\nis", &zone);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("unknown time zone 'Europe/Par\\x0ais': ", 0),
            0u);
  EXPECT_FALSE(FindTimeZone("../../etc/passwd", &zone).ok());
  EXPECT_FALSE(FindTimeZone(std::string(65, 'A'), &zone).ok());
  EXPECT_EQ(zone, nullptr);
}

TEST(CronTicksTest, EverySecondMinuteAndHour) {
  const sys_seconds t = Utc(2025, 6, 4, 12, 0, 30);
  EXPECT_EQ(Next("* * * * * *", "UTC", t), "2025-06-04 12:00:31");
  EXPECT_EQ(Next("* * * * *", "UTC", t), "2025-06-04 12:01:00");
  EXPECT_EQ(Next("0 * * * *", "UTC", t), "2025-06-04 13:00:00");
  EXPECT_EQ(Next("15 10 * * * *", "UTC", t), "2025-06-04 12:10:15");
  EXPECT_EQ(Next("59 59 23 * * *", "UTC", t), "2025-06-04 23:59:59");
}

TEST(CronTicksTest, StrictlyAfter) {
  const sys_seconds tick = Utc(2025, 6, 4, 13, 0, 0);
  EXPECT_EQ(Next("0 * * * *", "UTC", tick), "2025-06-04 14:00:00");
  EXPECT_EQ(Next("0 * * * *", "UTC", tick - seconds{1}), "2025-06-04 13:00:00");
}

TEST(CronTicksTest, MonthlyAndYearRollover) {
  EXPECT_EQ(Next("0 0 1 * *", "UTC", Utc(2025, 1, 31, 8)),
            "2025-02-01 00:00:00");
  EXPECT_EQ(Next("0 0 1 * *", "UTC", Utc(2025, 12, 15)), "2026-01-01 00:00:00");
  EXPECT_EQ(Next("0 0 1 1 *", "UTC", Utc(2025, 1, 1)), "2026-01-01 00:00:00");
  EXPECT_EQ(Next("59 23 31 12 *", "UTC", Utc(2025, 12, 31, 23, 59)),
            "2026-12-31 23:59:00");
  // Months without a 31st are skipped.
  EXPECT_EQ(Next("0 0 31 * *", "UTC", Utc(2025, 4, 1)), "2025-05-31 00:00:00");
  EXPECT_EQ(Next("0 0 1 */5 *", "UTC", Utc(2025, 6, 4)), "2025-11-01 00:00:00");
}

TEST(CronTicksTest, LeapYears) {
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", Utc(2025, 1, 1)), "2028-02-29 00:00:00");
  EXPECT_EQ(Next("0 0 29 FEB *", "UTC", Utc(2024, 2, 28, 12)),
            "2024-02-29 00:00:00");
  // 2100 is not a leap year: 8 years between two 29 Februaries.
  EXPECT_EQ(Next("0 0 29 2 *", "UTC", Utc(2096, 3, 1)), "2104-02-29 00:00:00");
  EXPECT_EQ(Next("0 0 28-31 2 *", "UTC", Utc(2025, 2, 28)),
            "2026-02-28 00:00:00");
}

// 2025-06-06 and 2025-06-13 are Fridays.
TEST(CronTicksTest, DayOfMonthOrDayOfWeek) {
  const sys_seconds t = Utc(2025, 6, 1);
  EXPECT_EQ(Next("0 0 13 * FRI", "UTC", t), "2025-06-06 00:00:00");
  EXPECT_EQ(Next("0 0 13 * FRI", "UTC", Utc(2025, 6, 6)),
            "2025-06-13 00:00:00");
  EXPECT_EQ(Next("0 0 13 * FRI", "UTC", Utc(2025, 6, 13)),
            "2025-06-20 00:00:00");
  EXPECT_EQ(Next("0 0 * * FRI", "UTC", t), "2025-06-06 00:00:00");
  EXPECT_EQ(Next("0 0 13 * *", "UTC", t), "2025-06-13 00:00:00");
  EXPECT_EQ(Next("0 0 13 * ?", "UTC", t), "2025-06-13 00:00:00");
  // 7 is Sunday too: 2025-06-08.
  EXPECT_EQ(Next("0 12 * * 7", "UTC", t + hours{13}), "2025-06-08 12:00:00");
}

TEST(CronTicksTest, InAZone) {
  // 09:00 in New York in June is 13:00 UTC (EDT, UTC-4).
  EXPECT_EQ(Next("0 9 * * *", "America/New_York", Utc(2025, 6, 4)),
            "2025-06-04 13:00:00");
  // And 14:00 UTC in January (EST, UTC-5).
  EXPECT_EQ(Next("0 9 * * *", "America/New_York", Utc(2025, 1, 6)),
            "2025-01-06 14:00:00");
  // The local date decides the day: Monday 00:30 in Paris is Sunday 22:30
  // UTC in summer.
  EXPECT_EQ(Next("30 0 * * MON", "Europe/Paris", Utc(2025, 6, 1)),
            "2025-06-01 22:30:00");
}

TEST(CronTicksTest, NeverMatchingIsNulloptQuickly) {
  const CronExpr feb30 = Expr("0 0 0 30 2 *");
  const date::time_zone* paris = Zone("Europe/Paris");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Show(NextAfter(feb30, paris, Utc(2025, 1, 1))), "none");
  EXPECT_EQ(Show(NextAfter(feb30, Zone("UTC"), Utc(2025, 1, 1))), "none");
  EXPECT_EQ(Show(LastAtOrBefore(feb30, paris, Utc(2025, 1, 1))), "none");
  EXPECT_EQ(Next("0 0 31 4,6,9,11 *", "UTC", Utc(2025, 1, 1)), "none");
  // Field skipping makes this microseconds; a second-by-second search of
  // 8 years would take minutes.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{1});
}

TEST(CronTicksTest, OutsideTheSupportedYears) {
  EXPECT_EQ(Next("* * * * *", "UTC", Utc(1969, 12, 31)), "none");
  EXPECT_EQ(Next("* * * * *", "UTC", Utc(10000, 1, 1)), "none");
  EXPECT_EQ(Last("* * * * *", "UTC", Utc(1969, 12, 31)), "none");
  EXPECT_EQ(Next("* * * * *", "UTC", Utc(1970, 1, 1)), "1970-01-01 00:01:00");
  EXPECT_EQ(Last("0 0 1 1 *", "UTC", Utc(1970, 6, 1)), "1970-01-01 00:00:00");
}

TEST(CronTicksTest, LastAtOrBefore) {
  const sys_seconds t = Utc(2025, 6, 4, 13, 0, 0);
  EXPECT_EQ(Last("0 0 * * *", "UTC", t), "2025-06-04 00:00:00");
  EXPECT_EQ(Last("0 13 * * *", "UTC", t), "2025-06-04 13:00:00");
  EXPECT_EQ(Last("* * * * * *", "UTC", t), "2025-06-04 13:00:00");
  EXPECT_EQ(Last("30 59 12 * * *", "UTC", t), "2025-06-04 12:59:30");
  EXPECT_EQ(Last("0 0 29 2 *", "UTC", t), "2024-02-29 00:00:00");
  EXPECT_EQ(Last("0 0 1 1 *", "UTC", t), "2025-01-01 00:00:00");
  EXPECT_EQ(Last("0 9 * * MON", "America/New_York", t), "2025-06-02 13:00:00");
}

// Europe/Paris, 2025-03-30: at 02:00 CET (01:00 UTC) the clocks go to
// 03:00 CEST; local 02:00-02:59 does not exist.
TEST(CronTicksTest, ParisSpringForwardRunsAFixedTimeOnceAfterTheGap) {
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", Utc(2025, 3, 29, 12)),
            "2025-03-30 01:00:00");
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", Utc(2025, 3, 30, 1)),
            "2025-03-31 00:30:00");
  EXPECT_EQ(Last("30 2 * * *", "Europe/Paris", Utc(2025, 3, 30, 12)),
            "2025-03-30 01:00:00");
}

TEST(CronTicksTest, ParisSpringForwardCollapsesTheGap) {
  const sys_seconds day = Utc(2025, 3, 29, 23);  // local midnight
  const sys_seconds end = Utc(2025, 3, 30, 22);  // the next one, 23h later
  EXPECT_EQ(Ticks("*/10 2 * * *", "Europe/Paris", day, end),
            std::vector<std::string>{"2025-03-30 01:00:00"});
  // 03:00 matches too: still one run at 03:00, then 03:10.
  std::vector<std::string> ticks =
      Ticks("*/10 2,3 * * *", "Europe/Paris", day, end);
  ASSERT_EQ(ticks.size(), 6u);
  EXPECT_EQ(ticks[0], "2025-03-30 01:00:00");
  EXPECT_EQ(ticks[1], "2025-03-30 01:10:00");
  // The day before, 02:00-02:50 CET run six times as usual.
  EXPECT_EQ(Ticks("*/10 2 * * *", "Europe/Paris", day - hours{24}, day).size(),
            6u);
}

TEST(CronTicksTest, ParisSpringForwardEveryHourFollowsRealTime) {
  // Hourly at :30: 01:30 CET then 03:30 CEST, one real hour apart; no
  // extra run at 03:00.
  EXPECT_EQ(Next("30 * * * *", "Europe/Paris", Utc(2025, 3, 30, 0, 30)),
            "2025-03-30 01:30:00");
  // Every 15 minutes over the 23-hour day: 92 runs.
  EXPECT_EQ(
      Ticks("*/15 * * * *", "Europe/Paris", Utc(2025, 3, 29, 23) - seconds{1},
            Utc(2025, 3, 30, 22) - seconds{1})
          .size(),
      92u);
}

// Europe/Paris, 2025-10-26: at 03:00 CEST (01:00 UTC) the clocks go back to
// 02:00 CET; local 02:00-02:59 happens twice.
TEST(CronTicksTest, ParisFallBackRunsAFixedTimeOnce) {
  const sys_seconds day = Utc(2025, 10, 25, 22);  // local midnight
  const sys_seconds end = Utc(2025, 10, 26, 23);  // the next one, 25h later
  EXPECT_EQ(Ticks("30 2 * * *", "Europe/Paris", day, end),
            std::vector<std::string>{"2025-10-26 00:30:00"});
  EXPECT_EQ(Next("30 2 * * *", "Europe/Paris", Utc(2025, 10, 26, 0, 30)),
            "2025-10-27 01:30:00");
  // Every 10 minutes of hour 2: the first pass only.
  std::vector<std::string> ticks =
      Ticks("*/10 2 * * *", "Europe/Paris", day, end);
  ASSERT_EQ(ticks.size(), 6u);
  EXPECT_EQ(ticks.front(), "2025-10-26 00:00:00");
  EXPECT_EQ(ticks.back(), "2025-10-26 00:50:00");
  // LastAtOrBefore walks the same set: during the second pass the last
  // run is the first pass's 02:50.
  EXPECT_EQ(Last("*/10 2 * * *", "Europe/Paris", Utc(2025, 10, 26, 1, 30)),
            "2025-10-26 00:50:00");
}

TEST(CronTicksTest, ParisFallBackEveryHourRunsInBothPasses) {
  const sys_seconds day = Utc(2025, 10, 25, 22) - seconds{1};
  const sys_seconds end = Utc(2025, 10, 26, 23) - seconds{1};
  std::vector<std::string> ticks =
      Ticks("*/15 * * * *", "Europe/Paris", day, end);
  EXPECT_EQ(ticks.size(), 100u);  // 25 hours
  // 02:30 CEST and 02:30 CET, both.
  EXPECT_EQ(std::count(ticks.begin(), ticks.end(), "2025-10-26 00:30:00"), 1);
  EXPECT_EQ(std::count(ticks.begin(), ticks.end(), "2025-10-26 01:30:00"), 1);
  EXPECT_EQ(Ticks("0 * * * *", "Europe/Paris", day, end).size(), 25u);
}

// America/New_York, 2025-03-09: 02:00 EST (07:00 UTC) becomes 03:00 EDT.
TEST(CronTicksTest, NewYorkSpringForward) {
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", Utc(2025, 3, 8)),
            "2025-03-08 07:30:00");
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", Utc(2025, 3, 8, 7, 30)),
            "2025-03-09 07:00:00");
  EXPECT_EQ(Next("30 2 * * *", "America/New_York", Utc(2025, 3, 9, 7)),
            "2025-03-10 06:30:00");
  EXPECT_EQ(Ticks("*/10 2 * * *", "America/New_York", Utc(2025, 3, 9, 5),
                  Utc(2025, 3, 10, 4)),
            std::vector<std::string>{"2025-03-09 07:00:00"});
  EXPECT_EQ(
      Ticks("*/15 * * * *", "America/New_York", Utc(2025, 3, 9, 5) - seconds{1},
            Utc(2025, 3, 10, 4) - seconds{1})
          .size(),
      92u);
}

// America/New_York, 2025-11-02: 02:00 EDT (06:00 UTC) becomes 01:00 EST;
// local 01:00-01:59 happens twice.
TEST(CronTicksTest, NewYorkFallBack) {
  const sys_seconds day = Utc(2025, 11, 2, 4);
  const sys_seconds end = Utc(2025, 11, 3, 5);
  EXPECT_EQ(Ticks("30 1 * * *", "America/New_York", day, end),
            std::vector<std::string>{"2025-11-02 05:30:00"});
  EXPECT_EQ(Next("30 1 * * *", "America/New_York", Utc(2025, 11, 2, 5, 30)),
            "2025-11-03 06:30:00");
  std::vector<std::string> ticks = Ticks("*/15 * * * *", "America/New_York",
                                         day - seconds{1}, end - seconds{1});
  EXPECT_EQ(ticks.size(), 100u);
  EXPECT_EQ(std::count(ticks.begin(), ticks.end(), "2025-11-02 05:30:00"), 1);
  EXPECT_EQ(std::count(ticks.begin(), ticks.end(), "2025-11-02 06:30:00"), 1);
}

// Australia/Lord_Howe moves 30 minutes: 2025-10-05 02:00 (+10:30) becomes
// 02:30 (+11), 15:30 UTC the day before.
TEST(CronTicksTest, HalfHourShift) {
  EXPECT_EQ(Next("15 2 * * *", "Australia/Lord_Howe", Utc(2025, 10, 4, 12)),
            "2025-10-04 15:30:00");
  EXPECT_EQ(
      Next("15,45 * * * *", "Australia/Lord_Howe", Utc(2025, 10, 4, 15, 15)),
      "2025-10-04 15:45:00");
}

// NextAfter and LastAtOrBefore describe one set of ticks: each tick is the
// last at or before itself, and the one before it is the last before it.
// From the evening before each DST change of 2025 in both zones.
TEST(CronTicksTest, LastAtOrBeforeAgreesWithNextAfter) {
  const struct {
    const char* zone;
    sys_seconds starts[2];
  } kZones[] = {
      {"Europe/Paris", {Utc(2025, 3, 29, 20), Utc(2025, 10, 25, 20)}},
      {"America/New_York", {Utc(2025, 3, 9, 1), Utc(2025, 11, 2, 1)}},
  };
  for (const char* text : {"*/10 2 * * *", "*/15 * * * *", "30 1,2 * * *",
                           "0 0 29 2 *", "*/7 */20 * * * *", "0 0 13 * FRI"}) {
    for (const auto& zone : kZones) {
      for (sys_seconds start : zone.starts) {
        SCOPED_TRACE(std::string(text) + " in " + zone.zone + " from " +
                     Show(start));
        const CronExpr expr = Expr(text);
        const date::time_zone* tz = Zone(zone.zone);
        std::optional<sys_seconds> prev = LastAtOrBefore(expr, tz, start);
        ASSERT_TRUE(prev.has_value());
        for (int i = 0; i < 30; ++i) {
          std::optional<sys_seconds> next = NextAfter(expr, tz, *prev);
          ASSERT_TRUE(next.has_value());
          EXPECT_GT(*next, *prev);
          EXPECT_EQ(Show(LastAtOrBefore(expr, tz, *next)), Show(next));
          EXPECT_EQ(Show(LastAtOrBefore(expr, tz, *next - seconds{1})),
                    Show(prev));
          prev = next;
        }
      }
    }
  }
}

}  // namespace
}  // namespace qd
