// lifecycle_bench: the supervisor's figures on this machine.
//
//   build/bin/lifecycle_bench [THREADS] [KILLS]
//
// Starts the real queuedaemon (--threads=THREADS, default the CPU count)
// against a private redis-server, and measures: time from exec to every
// worker running, idle RSS of the master and of each worker, and the time
// from a worker's kill -9 to its replacement running (KILLS times, each on a
// fresh slot so that every kill meets the first backoff step). Prints a
// table and one JSON line ("BENCH {...}").
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.h"

namespace {
using qd::test::milliseconds;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1
                    ? std::atoi(argv[1])
                    : static_cast<int>(std::thread::hardware_concurrency());
  int kills = argc > 2 ? std::atoi(argv[2]) : 8;
  qd::test::RedisServer redis;

  auto t0 = Clock::now();
  qd::test::Daemon d(qd::test::TestConfig(threads, redis.url()));
  if (!d.WaitForWorkers(threads, milliseconds(10000))) {
    std::fprintf(stderr, "workers did not start:\n%s\n", d.Log().c_str());
    return 1;
  }
  double ready_ms = Ms(Clock::now() - t0);

  // Let start-up allocations settle (the first memory check trims the heap).
  std::this_thread::sleep_for(milliseconds(1500));
  long master_kib = qd::test::RssKiB(d.pid());
  long worker_kib = 0;
  for (const auto& [slot, pid] : d.Workers()) {
    worker_kib = std::max(worker_kib, qd::test::RssKiB(pid));
  }

  std::vector<double> respawn;
  for (int i = 0; i < kills; ++i) {
    int slot = i % threads;
    if (i > 0 && slot == 0) {
      // Every slot was killed once: restart the daemon's backoff by waiting
      // is too slow (60 s), so report only first-step respawns.
      break;
    }
    pid_t old = d.Workers()[slot];
    auto killed = Clock::now();
    kill(old, SIGKILL);
    qd::test::WaitFor(
        [&] {
          auto w = d.Workers();
          return w.count(slot) && w[slot] != old;
        },
        milliseconds(5000));
    respawn.push_back(Ms(Clock::now() - killed));
  }
  std::sort(respawn.begin(), respawn.end());
  double respawn_med = respawn.empty() ? 0 : respawn[respawn.size() / 2];
  double respawn_max = respawn.empty() ? 0 : respawn.back();

  std::printf("queuedaemon lifecycle (threads=%d)\n", threads);
  std::printf("%-40s %12s %12s\n", "figure", "value", "goal");
  std::printf("%-40s %9.1f ms %12s\n", "start to all workers running", ready_ms,
              "");
  std::printf("%-40s %8.1f MiB %12s\n", "idle master RSS (no Redis)",
              master_kib / 1024.0, "<= 12 MiB");
  std::printf("%-40s %8.1f MiB %12s\n", "idle worker RSS (largest)",
              worker_kib / 1024.0, "<= 8 MiB");
  std::printf("%-40s %9.1f ms %12s\n", "kill -9 to replacement (median)",
              respawn_med, "< 1000 ms");
  std::printf("%-40s %9.1f ms %12s\n", "kill -9 to replacement (max)",
              respawn_max, "");
  std::printf(
      "BENCH {\"bench\":\"lifecycle\",\"threads\":%d,\"ready_ms\":%.1f,"
      "\"master_rss_kib\":%ld,\"worker_rss_kib\":%ld,"
      "\"respawn_ms_median\":%.1f,\"respawn_ms_max\":%.1f,\"kills\":%zu}\n",
      threads, ready_ms, master_kib, worker_kib, respawn_med, respawn_max,
      respawn.size());
  return 0;
}
