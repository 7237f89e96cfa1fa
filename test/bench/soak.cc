// soak: queuedaemon under steady load for minutes while its workers are
// killed and rolled over, to show that memory stays flat and that no job is
// lost. Not run by CTest or CI.
//
//   build/bin/soak [--minutes M | --seconds S] [--rate R] [--threads T]
//                  [--calm]
//   (defaults: 10 minutes, 2000 jobs/s, 2 workers; test/bench/soak builds
//   it if needed and runs it)
//
// One private redis-server (no persistence) and one queuedaemon whose queue
// qd:{default}:q:soak is run by the testkit plugin, which appends every job
// it runs to a record file.
//  - A producer thread enqueues R jobs/s on one connection, a pipelined batch
//    every 1 ms; the payloads count up from 0, so the record tells every job
//    apart.
//  - Every 15 s one random worker gets SIGKILL (the master respawns the slot
//    and the new worker replays what the dead one held).
//  - Every 60 s, the first at 40 s so that a one-minute run has one, the
//    workers are recycled with `queuectl restart` on the control channel:
//    each slot drains and is replaced in turn, as after a memory recycle.
//    Why not the memory limits: testkit allocates nothing per job,
//    QD_TEST_ALLOC grows only a slot's first incarnation (one recycle per
//    run), and a soft limit under the working RSS recycles a loaded worker
//    within seconds (or parks the slot when it is under the start-up RSS),
//    not on a period.
//  - Every 10 s one line: elapsed, enqueued, completed (distinct payloads in
//    the record), duplicates, XLEN (done jobs too, until their trim about a
//    second later) and XPENDING of the queue, completions/s
//    over the last 10 s, VmRSS of the master and of each worker, kills and
//    recycles (workers replaced by a roll-over) so far. Events go to stderr.
//  - --calm: no kills and no roll-overs, so the same workers run the whole
//    load and their RSS lines show whether memory grows with jobs run
//    (e.g. --calm --rate 10000 --minutes 2: 1.2 million jobs).
// Then the producer stops and the run waits (at most 120 s) until every job
// enqueued was recorded and nothing is left in the stream, and prints a table
// and one JSON line ("SOAK {...}"). Exit 0 only when lost (enqueued minus
// distinct completed) is 0; 1 otherwise; 2 on bad arguments; 130 when
// SIGINT/SIGTERM ended the run early (no drain wait then). Every loop is
// bounded in time; everything started is stopped by pid (harness
// destructors).
#include <hiredis/hiredis.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_redis.h"
#include "daemon_harness.h"
#include "soak_parts.h"

namespace {
using qd::test::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string>;

constexpr auto kReportEvery = seconds(10);
constexpr auto kKillEvery = seconds(15);
constexpr auto kRecycleEvery = seconds(60);
constexpr auto kFirstRecycle = seconds(40);
constexpr auto kRssEvery = seconds(1);
constexpr auto kLoopTick = milliseconds(100);
constexpr auto kDrainLimit = seconds(120);
constexpr auto kStartLimit = milliseconds(20000);
constexpr int kExitInterrupted = 130;

const std::string kGroup = "workers";

std::atomic<int> g_signals{0};
void OnSignal(int) { g_signals.fetch_add(1); }

double Secs(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
double MiB(long kib) { return kib / 1024.0; }

struct Options {
  long seconds = 600;
  long rate = 2000;
  int threads = 2;
  bool calm = false;  // no kills, no roll-overs: the workers' RSS over a run
};

// False on anything but the documented options with positive values.
bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name == "--calm") {
      o->calm = true;
      continue;
    }
    if (++i >= argc) return false;
    char* end = nullptr;
    long v = std::strtol(argv[i], &end, 10);
    if (*end != '\0' || v <= 0) return false;
    if (name == "--minutes") {
      o->seconds = v * 60;
    } else if (name == "--seconds") {
      o->seconds = v;
    } else if (name == "--rate") {
      o->rate = v;
    } else if (name == "--threads") {
      o->threads = static_cast<int>(v);
    } else {
      return false;
    }
  }
  return true;
}

using Conn = qd::bench::BenchRedis;
using qd::bench::soak::kQueueKey;
using qd::bench::soak::Producer;
using qd::bench::soak::Recycler;
using qd::test::RecordTail;

std::string DaemonConfig(const Options& o, const std::string& redis_url) {
  return "daemon:\n  threads: " + std::to_string(o.threads) +
         "\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
         "  kill_grace: 500ms\n"
         "redis: " +
         redis_url + "\nplugins: { dir: " + std::string(QD_BINARY_DIR) +
         "/../test-plugins, load: [testkit] }\n"
         "sites:\n  default:\n    queues:\n"
         "      soak: { handler: testkit, record: RUN_DIR/record.txt }\n";
}

// XPENDING's count of entries fetched and not acked; -1 on error.
long long Pending(int port) {
  auto r = qd::test::RedisStrings(port, {"XPENDING", kQueueKey, kGroup});
  return r.empty() ? -1 : std::atoll(r[0].c_str());
}

// One soak run: the servers, the load, the faults and the accounting.
class Soak {
 public:
  explicit Soak(const Options& o)
      : o_(o),
        daemon_(DaemonConfig(o, redis_.url()),
                {"--threads=" + std::to_string(o.threads)}),
        tail_(daemon_.dir().File("record.txt")),
        producer_(redis_.port(), o.rate),
        recycler_(redis_.url()) {}

  // Waits for every worker and for the control subscription.
  bool Ready() {
    bool ok = daemon_.WaitForWorkers(o_.threads, kStartLimit) &&
              qd::test::WaitFor(
                  [&] {
                    auto r = qd::test::RedisStrings(
                        redis_.port(), {"PUBSUB", "NUMSUB", "qd:control"});
                    return r.size() == 2 && r[1] == "1";
                  },
                  kStartLimit);
    if (!ok)
      std::fprintf(stderr, "soak: daemon not ready:\n%s\n", Log().c_str());
    return ok;
  }

  // The load with its faults until the duration passed or a signal came.
  void Load() {
    master_first_kib_ = qd::test::RssKiB(daemon_.pid());
    t0_ = Clock::now();
    last_report_at_ = t0_;
    auto end = t0_ + seconds(o_.seconds);
    producer_.Start(t0_, end);
    std::printf("%7s %9s %9s %5s %6s %6s %8s %8s %5s %8s  %s\n", "time",
                "enqueued", "completed", "dup", "xlen", "xpend", "jobs/s",
                "master", "kills", "recycles", "workers (slot:MiB)");
    auto report = t0_ + kReportEvery, kill = t0_ + kKillEvery;
    auto recycle = t0_ + kFirstRecycle, rss = t0_;
    while (Clock::now() < end && g_signals == 0 && !producer_.failed()) {
      std::this_thread::sleep_for(kLoopTick);
      auto now = Clock::now();
      recycler_.Poll();
      if (now >= rss) {
        SampleWorkers();
        rss += kRssEvery;
      }
      if (now >= kill && now < end && !o_.calm) {
        KillOne();
        kill += kKillEvery;
      }
      if (now >= recycle && now < end && !o_.calm) {
        Recycle();
        recycle += kRecycleEvery;
      }
      if (now >= report) {
        Report("");
        report += kReportEvery;
      }
    }
    producer_.Stop();
    load_s_ = Secs(Clock::now() - t0_);
  }

  // Waits until every job enqueued was recorded and the stream is empty.
  void Drain() {
    auto start = Clock::now(), report = start + kReportEvery;
    auto done = [&] {
      tail_.Update();
      return tail_.distinct() >= producer_.enqueued() &&
             qd::test::RedisInt(redis_.port(), {"XLEN", kQueueKey}) == 0;
    };
    while (!done() && g_signals == 0 && Clock::now() - start < kDrainLimit) {
      std::this_thread::sleep_for(milliseconds(50));
      if (Clock::now() >= report) {
        Report(" drain");
        report += kReportEvery;
      }
    }
    drain_s_ = Secs(Clock::now() - start);
    recycler_.Wait();
  }

  // Prints the table and the SOAK line; returns the exit code.
  int Summary() {
    if (Clock::now() - last_report_at_ >= seconds(1)) Report(" end");
    auto record = qd::test::ReadRecord(daemon_.dir().File("record.txt"));
    long enqueued = producer_.enqueued(), completed = 0, duplicates = 0;
    for (long i = 0; i < enqueued; ++i) {
      auto it = record.find(std::to_string(i));
      if (it == record.end()) continue;
      ++completed;
      duplicates += it->second - 1;
    }
    long lost = enqueued - completed;
    long long dead =
        qd::test::RedisInt(redis_.port(), {"XLEN", "qd:{default}:dead:soak"});
    long master_last = qd::test::RssKiB(daemon_.pid());
    double throughput = load_s_ > 0 ? completed / (load_s_ + drain_s_) : 0;
    bool interrupted = g_signals != 0;
    PrintTable(enqueued, completed, lost, duplicates, dead, throughput,
               master_last);
    std::printf(
        "SOAK {\"seconds\":%ld,\"rate\":%ld,\"threads\":%d,\"enqueued\":%ld,"
        "\"completed\":%ld,\"lost\":%ld,\"duplicates\":%ld,\"dead\":%lld,"
        "\"kills\":%d,\"recycles\":%zu,\"restarts\":%d,"
        "\"restarts_failed\":%d,\"enqueue_errors\":%ld,\"load_s\":%.1f,"
        "\"drain_s\":%.2f,\"throughput\":%.1f,\"master_rss_first_kib\":%ld,"
        "\"master_rss_last_kib\":%ld,\"worker_rss_max_kib\":%ld,"
        "\"interrupted\":%s}\n",
        o_.seconds, o_.rate, o_.threads, enqueued, completed, lost, duplicates,
        dead, kills_, Recycles(), recycler_.ok(), recycler_.failed(),
        producer_.errors(), load_s_, drain_s_, throughput, master_first_kib_,
        master_last, worker_max_kib_, interrupted ? "true" : "false");
    if (lost != 0) {
      std::fprintf(stderr, "soak: %ld jobs lost; daemon log tail:\n%s\n", lost,
                   daemon_.LogTail(40).c_str());
    }
    if (interrupted) return kExitInterrupted;
    return lost == 0 && producer_.errors() == 0 ? 0 : 1;
  }

 private:
  void SampleWorkers() {
    for (const auto& [slot, pid] : daemon_.Workers()) {
      worker_max_kib_ = std::max(worker_max_kib_, qd::test::RssKiB(pid));
    }
  }

  void KillOne() {
    auto killed = daemon_.KillWorker(rng_());
    if (!killed) return;
    ++kills_;
    std::fprintf(stderr, "soak: %5.1fs kill -9 worker slot %d pid %d\n",
                 Secs(Clock::now() - t0_), killed->first, killed->second);
  }

  void Recycle() {
    bool started = recycler_.Start();
    std::fprintf(stderr, "soak: %5.1fs queuectl restart%s\n",
                 Secs(Clock::now() - t0_),
                 started ? "" : ": skipped, the previous one still runs");
  }

  // Workers replaced after draining (a roll-over) or a memory recycle.
  size_t Recycles() const {
    return daemon_.LogCount("drained: replacing it") +
           daemon_.LogCount("recycled after");
  }

  void Report(const char* phase) {
    auto now = Clock::now();
    tail_.Update();
    double rate = (tail_.distinct() - last_completed_) /
                  std::max(1e-3, Secs(now - last_report_at_));
    last_completed_ = tail_.distinct();
    last_report_at_ = now;
    std::string workers;
    for (const auto& [slot, pid] : daemon_.Workers()) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " %d:%.1f", slot,
                    MiB(qd::test::RssKiB(pid)));
      workers += buf;
    }
    std::printf(
        "%6.0fs %9ld %9ld %5ld %6lld %6lld %8.0f %7.1fM %5d %8zu %s%s\n",
        Secs(now - t0_), producer_.enqueued(), tail_.distinct(),
        tail_.duplicates(),
        qd::test::RedisInt(redis_.port(), {"XLEN", kQueueKey}),
        Pending(redis_.port()), rate, MiB(qd::test::RssKiB(daemon_.pid())),
        kills_, Recycles(), workers.c_str(), phase);
    std::fflush(stdout);
  }

  void PrintTable(long enqueued, long completed, long lost, long duplicates,
                  long long dead, double throughput, long master_last) const {
    auto row = [](const char* figure, const std::string& value) {
      std::printf("%-36s %s\n", figure, value.c_str());
    };
    auto fmt = [](const char* f, auto... v) {
      char buf[96];
      std::snprintf(buf, sizeof buf, f, v...);
      return std::string(buf);
    };
    std::printf("\nsoak: %ld s at %ld jobs/s, %d workers\n", o_.seconds,
                o_.rate, o_.threads);
    row("enqueued", fmt("%ld (%ld XADD errors)", enqueued, producer_.errors()));
    row("completed (distinct payloads)", fmt("%ld", completed));
    row("lost", fmt("%ld", lost));
    row("duplicates (extra runs)", fmt("%ld", duplicates));
    row("dead-lettered", fmt("%lld", dead));
    row("kills (SIGKILL)", fmt("%d", kills_));
    row("recycles (workers rolled over)",
        fmt("%zu (queuectl restart: %d ok, %d failed)", Recycles(),
            recycler_.ok(), recycler_.failed()));
    row("load / drain time", fmt("%.1f s / %.2f s", load_s_, drain_s_));
    row("throughput (completed / total time)", fmt("%.1f jobs/s", throughput));
    row("master RSS first / last",
        fmt("%.1f / %.1f MiB", MiB(master_first_kib_), MiB(master_last)));
    row("worker RSS max (1 s samples)", fmt("%.1f MiB", MiB(worker_max_kib_)));
  }

  std::string Log() const { return daemon_.Log(); }

  Options o_;
  qd::test::RedisServer redis_;
  qd::test::Daemon daemon_;
  RecordTail tail_;
  Producer producer_;
  Recycler recycler_;
  std::mt19937 rng_{std::random_device{}()};
  Clock::time_point t0_;
  Clock::time_point last_report_at_;
  long last_completed_ = 0;
  int kills_ = 0;
  long master_first_kib_ = 0;
  long worker_max_kib_ = 0;
  double load_s_ = 0;
  double drain_s_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: %s [--minutes M | --seconds S] [--rate R] "
                 "[--threads T] [--calm]\n",
                 argv[0]);
    return 2;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  Soak soak(o);
  if (!soak.Ready()) return 1;
  std::fprintf(stderr, "soak: %ld s at %ld jobs/s, %d workers\n", o.seconds,
               o.rate, o.threads);
  soak.Load();
  if (g_signals == 0) soak.Drain();
  return soak.Summary();
}
