// Fuzz target: cron expressions (CronExpr::Parse) and their ticks
// (NextAfter, LastAtOrBefore) in time zones with unusual DST changes.
//
// Input: three header bytes, then the expression text.
//   byte 0  the time zone, byte % 8 of kZones ('0' is UTC, '1' Paris, ...)
//   byte 1  the start instant, byte % 16 of kStarts ('@' is the first, 'A'
//           the second, ...: DST changes, leap days, the ends of the range)
//   byte 2  an offset from it, (byte % 64 - 32) quarter hours (' ' is none)
// Shorter inputs are all expression, from the first start in UTC.
//
// Checks: a refusal has a column within the text (or just past it) and a
// one-line ASCII message; an accepted expression keeps its text. Then up to
// 8 ticks after the start: each later than the one before; each a tick by
// an independent oracle that applies the rules of cron_ticks.h to one
// instant (the local fields match and it is not a fixed-hour job's repeat,
// or it is the first instant after a DST gap holding a fixed-hour match);
// no oracle tick that NextAfter skipped in the hour after the start and
// after each tick; and LastAtOrBefore agrees with NextAfter on every one of
// them.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/schedule/cron_expr.h"
#include "core/schedule/cron_ticks.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using date::local_seconds;
using date::sys_seconds;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kZones[] = {
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  // a 30-minute DST shift
    "Pacific/Apia",         // skipped 30 December 2011 whole
    "America/Sao_Paulo",    // changed at midnight (until 2019)
    "Pacific/Chatham",      // +12:45 / +13:45
    "Asia/Kolkata",         // +05:30, no DST
};

sys_seconds Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0,
                int s = 0) {
  return date::sys_days{date::year{y} / mo / d} + hours{h} + minutes{mi} +
         seconds{s};
}

const sys_seconds kStarts[] = {
    Utc(2025, 6, 4, 12, 0, 30),
    Utc(2025, 3, 30, 0),   // Paris, an hour before spring forward
    Utc(2025, 10, 26, 0),  // Paris, an hour before fall back
    Utc(2025, 3, 9, 6),    // New York, spring
    Utc(2025, 11, 2, 5),   // New York, fall
    Utc(2025, 4, 5, 14),   // Lord Howe, fall back 30 minutes
    Utc(2025, 10, 4, 15),  // Lord Howe, spring forward 30 minutes
    Utc(2011, 12, 29, 9),  // Apia, the day that did not happen
    Utc(2018, 11, 4, 2),   // Sao Paulo, midnight became 01:00
    Utc(2024, 2, 28, 12),  // a leap day ahead
    Utc(2025, 12, 31, 23, 59, 59),
    Utc(1970, 1, 1),        // the first instant searched
    Utc(2037, 10, 24, 12),  // the last DST change in the tz files
    Utc(9999, 12, 31),      // the last year searched
    Utc(2025, 4, 5, 13),    // Chatham, fall back
    Utc(2100, 2, 28),       // not a leap year
};

bool MatchesLocal(const qd::CronExpr& expr, local_seconds t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<seconds> tod{t - day};
  return expr.MatchesDate(static_cast<int>(unsigned(ymd.month())),
                          static_cast<int>(unsigned(ymd.day())),
                          static_cast<int>(date::weekday{day}.c_encoding())) &&
         expr.MatchesHour(static_cast<int>(tod.hours().count())) &&
         expr.MatchesMinute(static_cast<int>(tod.minutes().count())) &&
         expr.MatchesSecond(static_cast<int>(tod.seconds().count()));
}

// The rules of cron_ticks.h for one instant, second by second.
bool IsTick(const qd::CronExpr& expr, const date::time_zone* zone,
            sys_seconds t) {
  const date::sys_info info = zone->get_info(t);
  const date::sys_info prev = zone->get_info(info.begin - seconds{1});
  const bool wall_clock = !expr.every_hour();
  const local_seconds local{t.time_since_epoch() + info.offset};
  const local_seconds begin_before{info.begin.time_since_epoch() + prev.offset};
  if (MatchesLocal(expr, local)) {
    // A fixed-hour job does not run again in a repeated stretch.
    return !(wall_clock && prev.offset > info.offset && local < begin_before);
  }
  if (!wall_clock || t != info.begin || prev.offset >= info.offset) {
    return false;
  }
  // The first instant after a gap: any fixed-hour match inside it.
  const local_seconds gap_end{info.begin.time_since_epoch() + info.offset};
  for (local_seconds l = begin_before; l < gap_end; l += seconds{1}) {
    if (MatchesLocal(expr, l)) return true;
  }
  return false;
}

// No tick in (from, to), by the oracle; at most `limit` seconds looked at.
void CheckNoTickBetween(const qd::CronExpr& expr, const date::time_zone* zone,
                        sys_seconds from, sys_seconds to, seconds limit) {
  const sys_seconds end = std::min(to, from + limit);
  for (sys_seconds t = from + seconds{1}; t < end; t += seconds{1}) {
    FUZZ_CHECK(!IsTick(expr, zone, t));
  }
}

void CheckRefusal(const std::string& text, const qd::CronError& error) {
  FUZZ_CHECK(error.column >= 1);
  FUZZ_CHECK(static_cast<size_t>(error.column) <= text.size() + 1);
  FUZZ_CHECK(!error.message.empty() && error.message.size() < 400);
  for (char c : error.message) {
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 &&
               static_cast<unsigned char>(c) < 0x7f);
  }
}

void CheckTicks(const qd::CronExpr& expr, const date::time_zone* zone,
                sys_seconds start) {
  const sys_seconds kEnd = Utc(10000, 1, 1);
  const bool in_range = start >= Utc(1970, 1, 1) && start < kEnd;
  std::optional<sys_seconds> prev = start;
  const std::optional<sys_seconds> last = qd::LastAtOrBefore(expr, zone, start);
  FUZZ_CHECK(in_range || !last);
  if (last) FUZZ_CHECK(*last <= start && IsTick(expr, zone, *last));
  for (int i = 0; i < 8; ++i) {
    const std::optional<sys_seconds> next = qd::NextAfter(expr, zone, *prev);
    if (!next) {
      if (*prev >= Utc(1970, 1, 1) && *prev < kEnd) {
        CheckNoTickBetween(expr, zone, *prev, *prev + hours{1}, hours{1});
      }
      return;
    }
    FUZZ_CHECK(*next > *prev);
    FUZZ_CHECK(*next <= *prev + qd::kSearchHorizon);
    FUZZ_CHECK(IsTick(expr, zone, *next));
    CheckNoTickBetween(expr, zone, *prev, *next, hours{1});
    if (*next < kEnd) {
      // LastAtOrBefore walks the same set.
      FUZZ_CHECK(qd::LastAtOrBefore(expr, zone, *next) == next);
      const std::optional<sys_seconds> before =
          qd::LastAtOrBefore(expr, zone, *next - seconds{1});
      if (i > 0) {
        FUZZ_CHECK(before == prev);
      } else if (last && *last >= *next - seconds{1} - qd::kSearchHorizon) {
        FUZZ_CHECK(before == last);
      } else {
        FUZZ_CHECK(!before);  // the last one is beyond the horizon
      }
    }
    prev = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t zone_index = 0;
  sys_seconds start = kStarts[0];
  if (size >= 3) {
    zone_index = data[0] % 8;
    start = kStarts[data[1] % 16] + minutes{(data[2] % 64 - 32) * 15};
    data += 3;
    size -= 3;
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  qd::CronError error;
  const std::optional<qd::CronExpr> expr = qd::CronExpr::Parse(text, &error);
  if (!expr) {
    CheckRefusal(text, error);
    return 0;
  }
  FUZZ_CHECK(text.size() <= qd::CronExpr::kMaxLength);
  FUZZ_CHECK(expr->text() == text);
  bool all_hours = true;
  for (int h = 0; h < 24; ++h) all_hours = all_hours && expr->MatchesHour(h);
  FUZZ_CHECK(expr->every_hour() == all_hours);

  static const date::time_zone* zones[8] = {};
  if (zones[zone_index] == nullptr) {
    FUZZ_CHECK(qd::FindTimeZone(kZones[zone_index], &zones[zone_index]).ok());
  }
  CheckTicks(*expr, zones[zone_index], start);
  return 0;
}
