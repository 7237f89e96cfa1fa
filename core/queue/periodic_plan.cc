#include "core/queue/periodic_plan.h"

#include <algorithm>

#include "core/schedule/cron_ticks.h"

namespace qd {
namespace {

date::sys_seconds Seconds(PeriodicPlan::Time t) {
  return date::floor<std::chrono::seconds>(t);
}

}  // namespace

PeriodicPlan::PeriodicPlan(const CronExpr& cron, const date::time_zone* zone,
                           bool run_once)
    : cron_(cron),
      zone_(zone),
      run_once_(run_once),
      // Retries are never reset by time, only by Done().
      backoff_(kRetryMin, kRetryMax, std::chrono::hours(24 * 365)) {}

void PeriodicPlan::Start(Time now) {
  in_flight_ = false;
  retry_at_.reset();
  backoff_.Reset();
  catch_up_ = false;
  if (run_once_) {
    tick_ = LastAtOrBefore(cron_, zone_, Seconds(now));
    catch_up_ = tick_.has_value();
  }
  if (!tick_ || !catch_up_) tick_ = NextAfter(cron_, zone_, Seconds(now));
}

bool PeriodicPlan::Missed(Time now) const {
  if (!catch_up_) return now - *tick_ > kGrace;
  std::optional<date::sys_seconds> after = NextAfter(cron_, zone_, *tick_);
  return after && *after <= now;
}

std::optional<PeriodicPlan::Attempt> PeriodicPlan::Take(Time now) {
  if (in_flight_ || !tick_ || now < *tick_) return std::nullopt;
  if (retry_at_ && now < *retry_at_) return std::nullopt;
  Attempt attempt{*tick_, catch_up_, false};
  if (Missed(now)) {
    catch_up_ = false;
    if (!run_once_) {
      ++skipped_;
      last_skipped_ = *tick_;
      tick_ = NextAfter(cron_, zone_, Seconds(now));
      return std::nullopt;
    }
    // Never earlier than the current tick, whatever the clock did.
    std::optional<date::sys_seconds> latest =
        LastAtOrBefore(cron_, zone_, Seconds(now));
    tick_ = std::max(*tick_, latest.value_or(*tick_));
    attempt = Attempt{*tick_, false, true};
  }
  in_flight_ = true;
  return attempt;
}

void PeriodicPlan::Done() {
  in_flight_ = false;
  retry_at_.reset();
  backoff_.Reset();
  catch_up_ = false;
  if (tick_) tick_ = NextAfter(cron_, zone_, *tick_);
}

void PeriodicPlan::Failed(Time now) {
  in_flight_ = false;
  retry_at_ = now + backoff_.OnCrash(std::chrono::milliseconds(0));
}

std::optional<PeriodicPlan::Time> PeriodicPlan::Due() const {
  if (in_flight_ || !tick_) return std::nullopt;
  Time due = *tick_;
  if (retry_at_) due = std::max(due, *retry_at_);
  return due;
}

}  // namespace qd
