// PeriodicPlan: which tick one periodic entry enqueues next, and when to try
// it (docs/periodic.md, "Missed runs"). It holds no clock and no Redis: the
// runner tells it the time and what Redis answered, so tests drive both.
//
// The entry works on one tick at a time, its "current" tick:
//   - At Start(now) the current tick is the first one after now. With
//     `missed: run_once` it is first the last tick at or before now, sent
//     as a catch-up: Redis enqueues it only when the entry has run before
//     and its recorded tick is older (one run for all the ticks missed while
//     no daemon ran; an entry that never ran starts fresh).
//   - Take(now) hands out the current tick once it is due. If the tick after
//     it is due as well (Redis was down, or the loop late, past the next
//     tick), the current tick is dropped for the latest due one: whatever
//     the outage, an entry enqueues at most one late tick for it.
//   - Done(): Redis enqueued the tick or had it already (another daemon
//     did): the current tick becomes the next one.
//   - Failed(now): Redis could not be asked or refused; the same tick is
//     tried again after a backoff of 100 ms doubling to 5 s.
// A tick is one second of time (cron's resolution); the runner's times are
// in ms. Not thread-safe (the master's loop).
#pragma once

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/schedule/cron_expr.h"
#include "core/util/respawn_backoff.h"

namespace qd {

class PeriodicPlan {
 public:
  using Time = date::sys_time<std::chrono::milliseconds>;
  static constexpr std::chrono::milliseconds kRetryMin{100};
  static constexpr std::chrono::milliseconds kRetryMax{5000};

  // One try of a tick.
  struct Attempt {
    date::sys_seconds tick;
    // Enqueue only when a recorded tick exists and is older (run_once at
    // start); else whenever the recorded tick is older or there is none.
    bool catch_up = false;
    // Earlier ticks were dropped for this one: it was due late (for the
    // log).
    bool superseded = false;
  };

  // REQUIRES: zone != nullptr and outlives the plan.
  PeriodicPlan(const CronExpr& cron, const date::time_zone* zone,
               bool run_once);

  void Start(Time now);
  // The tick to send now, or nullopt when none is due (or one is out).
  std::optional<Attempt> Take(Time now);
  void Done();
  void Failed(Time now);
  // When Take() will have something: the current tick's time or the retry
  // time, whichever is later; nullopt while a tick is out or when the
  // expression has no more ticks.
  std::optional<Time> Due() const;
  // The current tick (the next run), nullopt when there is none.
  std::optional<date::sys_seconds> next() const { return tick_; }
  bool in_flight() const { return in_flight_; }

 private:
  CronExpr cron_;
  const date::time_zone* zone_;
  bool run_once_;
  std::optional<date::sys_seconds> tick_;
  bool catch_up_ = false;
  bool in_flight_ = false;
  std::optional<Time> retry_at_;
  RespawnBackoff backoff_;
};

}  // namespace qd
