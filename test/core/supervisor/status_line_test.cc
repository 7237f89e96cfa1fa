#include "core/supervisor/status_line.h"

#include <gtest/gtest.h>

namespace qd {
namespace {

// A daemon of `threads` slots with `ready` of them ready (and one more
// process starting when fewer), `handled` + `failed` jobs done.
MonitorSnapshot Daemon(int threads, int ready, int64_t handled,
                       int64_t failed) {
  MonitorSnapshot s;
  s.threads = threads;
  for (int i = 0; i < threads; ++i) {
    WorkerSnapshot w;
    w.slot = i;
    w.pid = 1000 + i;
    w.state = i < ready ? "ready" : "starting";
    s.workers.push_back(w);
  }
  s.counters["jobs.handled"] = handled;
  s.counters["jobs.failed"] = failed;
  s.redis_ok = true;
  return s;
}

TEST(StatusLineTest, SaysWorkersJobsAndRate) {
  EXPECT_EQ(StatusLine(Daemon(4, 4, 1234, 0), 56.04),
            "4 workers, 1234 jobs done, 56.0 jobs/s");
}

TEST(StatusLineTest, CountsFailedJobsAsDoneAndSaysHowMany) {
  EXPECT_EQ(StatusLine(Daemon(2, 2, 10, 3), 0),
            "2 workers, 13 jobs done (3 failed), 0.0 jobs/s");
}

TEST(StatusLineTest, SaysHowManyAreReadyWhenNotAll) {
  EXPECT_EQ(StatusLine(Daemon(4, 1, 0, 0), 0),
            "1 of 4 workers ready, 0 jobs done, 0.0 jobs/s");
}

TEST(StatusLineTest, NamesTheRedisErrorWhileRedisIsDown) {
  MonitorSnapshot s = Daemon(2, 2, 5, 0);
  s.redis_ok = false;
  s.redis_error = "Connection refused";
  EXPECT_EQ(StatusLine(s, 1.5),
            "2 workers, 5 jobs done, 1.5 jobs/s; Redis: Connection refused");
}

TEST(StatusLineTest, OneWorkerIsSingular) {
  EXPECT_EQ(StatusLine(Daemon(1, 1, 1, 0), 0),
            "1 worker, 1 jobs done, 0.0 jobs/s");
}

TEST(StatusLineTest, SaysStoppingWhileDraining) {
  MonitorSnapshot s = Daemon(3, 3, 7, 0);
  s.shutting_down = true;
  EXPECT_EQ(StatusLine(s, 9), "stopping: draining 3 workers, 7 jobs done");
}

}  // namespace
}  // namespace qd
