#include "core/schedule/cron_expr.h"

#include <gtest/gtest.h>

#include <string>

namespace qd {
namespace {

CronExpr Parsed(std::string_view text) {
  CronError error;
  std::optional<CronExpr> expr = CronExpr::Parse(text, &error);
  EXPECT_TRUE(expr.has_value()) << text << ": " << error.ToString();
  return expr.value_or(*CronExpr::Parse("* * * * *", nullptr));
}

// "col N: message", or "" when the text parses.
std::string Error(std::string_view text) {
  CronError error;
  if (CronExpr::Parse(text, &error)) return "";
  return error.ToString();
}

// The values a field matches, "0,15,30,45"; "*" when all of lo..hi.
std::string Values(const CronExpr& expr, bool (CronExpr::*matches)(int) const,
                   int lo, int hi) {
  std::string out;
  bool all = true;
  for (int v = lo; v <= hi; ++v) {
    if (!(expr.*matches)(v)) {
      all = false;
      continue;
    }
    if (!out.empty()) out += ",";
    out += std::to_string(v);
  }
  return all ? "*" : out;
}

std::string Seconds(const CronExpr& e) {
  return Values(e, &CronExpr::MatchesSecond, 0, 59);
}
std::string Minutes(const CronExpr& e) {
  return Values(e, &CronExpr::MatchesMinute, 0, 59);
}
std::string Hours(const CronExpr& e) {
  return Values(e, &CronExpr::MatchesHour, 0, 23);
}
std::string Months(const CronExpr& e) {
  return Values(e, &CronExpr::MatchesMonth, 1, 12);
}
// Days of a month whose 1st is a Sunday (so day d is weekday (d-1) % 7),
// in January.
std::string Days(const CronExpr& e) {
  std::string out;
  for (int d = 1; d <= 31; ++d) {
    if (!e.MatchesDate(1, d, (d - 1) % 7)) continue;
    if (!out.empty()) out += ",";
    out += std::to_string(d);
  }
  return out;
}
// The weekdays matched in a month with `*` as day-of-month.
std::string Weekdays(std::string_view dow) {
  CronExpr e = Parsed("0 0 * * " + std::string(dow));
  std::string out;
  for (int wd = 0; wd <= 6; ++wd) {
    if (!e.MatchesDate(1, 1 + wd, wd)) continue;
    if (!out.empty()) out += ",";
    out += std::to_string(wd);
  }
  return out;
}

TEST(CronExprTest, FiveFieldsMeanSecondZero) {
  CronExpr e = Parsed("5 4 * * *");
  EXPECT_EQ(Seconds(e), "0");
  EXPECT_EQ(Minutes(e), "5");
  EXPECT_EQ(Hours(e), "4");
  EXPECT_EQ(Months(e), "*");
  EXPECT_EQ(e.text(), "5 4 * * *");
}

TEST(CronExprTest, SixFieldsPutSecondsFirst) {
  CronExpr e = Parsed("30 5 4 * * *");
  EXPECT_EQ(Seconds(e), "30");
  EXPECT_EQ(Minutes(e), "5");
  EXPECT_EQ(Hours(e), "4");
  EXPECT_EQ(Seconds(Parsed("* * * * * *")), "*");
}

TEST(CronExprTest, ListsRangesAndSteps) {
  EXPECT_EQ(Minutes(Parsed("1,5,10-12 * * * *")), "1,5,10,11,12");
  EXPECT_EQ(Minutes(Parsed("*/15 * * * *")), "0,15,30,45");
  EXPECT_EQ(Minutes(Parsed("10-30/10 * * * *")), "10,20,30");
  EXPECT_EQ(Minutes(Parsed("5/20 * * * *")), "5,25,45");
  EXPECT_EQ(Minutes(Parsed("0-59/1 * * * *")), "*");
  EXPECT_EQ(Minutes(Parsed("*/60 * * * *")), "0");
  EXPECT_EQ(Minutes(Parsed("7,7,7 * * * *")), "7");
  EXPECT_EQ(Minutes(Parsed("0005 * * * *")), "5");
  EXPECT_EQ(Hours(Parsed("0 */7 * * *")), "0,7,14,21");
  EXPECT_EQ(Hours(Parsed("0 9-17/4,23 * * *")), "9,13,17,23");
  EXPECT_EQ(Seconds(Parsed("*/20 * * * * *")), "0,20,40");
  // Steps start at the field's lowest value: day-of-month 1, month 1.
  EXPECT_EQ(Days(Parsed("0 0 */10 * *")), "1,11,21,31");
  EXPECT_EQ(Months(Parsed("0 0 1 */5 *")), "1,6,11");
}

TEST(CronExprTest, MonthNamesInAnyCase) {
  EXPECT_EQ(Months(Parsed("0 0 1 jan,Mar,DEC *")), "1,3,12");
  EXPECT_EQ(Months(Parsed("0 0 1 JAN-MAR *")), "1,2,3");
  EXPECT_EQ(Months(Parsed("0 0 1 feb/3 *")), "2,5,8,11");
  EXPECT_EQ(Months(Parsed("0 0 1 MAR-9 *")), "3,4,5,6,7,8,9");
}

TEST(CronExprTest, WeekdayNamesAndSundayAsSeven) {
  EXPECT_EQ(Weekdays("MON-FRI"), "1,2,3,4,5");
  EXPECT_EQ(Weekdays("sun"), "0");
  EXPECT_EQ(Weekdays("SAT,Sun"), "0,6");
  EXPECT_EQ(Weekdays("7"), "0");
  EXPECT_EQ(Weekdays("0"), "0");
  EXPECT_EQ(Weekdays("5-7"), "0,5,6");
  // `*` and a/n stop at Saturday: no second Sunday through 7.
  EXPECT_EQ(Weekdays("*/2"), "0,2,4,6");
  EXPECT_EQ(Weekdays("MON/2"), "1,3,5");
  EXPECT_EQ(Weekdays("*"), "0,1,2,3,4,5,6");
}

TEST(CronExprTest, QuestionMarkMeansStarInDayFields) {
  EXPECT_EQ(Days(Parsed("0 0 ? * MON")), Days(Parsed("0 0 * * MON")));
  EXPECT_EQ(Days(Parsed("0 0 13 * ?")), "13");
}

// Vixie cron's rule: both restricted, either may match; one `*`, the other
// decides alone. January of a year starting on Sunday: Mondays are 2, 9,
// 16, 23, 30.
TEST(CronExprTest, DayOfMonthOrDayOfWeek) {
  EXPECT_EQ(Days(Parsed("0 0 1 * MON")), "1,2,9,16,23,30");
  EXPECT_EQ(Days(Parsed("0 0 * * MON")), "2,9,16,23,30");
  EXPECT_EQ(Days(Parsed("0 0 1 * *")), "1");
  EXPECT_EQ(Days(Parsed("0 0 1,15 * ?")), "1,15");
  // `*/2` is restricted here (Vixie cron would treat it as `*`).
  EXPECT_EQ(Days(Parsed("0 0 */10 * MON")), "1,2,9,11,16,21,23,30,31");
  // The month still has to match.
  CronExpr e = Parsed("0 0 1 FEB MON");
  EXPECT_FALSE(e.MatchesDate(1, 1, 0));
  EXPECT_TRUE(e.MatchesDate(2, 1, 3));
  EXPECT_TRUE(e.MatchesDate(2, 6, 1));
}

TEST(CronExprTest, EveryHour) {
  EXPECT_TRUE(Parsed("0 * * * *").every_hour());
  EXPECT_TRUE(Parsed("0 */1 * * *").every_hour());
  EXPECT_TRUE(Parsed("0 0-23 * * *").every_hour());
  EXPECT_FALSE(Parsed("0 */2 * * *").every_hour());
  EXPECT_FALSE(Parsed("0 0-22 * * *").every_hour());
  EXPECT_FALSE(Parsed("*/10 2 * * *").every_hour());
}

TEST(CronExprTest, NextValue) {
  CronExpr e = Parsed("10,40 5-7 * 3,11 *");
  EXPECT_EQ(e.NextMinute(0), 10);
  EXPECT_EQ(e.NextMinute(10), 10);
  EXPECT_EQ(e.NextMinute(11), 40);
  EXPECT_EQ(e.NextMinute(41), -1);
  EXPECT_EQ(e.NextMinute(60), -1);
  EXPECT_EQ(e.NextHour(8), -1);
  EXPECT_EQ(e.NextHour(24), -1);
  EXPECT_EQ(e.NextMonth(4), 11);
  EXPECT_EQ(e.NextMonth(12), -1);
  EXPECT_EQ(e.NextSecond(1), -1);
}

TEST(CronExprTest, SpacesAndTabsSeparateFields) {
  CronExpr e = Parsed("  0\t\t12  *  * \t* ");
  EXPECT_EQ(Hours(e), "12");
  EXPECT_EQ(e.text(), "  0\t\t12  *  * \t* ");
}

TEST(CronExprTest, FieldCountErrors) {
  EXPECT_EQ(Error(""),
            "col 1: empty cron expression: expected 5 fields (minute hour "
            "day-of-month month day-of-week) or 6 (with seconds first)");
  EXPECT_EQ(Error("   "), Error(""));
  EXPECT_EQ(Error("* * * *"),
            "col 8: 4 fields: expected 5 (minute hour day-of-month month "
            "day-of-week) or 6 (with seconds first)");
  EXPECT_EQ(Error("0  "),
            "col 2: 1 field: expected 5 (minute hour day-of-month month "
            "day-of-week) or 6 (with seconds first)");
  EXPECT_EQ(Error("0 0 0 1 1 * 2030"),
            "col 13: too many fields: expected 5 (minute hour day-of-month "
            "month day-of-week) or 6 (with seconds first)");
  EXPECT_EQ(Error("@daily"),
            "col 1: macros such as @daily are not supported: write the "
            "fields (e.g. '0 0 * * *')");
}

TEST(CronExprTest, ValuesOutOfRange) {
  EXPECT_EQ(Error("60 * * * *"), "col 1: minute 60 out of range 0-59");
  EXPECT_EQ(Error("00 00 25 * * *"), "col 7: hour 25 out of range 0-23");
  EXPECT_EQ(Error("0 0 25 * * *"), "col 5: hour 25 out of range 0-23");
  EXPECT_EQ(Error("60 0 0 * * *"), "col 1: second 60 out of range 0-59");
  EXPECT_EQ(Error("0 0 0 * *"), "col 5: day-of-month 0 out of range 1-31");
  EXPECT_EQ(Error("0 0 32 * *"), "col 5: day-of-month 32 out of range 1-31");
  EXPECT_EQ(Error("0 0 * 0 *"), "col 7: month 0 out of range 1-12");
  EXPECT_EQ(Error("0 0 * 13 *"), "col 7: month 13 out of range 1-12");
  EXPECT_EQ(Error("0 0 * * 8"), "col 9: day-of-week 8 out of range 0-7");
  EXPECT_EQ(Error("0 0 * * 1-8"), "col 11: day-of-week 8 out of range 0-7");
  EXPECT_EQ(Error("  0 24 * * *"), "col 5: hour 24 out of range 0-23");
}

TEST(CronExprTest, LongDigitStringsDoNotOverflow) {
  EXPECT_EQ(Error("99999999999999999999999 * * * *"),
            "col 1: minute 99999999999999999999999 out of range 0-59");
  EXPECT_EQ(Error("4294967296 * * * *"),
            "col 1: minute 4294967296 out of range 0-59");
  EXPECT_EQ(Error(std::string(40, '9') + " * * * *"),
            "col 1: minute " + std::string(24, '9') + "... out of range 0-59");
  EXPECT_EQ(Error("*/99999999999999999999 * * * *"),
            "col 3: minute step 99999999999999999999 out of range 1-60");
  // Leading zeros are only zeros.
  EXPECT_EQ(Minutes(Parsed(std::string(100, '0') + "7 * * * *")), "7");
}

TEST(CronExprTest, LengthCap) {
  // 256 bytes: accepted.
  std::string longest = std::string(248, '0') + " * * * *";
  ASSERT_EQ(longest.size(), CronExpr::kMaxLength);
  EXPECT_EQ(Minutes(Parsed(longest)), "0");
  EXPECT_EQ(Error(longest + " "),
            "col 257: cron expression longer than 256 bytes");
  EXPECT_EQ(Error(std::string(100000, ' ')),
            "col 257: cron expression longer than 256 bytes");
}

TEST(CronExprTest, StepErrors) {
  EXPECT_EQ(Error("*/0 * * * *"), "col 3: minute step 0 out of range 1-60");
  EXPECT_EQ(Error("*/61 * * * *"), "col 3: minute step 61 out of range 1-60");
  EXPECT_EQ(Error("0 */25 * * *"), "col 5: hour step 25 out of range 1-24");
  EXPECT_EQ(Error("0 0 */32 * *"),
            "col 7: day-of-month step 32 out of range 1-31");
  EXPECT_EQ(Error("0 0 * */13 *"), "col 9: month step 13 out of range 1-12");
  EXPECT_EQ(Error("0 0 * * */8"),
            "col 11: day-of-week step 8 out of range 1-7");
  EXPECT_EQ(Error("*/ * * * *"),
            "col 3: minute: expected a step number after '/', found the end "
            "of the field");
  EXPECT_EQ(Error("*/x * * * *"),
            "col 3: minute: expected a step number after '/', found 'x'");
  EXPECT_EQ(Error("0 0 * */JAN *"),
            "col 9: month: expected a step number after '/', found 'J'");
  EXPECT_EQ(Error("*/5/2 * * * *"),
            "col 4: minute: unexpected '/' after '*/5'");
}

TEST(CronExprTest, SyntaxErrors) {
  EXPECT_EQ(Error("5-1 * * * *"),
            "col 1: minute range 5-1 goes backwards (the first value must "
            "not be greater than the second)");
  EXPECT_EQ(Error("0 0 * * FRI-MON"),
            "col 9: day-of-week range FRI-MON goes backwards (the first "
            "value must not be greater than the second)");
  EXPECT_EQ(Error("1,,2 * * * *"),
            "col 3: minute: expected a number or '*', found ','");
  EXPECT_EQ(Error("1, * * * *"),
            "col 3: minute: expected a number or '*', found the end of the "
            "field");
  EXPECT_EQ(Error(",1 * * * *"),
            "col 1: minute: expected a number or '*', found ','");
  EXPECT_EQ(Error("1x * * * *"), "col 2: minute: unexpected 'x' after '1'");
  EXPECT_EQ(Error("*-5 * * * *"), "col 2: minute: unexpected '-' after '*'");
  EXPECT_EQ(Error("1-5-7 * * * *"),
            "col 4: minute: unexpected '-' after '1-5'");
  EXPECT_EQ(Error("1- * * * *"),
            "col 3: minute: expected a number or '*', found the end of the "
            "field");
  EXPECT_EQ(Error("0 0 * * -1"),
            "col 9: day-of-week: expected a number, a name (SUN-SAT), '*' or "
            "'?', found '-'");
  EXPECT_EQ(Error("0 0 * ** *"), "col 8: month: unexpected '*' after '*'");
  // Outside bytes are escaped.
  EXPECT_EQ(Error("\x01 * * * *"),
            "col 1: minute: expected a number or '*', found '\\x01'");
  EXPECT_EQ(Error("0 0 * * \xc3\xa9"),
            "col 9: day-of-week: expected a number, a name (SUN-SAT), '*' or "
            "'?', found '\\xc3'");
  EXPECT_EQ(Error("0\n0 * * * *"),
            "col 2: minute: unexpected '\\x0a' after '0'");
}

TEST(CronExprTest, NameErrors) {
  EXPECT_EQ(Error("0 0 * FOO *"),
            "col 7: month: 'FOO' is not a month name (JAN-DEC)");
  EXPECT_EQ(Error("0 0 * JANUARY *"),
            "col 7: month: 'JANUARY' is not a month name (JAN-DEC)");
  EXPECT_EQ(Error("0 0 * * MONDAY"),
            "col 9: day-of-week: 'MONDAY' is not a weekday name (SUN-SAT)");
  EXPECT_EQ(Error("0 0 MON * *"),
            "col 5: day-of-month: 'MON' is not a number (names are allowed "
            "in month and day-of-week only)");
  EXPECT_EQ(Error("0 0 * * JAN"),
            "col 9: day-of-week: 'JAN' is not a weekday name (SUN-SAT)");
}

TEST(CronExprTest, QuartzExtensionsAreRefused) {
  EXPECT_EQ(Error("0 0 L * *"),
            "col 5: day-of-month: 'L' (the last day) is not supported (Quartz "
            "syntax)");
  EXPECT_EQ(Error("0 0 LW * *"), Error("0 0 L * *"));
  EXPECT_EQ(Error("0 0 15W * *"),
            "col 7: day-of-month: 'W' (the nearest weekday) is not supported "
            "(Quartz syntax)");
  EXPECT_EQ(Error("0 0 * * 5L"),
            "col 10: day-of-week: 'L' (the last day) is not supported (Quartz "
            "syntax)");
  EXPECT_EQ(Error("0 0 * * 5#3"),
            "col 10: day-of-week: '#' (the n-th weekday of the month) is not "
            "supported (Quartz syntax)");
  EXPECT_EQ(Error("0 0 * * #"),
            "col 9: day-of-week: '#' (the n-th weekday of the month) is not "
            "supported (Quartz syntax)");
}

TEST(CronExprTest, QuestionMarkErrors) {
  EXPECT_EQ(Error("? * * * *"),
            "col 1: minute: '?' is only allowed in day-of-month and "
            "day-of-week (where it means '*')");
  EXPECT_EQ(Error("0 0 ?,1 * *"),
            "col 5: day-of-month: '?' must be the whole field (it means '*')");
  EXPECT_EQ(Error("0 0 1 * 1,?"),
            "col 11: day-of-week: '?' must be the whole field (it means '*')");
  EXPECT_EQ(Error("0 0 * 1,? *"),
            "col 9: month: expected a number, a name (JAN-DEC) or '*', found "
            "'?'");
}

TEST(CronExprTest, ErrorWithoutOutParameter) {
  EXPECT_FALSE(CronExpr::Parse("bad", nullptr).has_value());
}

}  // namespace
}  // namespace qd
