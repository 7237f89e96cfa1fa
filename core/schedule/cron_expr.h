// CronExpr: a parsed cron expression, the "when" of a periodic job. It owns
// the set of values each field matches and answers "does this local time
// match?"; turning that into instants in a time zone is cron_ticks.h.
//
// Syntax (docs/periodic.md has the table):
//   [second] minute hour day-of-month month day-of-week
// Six fields put the seconds first (as Quartz and Spring do); the usual five
// mean second 0. Fields are separated by spaces or tabs. Each field is a
// comma-separated list of items:
//   *          every value            a-b       a range, a <= b
//   n          one value              */n       every n-th value from the
//   lowest a-b/n      every n-th value of a-b           a/n  every n-th value
//   from a up
// Months may be written JAN-DEC and weekdays SUN-SAT, in any case, wherever a
// number may. Day-of-week is 0-7, 0 and 7 both Sunday; `*` and `a/n` stop at
// 6 (Saturday), so `MON/2` is MON,WED,FRI. `?` is accepted as the whole
// day-of-month or day-of-week field and means `*` (people coming from Quartz
// write it). Quartz's `L`, `W` and `#` are refused with a message saying so,
// as are `@daily`-style macros.
//
// Day-of-month and day-of-week follow Vixie cron: when both are restricted (
// neither is written `*` or `?`), a day matches if EITHER matches, so
// `0 0 1 * MON` runs on the 1st and on every Monday. When one is `*`, the
// other alone decides. Unlike Vixie cron, which looks only at the first
// character, `*/2` counts as restricted.
//
// The parser is written by hand: Debian packages no cron-expression library
// for C++ (libcron and croncpp are not in Debian), and the grammar is small.
// Input is bounded: at most kMaxLength bytes, every number range-checked
// without overflow however many digits it has, every step within 1 and the
// number of values of its field. Errors carry the 1-based byte column in the
// expression so that the config loader can report file:line:col.
//
// A CronExpr is an immutable value once parsed: safe to copy and to share
// between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qd {

// Why an expression was refused, and where.
struct CronError {
  int column = 0;       // 1-based byte column within the expression
  std::string message;  // one line, e.g. "hour 25 out of range 0-23"

  // "col 7: hour 25 out of range 0-23".
  std::string ToString() const;
};

class CronExpr {
 public:
  static constexpr size_t kMaxLength = 256;

  // Parses `text`. On error returns nullopt and fills *error (the first
  // error only). Outside text in the message is quoted and escaped.
  static std::optional<CronExpr> Parse(std::string_view text, CronError* error);

  // The expression as given, for log lines.
  const std::string& text() const { return text_; }

  bool MatchesSecond(int second) const { return Has(seconds_, second, 59); }
  bool MatchesMinute(int minute) const { return Has(minutes_, minute, 59); }
  bool MatchesHour(int hour) const { return Has(hours_, hour, 23); }
  bool MatchesMonth(int month) const { return Has(months_, month, 12); }
  // The month, then the day-of-month / day-of-week rule above. `weekday`
  // is 0 (Sunday) to 6.
  bool MatchesDate(int month, int day, int weekday) const;

  // The smallest matching value >= `from`, or -1 when there is none up to
  // the field's maximum (second and minute 59, hour 23, month 12).
  int NextSecond(int from) const { return NextBit(seconds_, from, 59); }
  int NextMinute(int from) const { return NextBit(minutes_, from, 59); }
  int NextHour(int from) const { return NextBit(hours_, from, 23); }
  int NextMonth(int from) const { return NextBit(months_, from, 12); }

  // True when the hour field matches all 24 hours (`*`, `*/1`, `0-23`).
  // Such a job follows real time across DST changes; one with fixed hours
  // follows the wall clock (cron_ticks.h says how).
  bool every_hour() const { return hours_ == kAllHours; }

 private:
  friend class CronParser;
  static constexpr uint64_t kAllHours = (uint64_t{1} << 24) - 1;

  static bool Has(uint64_t bits, int v, int max) {
    return v >= 0 && v <= max && ((bits >> v) & 1) != 0;
  }
  static int NextBit(uint64_t bits, int from, int max);

  std::string text_;
  // Bit v set when value v matches.
  uint64_t seconds_ = 0;       // 0-59
  uint64_t minutes_ = 0;       // 0-59
  uint64_t hours_ = 0;         // 0-23
  uint64_t days_ = 0;          // 1-31
  uint64_t months_ = 0;        // 1-12
  uint64_t weekdays_ = 0;      // 0-6, 7 folded into 0
  bool days_any_ = false;      // day-of-month written `*` or `?`
  bool weekdays_any_ = false;  // day-of-week written `*` or `?`
};

}  // namespace qd
