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
//   - Take(now) hands out the current tick once it is due.
//   - Done(): Redis enqueued the tick or had it already (another daemon
//     did): the current tick becomes the next one, which may be due at once
//     (the ticks that came due meanwhile follow in order).
//   - Failed(now): Redis could not be asked or refused; the same tick is
//     tried again after a backoff of 100 ms doubling to 1 s (a call to a
//     client that is not connected fails at once, without a round trip;
//     the client's own reconnects back off on their own).
// A tick not enqueued within kGrace of its time (Redis down longer, or the
// loop stalled) is missed, and so are the ticks due behind it; the policy
// decides, as for ticks that passed while no daemon ran: skip drops them
// and waits for the next tick to come; run_once takes the latest due tick
// instead, one run for them all. (The start's catch-up is late by nature:
// it gives way only once a newer tick is due, to that latest one.) So a
// hiccup shorter than kGrace loses no tick, and a longer outage costs at
// most one late run.
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
  static constexpr std::chrono::milliseconds kRetryMax{1000};
  static constexpr std::chrono::seconds kGrace{10};

  // One try of a tick.
  struct Attempt {
    date::sys_seconds tick;
    // Enqueue only when a recorded tick exists and is older (run_once at
    // start); else whenever the recorded tick is older or there is none.
    bool catch_up = false;
    // Missed ticks were folded into this one (run_once, for the log).
    bool superseded = false;
  };

  // REQUIRES: zone != nullptr and outlives the plan.
  PeriodicPlan(const CronExpr& cron, const date::time_zone* zone,
               bool run_once);

  void Start(Time now);
  // The tick to send now, or nullopt when none is due (or one is out, or
  // skip just dropped the missed ticks: see skipped()).
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
  // How many times skip dropped missed ticks, and the oldest tick of the
  // last drop (for the log).
  int64_t skipped() const { return skipped_; }
  date::sys_seconds last_skipped() const { return last_skipped_; }

 private:
  // The current tick is missed (see the top of this file).
  bool Missed(Time now) const;

  CronExpr cron_;
  const date::time_zone* zone_;
  bool run_once_;
  std::optional<date::sys_seconds> tick_;
  bool catch_up_ = false;
  bool in_flight_ = false;
  std::optional<Time> retry_at_;
  RespawnBackoff backoff_;
  int64_t skipped_ = 0;
  date::sys_seconds last_skipped_{};
};

}  // namespace qd
