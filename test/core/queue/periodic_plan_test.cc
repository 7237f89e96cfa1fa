// PeriodicPlan with a fake clock: the tick sequence, the run_once catch-up
// at start, retries with backoff, and a late tick replaced by the latest.
#include "core/queue/periodic_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/schedule/cron_ticks.h"

namespace qd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Time = PeriodicPlan::Time;

const date::time_zone* Zone(const std::string& name) {
  const date::time_zone* zone = nullptr;
  EXPECT_TRUE(FindTimeZone(name, &zone).ok()) << name;
  return zone;
}

CronExpr Cron(const std::string& text) {
  CronError error;
  auto cron = CronExpr::Parse(text, &error);
  EXPECT_TRUE(cron.has_value()) << error.ToString();
  return cron.value_or(CronExpr());
}

// An instant in UTC: At(2025, 3, 30, 1, 0, 0).
Time At(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms = 0) {
  return Time{date::sys_days{date::year{y} / mo / d}} + std::chrono::hours{h} +
         std::chrono::minutes{mi} + seconds{s} + milliseconds{ms};
}

std::string Utc(date::sys_seconds t) { return date::format("%F %T", t); }

// Runs the plan as the runner would, Redis always answering: the clock
// jumps to each Due() and every tick is done. The ticks taken, in UTC.
std::vector<std::string> RunTicks(PeriodicPlan* plan, int count) {
  std::vector<std::string> ticks;
  for (int i = 0; i < count; ++i) {
    std::optional<Time> due = plan->Due();
    if (!due) break;
    EXPECT_FALSE(plan->Take(*due - milliseconds(1))) << "early";
    std::optional<PeriodicPlan::Attempt> a = plan->Take(*due);
    if (!a) break;
    EXPECT_FALSE(a->superseded);
    ticks.push_back(Utc(a->tick));
    plan->Done();
  }
  return ticks;
}

TEST(PeriodicPlanTest, EverySecondTakesEachSecondOnceFromTheNextOne) {
  PeriodicPlan plan(Cron("* * * * * *"), Zone("UTC"), false);
  plan.Start(At(2025, 6, 1, 10, 0, 0, 300));
  EXPECT_EQ(
      RunTicks(&plan, 4),
      (std::vector<std::string>{"2025-06-01 10:00:01", "2025-06-01 10:00:02",
                                "2025-06-01 10:00:03", "2025-06-01 10:00:04"}));
}

TEST(PeriodicPlanTest, ATickIsOutOnceUntilItsAnswer) {
  PeriodicPlan plan(Cron("* * * * * *"), Zone("UTC"), false);
  Time now = At(2025, 6, 1, 10, 0, 0);
  plan.Start(now);
  ASSERT_TRUE(plan.Take(now + seconds(1)));
  EXPECT_TRUE(plan.in_flight());
  EXPECT_FALSE(plan.Due());
  EXPECT_FALSE(plan.Take(now + seconds(1)));
  plan.Done();
  EXPECT_EQ(plan.Due(), now + seconds(2));
}

TEST(PeriodicPlanTest, SkipStartsAfterNowWhateverRanBefore) {
  PeriodicPlan plan(Cron("0 30 2 * * *"), Zone("Europe/Paris"), false);
  plan.Start(At(2025, 6, 1, 12, 0, 0));
  std::optional<Time> due = plan.Due();
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, At(2025, 6, 2, 0, 30, 0));  // 02:30 CEST the next day
  EXPECT_FALSE(plan.Take(At(2025, 6, 1, 12, 0, 0)));
}

TEST(PeriodicPlanTest, RunOnceFirstSendsTheLatestPastTickAsACatchUp) {
  PeriodicPlan plan(Cron("0 30 2 * * *"), Zone("Europe/Paris"), true);
  Time now = At(2025, 6, 1, 12, 0, 0);
  plan.Start(now);
  std::optional<PeriodicPlan::Attempt> a = plan.Take(now);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->catch_up);
  EXPECT_FALSE(a->superseded);
  EXPECT_EQ(Utc(a->tick), "2025-06-01 00:30:00");  // today 02:30 CEST
  plan.Done();
  ASSERT_TRUE(plan.next());
  EXPECT_EQ(Utc(*plan.next()), "2025-06-02 00:30:00");
  a = plan.Take(At(2025, 6, 2, 0, 30, 0));
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->catch_up) << "a tick that came due while running";
}

TEST(PeriodicPlanTest, AFailedTickIsTriedAgainWithDoublingBackoff) {
  PeriodicPlan plan(Cron("0 30 2 * * *"), Zone("UTC"), false);
  Time tick = At(2025, 6, 1, 2, 30, 0);
  plan.Start(tick - seconds(10));
  Time now = tick;
  std::vector<long long> waits;
  for (int i = 0; i < 6; ++i) {
    std::optional<PeriodicPlan::Attempt> a = plan.Take(now);
    ASSERT_TRUE(a) << i;
    EXPECT_EQ(Utc(a->tick), "2025-06-01 02:30:00");
    EXPECT_FALSE(a->superseded);
    plan.Failed(now);
    EXPECT_FALSE(plan.Take(now)) << "not before its retry time";
    waits.push_back((*plan.Due() - now).count());
    now = *plan.Due();
  }
  EXPECT_EQ(waits, (std::vector<long long>{100, 200, 400, 800, 1000, 1000}));
  // Redis back 3.5 s after the tick, within the grace: it runs, late.
  std::optional<PeriodicPlan::Attempt> a = plan.Take(now);
  ASSERT_TRUE(a);
  EXPECT_EQ(Utc(a->tick), "2025-06-01 02:30:00");
  EXPECT_FALSE(a->superseded);
  plan.Done();
  // A later failure backs off from 100 ms again.
  Time next = At(2025, 6, 2, 2, 30, 0);
  EXPECT_EQ(plan.Due(), next);
  ASSERT_TRUE(plan.Take(next));
  plan.Failed(next);
  EXPECT_EQ(plan.Due(), next + milliseconds(100));
}

TEST(PeriodicPlanTest, SkipDropsATickNotEnqueuedWithinTheGrace) {
  PeriodicPlan plan(Cron("0 30 2 * * *"), Zone("UTC"), false);
  Time tick = At(2025, 6, 1, 2, 30, 0);
  plan.Start(tick - seconds(10));
  ASSERT_TRUE(plan.Take(tick));
  plan.Failed(tick);
  // Redis back six minutes later: the day's run is missed, and skipped.
  Time now = tick + std::chrono::minutes(6);
  EXPECT_FALSE(plan.Take(now));
  EXPECT_EQ(plan.skipped(), 1);
  EXPECT_EQ(Utc(plan.last_skipped()), "2025-06-01 02:30:00");
  ASSERT_TRUE(plan.next());
  EXPECT_EQ(Utc(*plan.next()), "2025-06-02 02:30:00");
  EXPECT_GT(*plan.Due(), now) << "nothing due: no loop on the timer";
}

TEST(PeriodicPlanTest, RunOnceRunsAMissedTickOnceLate) {
  PeriodicPlan plan(Cron("0 30 2 * * *"), Zone("UTC"), true);
  Time tick = At(2025, 6, 1, 2, 30, 0);
  plan.Start(tick - seconds(10));
  ASSERT_TRUE(plan.Take(plan.Due().value()));  // the catch-up of yesterday
  plan.Done();
  ASSERT_TRUE(plan.Take(tick));
  plan.Failed(tick);
  std::optional<PeriodicPlan::Attempt> a =
      plan.Take(tick + std::chrono::minutes(6));
  ASSERT_TRUE(a);
  EXPECT_EQ(Utc(a->tick), "2025-06-01 02:30:00");
  EXPECT_TRUE(a->superseded);
  EXPECT_FALSE(a->catch_up);
  plan.Done();
  EXPECT_EQ(Utc(*plan.next()), "2025-06-02 02:30:00");
  EXPECT_EQ(plan.skipped(), 0);
}

TEST(PeriodicPlanTest, TicksDueDuringAShortOutageFollowInOrder) {
  PeriodicPlan plan(Cron("* * * * * *"), Zone("UTC"), false);
  plan.Start(At(2025, 6, 1, 10, 0, 0, 500));
  Time first = At(2025, 6, 1, 10, 0, 1);
  ASSERT_TRUE(plan.Take(first));
  plan.Failed(first);
  // Back after 3.7 s (or the loop stalled that long): every tick, in order.
  Time now = first + milliseconds(3700);
  std::vector<std::string> ticks;
  while (auto a = plan.Take(now)) {
    EXPECT_FALSE(a->superseded);
    ticks.push_back(Utc(a->tick));
    plan.Done();
  }
  EXPECT_EQ(ticks, (std::vector<std::string>{
                       "2025-06-01 10:00:01", "2025-06-01 10:00:02",
                       "2025-06-01 10:00:03", "2025-06-01 10:00:04"}));
  EXPECT_EQ(Utc(*plan.next()), "2025-06-01 10:00:05");
}

TEST(PeriodicPlanTest, ALongOutageCostsOneLateRunUnderRunOnce) {
  PeriodicPlan plan(Cron("* * * * * *"), Zone("UTC"), true);
  Time start = At(2025, 6, 1, 10, 0, 0, 500);
  plan.Start(start);
  std::optional<PeriodicPlan::Attempt> a = plan.Take(start);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->catch_up);
  plan.Failed(start);  // Redis down at start, for a minute
  a = plan.Take(start + seconds(60));
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->superseded);
  EXPECT_FALSE(a->catch_up) << "it came due while this daemon ran";
  EXPECT_EQ(Utc(a->tick), "2025-06-01 10:01:00");
  plan.Done();
  EXPECT_EQ(Utc(*plan.next()), "2025-06-01 10:01:01");
}

TEST(PeriodicPlanTest, ALongOutageSkipsEveryTickDueUnderSkip) {
  PeriodicPlan plan(Cron("* * * * * *"), Zone("UTC"), false);
  Time start = At(2025, 6, 1, 10, 0, 0, 500);
  plan.Start(start);
  ASSERT_TRUE(plan.Take(start + milliseconds(500)));
  plan.Failed(start + milliseconds(500));
  Time now = start + seconds(60);
  EXPECT_FALSE(plan.Take(now));
  EXPECT_EQ(plan.skipped(), 1);
  EXPECT_EQ(Utc(*plan.next()), "2025-06-01 10:01:01");
}

TEST(PeriodicPlanTest, FollowsTheWallClockAcrossASpringForward) {
  // 30 March 2025 in Paris: 02:00-02:59 does not exist; the daily 02:30
  // runs at 03:00 CEST (01:00 UTC) that day.
  PeriodicPlan plan(Cron("30 2 * * *"), Zone("Europe/Paris"), false);
  plan.Start(At(2025, 3, 28, 12, 0, 0));
  EXPECT_EQ(
      RunTicks(&plan, 4),
      (std::vector<std::string>{"2025-03-29 01:30:00", "2025-03-30 01:00:00",
                                "2025-03-31 00:30:00", "2025-04-01 00:30:00"}));
}

TEST(PeriodicPlanTest, AnExpressionWithNoTickIsNeverDue) {
  PeriodicPlan plan(Cron("0 0 30 2 *"), Zone("UTC"), true);
  plan.Start(At(2025, 6, 1, 0, 0, 0));
  EXPECT_FALSE(plan.Due());
  EXPECT_FALSE(plan.Take(At(2030, 1, 1, 0, 0, 0)));
}

}  // namespace
}  // namespace qd
