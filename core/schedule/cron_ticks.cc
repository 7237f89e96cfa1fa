#include "core/schedule/cron_ticks.h"

#include <algorithm>
#include <exception>
#include <string>

#include "core/util/text_quote.h"

namespace qd {

namespace {

using date::days;
using date::local_seconds;
using date::sys_seconds;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// The instants the searches accept: past them the calendar arithmetic of the
// date library would still work, but nothing useful is scheduled there.
const sys_seconds kEarliest{date::sys_days{date::year{1970} / 1 / 1}};
const sys_seconds kLatest{date::sys_days{date::year{10000} / 1 / 1}};

local_seconds ToLocal(sys_seconds t, seconds offset) {
  return local_seconds{t.time_since_epoch() + offset};
}

sys_seconds ToSys(local_seconds t, seconds offset) {
  return sys_seconds{t.time_since_epoch() - offset};
}

// The first local time in [from, limit) that `expr` matches. Skips a whole
// month, day, hour or minute as soon as its field does not match, so the
// cost grows with the days searched, not the seconds.
std::optional<local_seconds> FirstLocalMatch(const CronExpr& expr,
                                             local_seconds from,
                                             local_seconds limit) {
  if (from >= limit) return std::nullopt;
  date::local_days day = date::floor<days>(from);
  const date::local_days last_day = date::floor<days>(limit - seconds{1});
  const int64_t tod = (from - day).count();
  int h = static_cast<int>(tod / 3600);
  int m = static_cast<int>(tod / 60 % 60);
  int s = static_cast<int>(tod % 60);
  while (day <= last_day) {
    const date::year_month_day ymd{day};
    const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    if (!expr.MatchesMonth(month)) {
      date::year year = ymd.year();
      int next = expr.NextMonth(month + 1);
      if (next < 0) {
        year += date::years{1};
        next = expr.NextMonth(1);
      }
      day = date::local_days{year / static_cast<unsigned>(next) / 1};
      h = m = s = 0;
      continue;
    }
    const int weekday = static_cast<int>(date::weekday{day}.c_encoding());
    const int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
    const int hour =
        expr.MatchesDate(month, dom, weekday) ? expr.NextHour(h) : -1;
    if (hour < 0) {
      day += days{1};
      h = m = s = 0;
      continue;
    }
    if (hour != h) {
      h = hour;
      m = s = 0;
    }
    const int minute = expr.NextMinute(m);
    if (minute < 0) {  // on to the next hour (NextHour(24) is -1)
      ++h;
      m = s = 0;
      continue;
    }
    if (minute != m) {
      m = minute;
      s = 0;
    }
    const int second = expr.NextSecond(s);
    if (second < 0) {
      ++m;
      s = 0;
      continue;
    }
    const local_seconds t = day + hours{h} + minutes{m} + seconds{second};
    if (t >= limit) return std::nullopt;
    return t;
  }
  return std::nullopt;
}

// A stretch of time with one UTC offset, and the offset before it.
struct Segment {
  sys_seconds begin;
  sys_seconds end;  // exclusive
  seconds offset;
  seconds prev_offset;
};

Segment SegmentAt(const date::time_zone* zone, sys_seconds t) {
  const date::sys_info info = zone->get_info(t);
  const date::sys_info prev = zone->get_info(info.begin - seconds{1});
  return {info.begin, info.end, info.offset, prev.offset};
}

// The first tick in (after, until]: the rules of the header, one segment of
// constant offset at a time.
std::optional<sys_seconds> FirstTickIn(const CronExpr& expr,
                                       const date::time_zone* zone,
                                       sys_seconds after, sys_seconds until) {
  const bool wall_clock = !expr.every_hour();
  sys_seconds t = after + seconds{1};
  while (t <= until) {
    const Segment seg = SegmentAt(zone, t);
    // A gap just before this segment: its matches collapse into one tick
    // at the segment's first instant.
    if (wall_clock && t == seg.begin && seg.prev_offset < seg.offset &&
        FirstLocalMatch(expr, ToLocal(seg.begin, seg.prev_offset),
                        ToLocal(seg.begin, seg.offset))) {
      return t;
    }
    local_seconds from = ToLocal(t, seg.offset);
    // A repeated stretch at the start of this segment: a wall-clock job
    // already ran there in the previous segment.
    if (wall_clock && seg.prev_offset > seg.offset) {
      from = std::max(from, ToLocal(seg.begin, seg.prev_offset));
    }
    const sys_seconds end = std::min(seg.end, until + seconds{1});
    if (auto local = FirstLocalMatch(expr, from, ToLocal(end, seg.offset))) {
      return ToSys(*local, seg.offset);
    }
    t = seg.end;
  }
  return std::nullopt;
}

bool InRange(sys_seconds t) { return t >= kEarliest && t < kLatest; }

bool IsZoneNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-' || c == '+';
}

}  // namespace

Status FindTimeZone(std::string_view name, const date::time_zone** out) {
  const std::string shown = "'" + Quote(name, 64, true) + "'";
  const bool plausible = !name.empty() && name.size() <= 64 &&
                         std::all_of(name.begin(), name.end(), IsZoneNameChar);
  if (plausible) {
    try {
      date::get_tzdb();
    } catch (const std::exception& e) {
      return Status::Error(
          "cannot read the time zone database (package "
          "tzdata, /usr/share/zoneinfo): " +
          Quote(e.what(), 200, true));
    }
    try {
      *out = date::locate_zone(name);
      return Status::Ok();
    } catch (const std::exception&) {
      // Not found: the message below says so.
    }
  }
  return Status::Error("unknown time zone " + shown +
                       ": expected an IANA name such as UTC, Europe/Paris or "
                       "America/New_York (as in /usr/share/zoneinfo)");
}

std::optional<sys_seconds> NextAfter(const CronExpr& expr,
                                     const date::time_zone* zone,
                                     sys_seconds after) {
  if (!InRange(after)) return std::nullopt;
  return FirstTickIn(expr, zone, after, after + kSearchHorizon);
}

std::optional<sys_seconds> LastAtOrBefore(const CronExpr& expr,
                                          const date::time_zone* zone,
                                          sys_seconds at) {
  if (!InRange(at)) return std::nullopt;
  const sys_seconds floor = std::max(at - kSearchHorizon, kEarliest);
  // Is there a tick in [from, at]?
  auto any_from = [&](sys_seconds from) {
    return FirstTickIn(expr, zone, from - seconds{1}, at).has_value();
  };
  // Widen [lo, at] backwards until it holds a tick; [hi, at] holds none.
  sys_seconds hi = at + seconds{1};
  sys_seconds lo = at;
  seconds width{1};
  while (!any_from(lo)) {
    if (lo == floor) return std::nullopt;
    hi = lo;
    width *= 2;
    lo = std::max(at + seconds{1} - width, floor);
  }
  // Then narrow: the last tick is the largest lo with a tick in [lo, at].
  while (hi - lo > seconds{1}) {
    const sys_seconds mid = lo + (hi - lo) / 2;
    if (any_from(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

std::string FormatLocal(date::sys_seconds t, const date::time_zone* zone) {
  try {
    return date::format("%F %T %Z", date::make_zoned(zone, t));
  } catch (const std::exception&) {  // outside what the zone can convert
    return date::format("%F %T UTC", t);
  }
}

}  // namespace qd
