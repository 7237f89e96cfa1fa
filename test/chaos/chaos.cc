// chaos: queuedaemon under load while everything around it fails, to show
// that no job is lost and that the daemon needs no babysitting afterwards.
// CTest runs it (test "chaos", so CI does); about a minute.
//
//   build/bin/chaos [--jobs N] [--rate R]   (defaults: 100000 jobs, 4000/s)
//
// One private redis-server with the append-only file fsynced on every write
// and one queuedaemon with 3 workers. Sites a and b are in the config it
// starts with; site c comes with the first reload. Each site has a queue
// "chaos" run by the testkit plugin, which appends every job it runs to one
// record file; site a also has a queue "poison" (max_attempts 3).
//  - A producer thread enqueues the payloads 0 .. N-1 round-robin over the
//    three sites, R a second in pipelined batches every 1 ms. A job counts
//    as enqueued once Redis answered its XADD; whatever was not answered
//    (Redis down, connection broken) is sent again after reconnecting, so a
//    job can be in a stream twice (a duplicate), never zero times.
//  - Every 200 ms, until the load ends, a random worker gets SIGKILL.
//  - At 1 s one job "segv" goes to a:poison: it segfaults its worker every
//    time it runs, so it must be dead-lettered after 3 deaths.
//  - At 3 s the config gains site c and the master gets SIGHUP (a valid
//    reload: the workers roll over); at 11 s the file is broken and the
//    master gets SIGHUP again (it must keep running the current config).
//  - At 6 s Redis is killed (SIGKILL) and started again 2 s later on the
//    same port and data.
// Then the run waits (at most 120 s) until every payload was recorded, the
// streams are empty and the poison job is in a's dead letters, and checks:
// lost (payloads never recorded) is 0, the poison job is dead-lettered,
// every worker slot is alive, the master has no zombie children, and the
// master's RSS is within 10% of where it started. It prints a table with
// the duplicates (extra runs) and one line "CHAOS {...}". With
// QD_BENCH_BASELINE=PATH it runs that queuedaemon instead of this build's.
// Exit 0 only when every check passed, 1 otherwise, 2 on bad arguments.
// Every loop is bounded in time; everything started is stopped by pid.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chaos_parts.h"
#include "daemon_harness.h"
#include "record_tail.h"

namespace {
using qd::chaos::Clock;
using qd::chaos::kSites;
using qd::chaos::Producer;
using qd::chaos::Secs;
using qd::test::milliseconds;
using qd::test::Zombies;
using std::chrono::seconds;

constexpr int kThreads = 3;
constexpr int kPoisonAttempts = 3;
constexpr auto kKillEvery = milliseconds(200);
constexpr auto kPoisonAt = seconds(1);
constexpr auto kReloadAt = seconds(3);
constexpr auto kRedisDownAt = seconds(6);
constexpr auto kRedisDownFor = seconds(2);
constexpr auto kBrokenReloadAt = seconds(11);
constexpr auto kLoadLimit = seconds(120);
constexpr auto kDrainLimit = seconds(120);
constexpr auto kStartLimit = milliseconds(20000);
constexpr auto kTick = milliseconds(10);
constexpr double kRssSlack = 1.10;

struct Options {
  long jobs = 100000;
  long rate = 4000;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return false;
    char* end = nullptr;
    long v = std::strtol(argv[i + 1], &end, 10);
    if (*end != '\0' || v <= 0) return false;
    std::string name = argv[i];
    if (name == "--jobs") {
      o->jobs = v;
    } else if (name == "--rate") {
      o->rate = v;
    } else {
      return false;
    }
  }
  return true;
}

std::string SiteYaml(const std::string& site) {
  std::string yaml = "  " + site +
                     ":\n    queues:\n"
                     "      chaos: { handler: testkit, record: "
                     "RUN_DIR/record.txt, max_attempts: 20 }\n";
  if (site == "a") {
    yaml +=
        "      poison: { handler: testkit, record: RUN_DIR/record.txt, "
        "max_attempts: " +
        std::to_string(kPoisonAttempts) + " }\n";
  }
  return yaml;
}

// The config with sites a and b, or (after the reload) a, b and c.
std::string Config(const std::string& redis_url, bool with_c) {
  std::string yaml =
      "daemon:\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
      "  kill_grace: 500ms\n"
      "redis: " +
      redis_url + "\nplugins: { dir: " + std::string(QD_BINARY_DIR) +
      "/../test-plugins, load: [testkit] }\nsites:\n" + SiteYaml("a") +
      SiteYaml("b");
  if (with_c) yaml += SiteYaml("c");
  return yaml;
}

// What the run saw, for the table, the JSON line and the verdict.
struct Outcome {
  long enqueued = 0, completed = 0, lost = 0, duplicates = 0;
  long long poison_dead = 0, chaos_dead = 0, left_in_streams = 0;
  bool poison_ok = false, slots_ok = false, reloaded = false, kept = false;
  size_t zombies = 0;
  long rss_first_kib = 0, rss_last_kib = 0;
  bool Passed() const {
    return lost == 0 && poison_ok && chaos_dead == 0 && slots_ok &&
           zombies == 0 && reloaded && kept &&
           rss_last_kib <= rss_first_kib * kRssSlack;
  }
};

// QD_BENCH_BASELINE: another build's queuedaemon to run instead (the one
// before a change, for its figures next to this build's).
std::string Baseline() {
  const char* path = std::getenv("QD_BENCH_BASELINE");
  return path != nullptr ? path : "";
}

class Chaos {
 public:
  explicit Chaos(const Options& o)
      : o_(o),
        redis_(/*aof=*/true),
        daemon_(Config(redis_.url(), false),
                {"--threads=" + std::to_string(kThreads)}, {}, 0, Baseline()),
        tail_(daemon_.dir().File("record.txt")),
        producer_(redis_.port(), o.jobs, o.rate) {}

  bool Ready() {
    bool ok = daemon_.WaitForWorkers(kThreads, kStartLimit);
    if (!ok)
      std::fprintf(stderr, "chaos: daemon not ready:\n%s\n",
                   daemon_.Log().c_str());
    return ok;
  }

  // The load and every fault, until the load is in and every fault done.
  void Load() {
    out_.rss_first_kib = qd::test::RssKiB(daemon_.pid());
    t0_ = Clock::now();
    producer_.Start(t0_, t0_ + kLoadLimit);
    auto kill = t0_ + kKillEvery;
    bool poisoned = false, reloaded = false, down = false, up = false,
         broken = false;
    while (Clock::now() - t0_ < kLoadLimit) {
      std::this_thread::sleep_for(kTick);
      auto t = Clock::now() - t0_;
      if (Clock::now() >= kill) {
        KillOne();
        kill += kKillEvery;
      }
      if (!poisoned && t >= kPoisonAt) poisoned = Poison();
      if (!reloaded && t >= kReloadAt) reloaded = Reload(true);
      if (!down && t >= kRedisDownAt) down = StopRedis();
      if (down && !up && t >= kRedisDownAt + kRedisDownFor) up = StartRedis();
      if (!broken && t >= kBrokenReloadAt) broken = Reload(false);
      if (producer_.done() && broken && up) break;
    }
    producer_.Stop();
    load_s_ = Secs(Clock::now() - t0_);
    Event("load over: %ld of %ld enqueued, %d kills", producer_.acked(),
          o_.jobs, kills_);
  }

  // Waits until every payload ran, the streams are empty and the poison job
  // is dead.
  void Drain() {
    auto start = Clock::now();
    auto done = [&] {
      tail_.Update();
      return tail_.distinct() >= o_.jobs && LeftInStreams() == 0 &&
             PoisonDead() >= 1;
    };
    while (!done() && Clock::now() - start < kDrainLimit) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    drain_s_ = Secs(Clock::now() - start);
  }

  int Summary() {
    // The file was left broken: put the valid one back for whatever follows.
    daemon_.WriteConfig(Config(redis_.url(), true));
    Outcome& r = out_;
    tail_.Update();
    r.enqueued = producer_.acked();
    r.completed = tail_.distinct();
    r.lost = o_.jobs - r.completed;
    r.duplicates = tail_.duplicates();
    r.poison_dead = PoisonDead();
    // At most kPoisonAttempts runs: a worker killed from outside while it
    // held the job unrun also counts as a death.
    int runs = PoisonRuns();
    r.poison_ok = r.poison_dead == 1 && runs >= 1 && runs <= kPoisonAttempts;
    for (const char* site : kSites) {
      r.chaos_dead += qd::test::RedisInt(
          redis_.port(), {"XLEN", std::string("qd:{") + site + "}:dead:chaos"});
    }
    r.left_in_streams = LeftInStreams();
    r.slots_ok = daemon_.WaitForWorkers(kThreads, milliseconds(10000));
    qd::test::WaitFor([&] { return Zombies(daemon_.pid()).empty(); },
                      milliseconds(3000));
    r.zombies = Zombies(daemon_.pid()).size();
    r.reloaded = daemon_.LogCount("SIGHUP: config") >= 1;
    r.kept = daemon_.LogCount("SIGHUP: keeping the current config") >= 1;
    r.rss_last_kib = qd::test::RssKiB(daemon_.pid());
    PrintTable(r);
    PrintJson(r);
    if (!r.Passed()) {
      std::fprintf(stderr, "chaos: FAILED; daemon log tail:\n%s\n",
                   daemon_.LogTail(60).c_str());
    }
    return r.Passed() ? 0 : 1;
  }

 private:
  template <typename... A>
  void Event(const char* format, A... args) {
    std::fprintf(stderr, "chaos: %5.2fs ", Secs(Clock::now() - t0_));
    std::fprintf(stderr, format, args...);
    std::fputc('\n', stderr);
  }

  void KillOne() {
    if (daemon_.KillWorker(rng_())) ++kills_;
  }

  bool Poison() {
    bool ok = qd::test::RedisPipeline(
                  redis_.port(),
                  {{"XADD", "qd:{a}:q:poison", "*", "payload", "segv"}}) == 1;
    if (ok) Event("poison job enqueued");
    return ok;
  }

  // Rewrites the config (with site c, or a broken file) and sends SIGHUP.
  bool Reload(bool valid) {
    daemon_.WriteConfig(valid ? Config(redis_.url(), true)
                              : "sites: [ this is not yaml\n");
    daemon_.Signal(SIGHUP);
    Event(valid ? "SIGHUP with site c added" : "SIGHUP with a broken file");
    return true;
  }

  bool StopRedis() {
    redis_.Kill();
    Event("redis killed");
    return true;
  }

  bool StartRedis() {
    bool ok = redis_.Start();
    Event(ok ? "redis started again" : "redis did not start: retrying");
    return ok;
  }

  long long LeftInStreams() const {
    long long n = 0;
    for (const char* site : kSites) {
      long long len = qd::test::RedisInt(
          redis_.port(), {"XLEN", std::string("qd:{") + site + "}:q:chaos"});
      n += len < 0 ? 1 : len;  // an error counts as "not empty yet"
    }
    return n;
  }
  long long PoisonDead() const {
    return qd::test::RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:poison"});
  }
  // Runs of the poison job: the testkit record has "segv ATTEMPT ..." lines.
  int PoisonRuns() const {
    return static_cast<int>(
        qd::test::ReadRecord(daemon_.dir().File("record.txt"))["segv"]);
  }

  void PrintTable(const Outcome& r) const {
    auto row = [](const char* figure, const std::string& value) {
      std::printf("%-40s %s\n", figure, value.c_str());
    };
    auto num = [](auto v) { return std::to_string(v); };
    std::printf("\nchaos: %ld jobs over 3 sites at %ld/s, %d workers\n",
                o_.jobs, o_.rate, kThreads);
    row("enqueued (XADD answered)", num(r.enqueued));
    row("XADDs sent again (Redis down or loading)", num(producer_.resent()));
    row("completed (distinct payloads)", num(r.completed));
    row("lost", num(r.lost));
    row("duplicates (extra runs)", num(r.duplicates));
    row("left in the streams", num(r.left_in_streams));
    row("dead-lettered chaos jobs", num(r.chaos_dead));
    row("poison: runs / dead-lettered",
        num(PoisonRuns()) + " / " + num(r.poison_dead) +
            (r.poison_ok ? " (ok)" : " (WRONG)"));
    row("workers killed (SIGKILL every 200 ms)", num(kills_));
    row("reload with site c / broken file kept",
        std::string(r.reloaded ? "yes" : "NO") + " / " +
            (r.kept ? "yes" : "NO"));
    row("every slot alive at the end", r.slots_ok ? "yes" : "NO");
    row("zombie children of the master", num(r.zombies));
    char rss[64];
    std::snprintf(rss, sizeof rss, "%.1f / %.1f MiB (%+.1f%%)",
                  r.rss_first_kib / 1024.0, r.rss_last_kib / 1024.0,
                  100.0 * (r.rss_last_kib - r.rss_first_kib) /
                      std::max(1L, r.rss_first_kib));
    row("master RSS first / last", rss);
    char t[64];
    std::snprintf(t, sizeof t, "%.1f s / %.1f s", load_s_, drain_s_);
    row("load / drain time", t);
    row("verdict", r.Passed() ? "PASSED" : "FAILED");
  }

  void PrintJson(const Outcome& r) const {
    std::printf(
        "CHAOS {\"jobs\":%ld,\"enqueued\":%ld,\"completed\":%ld,\"lost\":%ld,"
        "\"duplicates\":%ld,\"kills\":%d,\"poison_dead\":%lld,"
        "\"chaos_dead\":%lld,\"slots_alive\":%s,\"zombies\":%zu,"
        "\"master_rss_first_kib\":%ld,\"master_rss_last_kib\":%ld,"
        "\"load_s\":%.1f,\"drain_s\":%.1f,\"passed\":%s}\n",
        o_.jobs, r.enqueued, r.completed, r.lost, r.duplicates, kills_,
        r.poison_dead, r.chaos_dead, r.slots_ok ? "true" : "false", r.zombies,
        r.rss_first_kib, r.rss_last_kib, load_s_, drain_s_,
        r.Passed() ? "true" : "false");
    std::fflush(stdout);
  }

  Options o_;
  qd::test::RedisServer redis_;
  qd::test::Daemon daemon_;
  qd::test::RecordTail tail_;
  Producer producer_;
  Outcome out_;
  std::mt19937 rng_{std::random_device{}()};
  Clock::time_point t0_;
  int kills_ = 0;
  double load_s_ = 0;
  double drain_s_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr, "usage: %s [--jobs N] [--rate R]\n", argv[0]);
    return 2;
  }
  Chaos chaos(o);
  if (!chaos.Ready()) return 1;
  chaos.Load();
  chaos.Drain();
  return chaos.Summary();
}
