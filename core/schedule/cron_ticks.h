// The instants at which a CronExpr fires in a time zone ("ticks"), and the
// time zones themselves.
//
// Time zones come from Howard Hinnant's date library as Debian packages it
// (libhowardhinnant-date-dev): built with USE_OS_TZDB, it reads the
// compiled zones of the tzdata package under /usr/share/zoneinfo and never
// downloads a database; the first lookup reads that directory (about 0.1 s)
// and later ones are cheap. Known limit of that build: past the last
// transition stored in the files (2037 in Debian's tzdata) a zone keeps its
// last offset, so DST is not applied to ticks after 2037
// (reported upstream as HowardHinnant/date#874).
//
// The clock is never read here: every function takes the time it works
// from, so tests and the scheduler choose it.
//
// The set of ticks is defined once, and NextAfter and LastAtOrBefore both
// walk that same set. Each local (wall-clock) time that matches the
// expression gives ticks as follows:
// - It exists once: one tick, at that instant.
// - It falls in a gap (spring forward: the clocks skip 02:00-03:00 in
//   Europe/Paris): a job with fixed hours runs once, at the first instant
//   after the gap (03:00 local), because a daily job must not lose its day.
//   All matching times in one gap give that single tick, also when the
//   first time after the gap matches itself: `*/10 2 * * *` runs once at
//   03:00, not six times. A job whose hour field matches every hour (`*`,
//   `*/1`, `0-23`) skips the times that do not exist: it follows real time,
//   so `30 * * * *` runs at 01:30 and 03:30, one real hour apart.
// - It occurs twice (fall back: 02:00-03:00 repeats in Europe/Paris): a job
//   with fixed hours runs once, at the first occurrence, so a daily job runs
//   once a day; a job whose hour field matches every hour runs at both, so
//   "every 15 minutes" keeps running every 15 real minutes through the
//   repeated hour (100 runs on that 25-hour day). This is Vixie cron's rule.
//
// Searches are bounded: they look at most kSearchHorizon ahead (or back),
// long enough for the rarest expression that can match (29 February, 8
// years apart across 2100), and they skip by field (month, day, hour,
// minute, second) rather than stepping through seconds, so an expression
// that never matches (`0 0 30 2 *`) answers nullopt in microseconds.
// Instants outside years 1970-9999 give nullopt.
//
// Pure functions of their arguments; a time_zone from FindTimeZone lives
// for the whole process and may be used from any thread.
#pragma once

#include <date/tz.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/schedule/cron_expr.h"
#include "queuedaemon/status.h"

namespace qd {

// Eight years and a day of search.
inline constexpr date::days kSearchHorizon{8 * 366 + 1};

// Looks up an IANA time zone name ("UTC", "Europe/Paris"). An unknown name,
// or a tz database that cannot be read, is an error saying so.
Status FindTimeZone(std::string_view name, const date::time_zone** out);

// The first tick strictly after `after`, or nullopt when there is none
// within kSearchHorizon.
// REQUIRES: zone != nullptr.
std::optional<date::sys_seconds> NextAfter(const CronExpr& expr,
                                           const date::time_zone* zone,
                                           date::sys_seconds after);

// The last tick at or before `at`, or nullopt when there is none within
// kSearchHorizon before it. For a "missed runs: run once" policy: compare
// it with the last run. About 60 bounded forward searches.
// REQUIRES: zone != nullptr.
std::optional<date::sys_seconds> LastAtOrBefore(const CronExpr& expr,
                                                const date::time_zone* zone,
                                                date::sys_seconds at);

// `t` as wall-clock time in `zone`, for people: "2025-03-30 03:00:00 CEST".
// REQUIRES: zone != nullptr.
std::string FormatLocal(date::sys_seconds t, const date::time_zone* zone);

}  // namespace qd
