// Concurrency and rate limits (docs/limits.md) with real processes: a
// redis-server and two daemons of two workers each on one site, so that
// every bound is kept across daemons, not just inside one.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

constexpr int kThreads = 2;

// Site `a` with `limits` (YAML flow map) and `queues` (lines at the queue
// indent); daemon id `id`; `top` adds top-level lines.
std::string LimitsConfig(const std::string& redis_url, const std::string& id,
                         const std::string& limits, const std::string& queues,
                         const std::string& top = "") {
  return "daemon:\n  id: " + id + "\n  threads: " + std::to_string(kThreads) +
         "\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
         "  kill_grace: 500ms\nredis: " +
         redis_url + "\nplugins: { dir: " + TestPluginDir() +
         ", load: [testkit] }\n" + top + "sites:\n  a:\n    limits: " + limits +
         "\n    queues:\n" + queues;
}

// A queue of exec jobs that append "start JID NS" and "end JID NS" to
// `file` around a sleep of `sleep` (seconds): each line is one write with
// O_APPEND. Its recorded interval lies inside the job's run, so recorded
// overlaps never exceed real ones.
std::string ExecQueue(const std::string& name, const std::string& limit,
                      const std::string& file, const std::string& sleep) {
  return "      " + name + ":\n        handler: exec\n        limit: " + limit +
         "\n        command: [sh, -c, 'echo start $QD_JID $(date +%s%N) >> " +
         file + "; sleep " + sleep + "; echo end $QD_JID $(date +%s%N) >> " +
         file + "']\n";
}

struct Event {
  long long ns;
  bool start;
  std::string jid;
};

std::vector<Event> ReadEvents(const std::string& path) {
  std::vector<Event> out;
  std::ifstream in(path);
  std::string what, jid;
  long long ns;
  while (in >> what >> jid >> ns) out.push_back({ns, what == "start", jid});
  std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) {
    return a.ns < b.ns || (a.ns == b.ns && !a.start && b.start);
  });
  return out;
}

// The most jobs whose recorded intervals overlap, and how many ended.
std::pair<int, int> MaxOverlap(const std::vector<Event>& events) {
  int running = 0, most = 0, ended = 0;
  for (const auto& e : events) {
    running += e.start ? 1 : -1;
    ended += e.start ? 0 : 1;
    most = std::max(most, running);
  }
  return {most, ended};
}

// Enqueues `n` jobs on site a's `queue`, with extra fields `extra`.
void EnqueueN(int port, const std::string& queue, int n,
              const std::vector<std::string>& extra = {},
              const std::string& payload = "x") {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> cmd = {"XADD", "qd:{a}:q:" + queue, "*", "payload",
                                    payload};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    cmds.push_back(cmd);
  }
  ASSERT_EQ(RedisPipeline(port, cmds), cmds.size());
}

// Enqueues a job on site a's `queue` and waits until a worker has it: one
// at a time, the blocked readers take turns.
void EnqueueDelivered(int port, const std::string& queue,
                      const std::string& payload) {
  EnqueueN(port, queue, 1, {}, payload);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<std::string> groups =
            RedisStrings(port, {"XINFO", "GROUPS", "qd:{a}:q:" + queue});
        auto lag = std::find(groups.begin(), groups.end(), "lag");
        return lag != groups.end() && lag + 1 != groups.end() && lag[1] == "0";
      },
      milliseconds(5000)));
}

// Nothing of the limit `bucket` is left once its jobs ran: no slot held
// (a worker gives back an idle one within 10 ms), no grant or waiter, and
// no bucket in the sweep's index.
void ExpectLimitIdle(int port, const std::string& bucket) {
  std::string base = "qd:{a}:limit:" + bucket;
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(port, {"ZCARD", base + ":run"}) == 0 &&
               RedisInt(port, {"HLEN", base + ":held"}) == 0;
      },
      milliseconds(5000)));
  EXPECT_EQ(RedisInt(port, {"ZCARD", base + ":pend"}), 0);
  EXPECT_EQ(RedisInt(port, {"LLEN", base + ":wait"}), 0);
  EXPECT_EQ(RedisInt(port, {"ZCARD", "qd:{a}:limits"}), 0);
}

class LimitsTest : public ::testing::Test {
 protected:
  // Starts daemons "one" and "two" with `limits` and `queues` for site a,
  // and waits for their workers.
  void StartTwo(const std::string& limits, const std::string& queues) {
    one_ = std::make_unique<Daemon>(
        LimitsConfig(redis_.url(), "one", limits, queues));
    two_ = std::make_unique<Daemon>(
        LimitsConfig(redis_.url(), "two", limits, queues));
    ASSERT_TRUE(one_->WaitForWorkers(kThreads));
    ASSERT_TRUE(two_->WaitForWorkers(kThreads));
  }
  // Both daemons' last log lines, for a failure's message.
  std::string Logs() const { return one_->LogTail(20) + two_->LogTail(20); }

  RedisServer redis_;
  std::unique_ptr<Daemon> one_, two_;
};

TEST_F(LimitsTest, ConcurrencyIsNeverExceededAcrossDaemons) {
  TempDir shared;
  std::string file = shared.File("events.txt");
  std::string queues = ExecQueue("sync", "github", file, "0.2");
  StartTwo("{ github: { concurrency: 2 } }", queues);
  EnqueueN(redis_.port(), "sync", 16);
  ASSERT_TRUE(WaitFor([&] { return MaxOverlap(ReadEvents(file)).second == 16; },
                      milliseconds(30000)))
      << Logs();
  auto [most, ended] = MaxOverlap(ReadEvents(file));
  EXPECT_EQ(most, 2) << "four workers, at most two jobs at once";
  // Every job ran once: none was lost or doubled on its way through the
  // wait list.
  std::map<std::string, int> starts;
  for (const auto& e : ReadEvents(file)) starts[e.jid] += e.start ? 1 : 0;
  EXPECT_EQ(starts.size(), 16u);
  for (const auto& [jid, n] : starts) EXPECT_EQ(n, 1) << jid;
  ExpectLimitIdle(redis_.port(), "github");
  // Acked entries, parked ones too, go with the stream's next trim.
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:sync"}) == 0;
      },
      milliseconds(5000)));
}

TEST_F(LimitsTest, EachLimitKeyHasItsOwnBudget) {
  TempDir shared;
  std::string file = shared.File("events.txt");
  std::string queues = ExecQueue("sync", "github", file, "0.3");
  StartTwo("{ github: { concurrency: 1 } }", queues);
  EnqueueN(redis_.port(), "sync", 4, {"limit_key", "c1", "jid", "c1"});
  EnqueueN(redis_.port(), "sync", 4, {"limit_key", "c2", "jid", "c2"});
  ASSERT_TRUE(WaitFor([&] { return MaxOverlap(ReadEvents(file)).second == 8; },
                      milliseconds(30000)))
      << Logs();
  std::vector<Event> all = ReadEvents(file);
  for (const char* key : {"c1", "c2"}) {
    std::vector<Event> mine;
    for (const auto& e : all) {
      if (e.jid == key) mine.push_back(e);
    }
    EXPECT_EQ(MaxOverlap(mine).first, 1) << key << ": one at a time";
  }
  EXPECT_EQ(MaxOverlap(all).first, 2) << "the two keys ran side by side";
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", "qd:{a}:limit:github:keys"}), 2);
  ExpectLimitIdle(redis_.port(), "github:c1");
  ExpectLimitIdle(redis_.port(), "github:c2");
}

// testkit's record: "PAYLOAD ATTEMPT NOW_MS PID NOW_US" per run.
std::vector<long long> StartsUs(const std::string& path) {
  std::vector<long long> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string payload, attempt, ms, pid;
    long long us;
    if (f >> payload >> attempt >> ms >> pid >> us) out.push_back(us);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(LimitsTest, RateIsNeverExceededInAnyWindow) {
  TempDir shared;
  std::string queues =
      "      mail: { handler: testkit, record: " + shared.File("record.txt") +
      ", limit: mailer }\n";
  StartTwo("{ mailer: { rate: 5/1s } }", queues);
  constexpr int kJobs = 18;
  EnqueueN(redis_.port(), "mail", kJobs);
  ASSERT_TRUE(WaitFor(
      [&] { return StartsUs(shared.File("record.txt")).size() >= kJobs; },
      milliseconds(30000)))
      << Logs();
  std::vector<long long> us = StartsUs(shared.File("record.txt"));
  ASSERT_EQ(us.size(), size_t(kJobs)) << "each job ran once";
  // Any 6 consecutive starts span at least a second: no 1 s window holds 6.
  // The limit counts a start when the worker commits to it; testkit's
  // clock is read a few steps later, which a loaded machine can stretch
  // by some ms (a preempted worker): that much slack is allowed.
  constexpr long long kSlackUs = 25000;
  for (size_t i = 0; i + 5 < us.size(); ++i) {
    EXPECT_GE(us[i + 5] - us[i], 1000000 - kSlackUs)
        << "starts " << i << ".." << i + 5 << " span " << us[i + 5] - us[i]
        << " us; all: " << ::testing::PrintToString(us);
  }
  // And the budget is used: 18 starts at 5/s take about 3 s, not much more.
  EXPECT_LT(us.back() - us.front(), 6000000);
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"LLEN", "qd:{a}:limit:mailer:wait"}) ==
               0;
      },
      milliseconds(5000)));
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", "qd:{a}:limit:mailer:pend"}), 0);
  // Acked entries, parked ones too, go with the stream's next trim.
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:mail"}) == 0;
      },
      milliseconds(5000)));
}

// Jobs over their limit wait in Redis, not in a worker: the other queue's
// jobs run at once, and the waiting costs Redis almost nothing.
TEST_F(LimitsTest, ALimitedQueueDoesNotStallAnother) {
  TempDir shared;
  std::string queues =
      "      slow: { handler: testkit, record: " + shared.File("slow.txt") +
      ", limit: one }\n      free: { handler: testkit, record: " +
      shared.File("free.txt") + " }\n";
  StartTwo("{ one: { concurrency: 1 } }", queues);
  // One at a time, each once the last was delivered: the blocked readers
  // take turns, so the slow jobs spread over the workers, and all but one
  // worker hold a job that must wait (6 s of them one by one).
  for (int i = 0; i < 12; ++i) {
    EnqueueDelivered(redis_.port(), "slow", "sleep:500");
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"LLEN", "qd:{a}:limit:one:wait"}) >= 2;
      },
      milliseconds(5000)));
  RedisCommand("127.0.0.1", redis_.port(), "CONFIG RESETSTAT");
  EnqueueN(redis_.port(), "free", 200, {}, "quick");
  EXPECT_TRUE(WaitFor(
      [&] { return ReadRecord(shared.File("free.txt"))["quick"] == 200; },
      milliseconds(2000)))
      << "the free queue waited for the limited one";
  // Over the next second, the four workers poll for budget no more than
  // the sweep's pace (at most one call a second per worker when nothing is
  // due) plus the releases of the jobs that end.
  auto evals = [&] {
    std::string info =
        RedisCommand("127.0.0.1", redis_.port(), "INFO commandstats");
    size_t at = info.find("cmdstat_eval:calls=");
    return at == std::string::npos ? 0 : std::stoll(info.substr(at + 19));
  };
  RedisCommand("127.0.0.1", redis_.port(), "CONFIG RESETSTAT");
  std::this_thread::sleep_for(milliseconds(1000));  // measures a rate
  EXPECT_LT(evals(), 40) << "waiting jobs make the workers spin on Redis";
  EXPECT_LT(ReadRecord(shared.File("slow.txt"))["sleep:500"], 12)
      << "the slow jobs were still waiting";
}

// testkit's record as (payload, start in us), in the order written.
std::vector<std::pair<std::string, long long>> Runs(const std::string& path) {
  std::vector<std::pair<std::string, long long>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string payload, attempt, ms, pid;
    long long us;
    if (f >> payload >> attempt >> ms >> pid >> us)
      out.emplace_back(payload, us);
  }
  return out;
}

// A worker killed inside a limited job: its replacement replays the job in
// the same slot at once (the slot is the job's, not the worker's), so the
// jobs waiting behind it run after it, long before the lease would end.
TEST_F(LimitsTest, KillNineInsideALimitedJobFreesItsSlot) {
  TempDir shared;
  std::string record = shared.File("record.txt");
  std::string queues = "      sync: { handler: testkit, record: " + record +
                       ", limit: github }\n";
  StartTwo("{ github: { concurrency: 1 } }", queues);
  EnqueueN(redis_.port(), "sync", 1, {}, "sleep:2000");
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(record)["sleep:2000"] == 1; },
                      milliseconds(5000)));
  EnqueueN(redis_.port(), "sync", 5, {}, "quick");
  // The worker running it: the record's PID column.
  std::ifstream in(record);
  std::string payload, attempt, ms;
  pid_t pid = 0;
  in >> payload >> attempt >> ms >> pid;
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Well within the visibility timeout (5 min).
  EXPECT_TRUE(WaitFor(
      [&] {
        auto rec = ReadRecord(record);
        return rec["sleep:2000"] == 2 && rec["quick"] == 5;
      },
      milliseconds(15000)))
      << Logs();
  EXPECT_EQ(ReadRecord(record)["sleep:2000"], 2);
  // No quick job took the slot while the job that held it ran, before or
  // after the kill: each started after the replayed run ended.
  long long replayed = -1;
  for (const auto& [p, us] : Runs(record)) {
    if (p == "sleep:2000") replayed = us;
  }
  for (const auto& [p, us] : Runs(record)) {
    if (p == "quick") {
      EXPECT_GE(us, replayed + 2000000);
    }
  }
  ExpectLimitIdle(redis_.port(), "github");
}

// The host dies with a limited job: its slot is freed by its lease (the
// queue's visibility_timeout), and the other daemon runs the job again.
TEST_F(LimitsTest, ASlotOfADeadHostIsFreedByItsLease) {
  TempDir shared;
  std::string record = shared.File("record.txt");
  std::string queues = "      sync: { handler: testkit, record: " + record +
                       ", limit: github, visibility_timeout: 1s }\n";
  std::string limits = "{ github: { concurrency: 1 } }";
  auto one = std::make_unique<Daemon>(
      LimitsConfig(redis_.url(), "one", limits, queues));
  ASSERT_TRUE(one->WaitForWorkers(kThreads));
  EnqueueN(redis_.port(), "sync", 1, {}, "sleep:3000");
  ASSERT_TRUE(WaitFor([&] { return ReadRecord(record)["sleep:3000"] == 1; },
                      milliseconds(5000)));
  EnqueueN(redis_.port(), "sync", 3, {}, "quick");
  Daemon two(LimitsConfig(redis_.url(), "two", limits, queues));
  ASSERT_TRUE(two.WaitForWorkers(kThreads));
  ASSERT_GT(one->Crash(), 0u);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto rec = ReadRecord(record);
        return rec["sleep:3000"] == 2 && rec["quick"] == 3;
      },
      milliseconds(20000)))
      << two.LogTail(30);
  // One at a time all along: the runs that followed the first one started
  // at least 3 s apart from a sleep:3000 run's start, or after it.
  auto runs = Runs(record);
  long long rerun = -1;
  for (size_t i = 1; i < runs.size(); ++i) {
    if (runs[i].first == "sleep:3000") rerun = runs[i].second;
  }
  for (const auto& [p, us] : runs) {
    if (p == "quick") {
      EXPECT_TRUE(us < rerun || us >= rerun + 3000000);
    }
  }
  ExpectLimitIdle(redis_.port(), "github");
}

TEST_F(LimitsTest, StatsAndMetricsShowWhatEachLimitHolds) {
  TempDir shared;
  int http = FreePort();
  std::string queues =
      "      sync: { handler: testkit, record: " + shared.File("record.txt") +
      ", limit: github }\n";
  Daemon d(LimitsConfig(
      redis_.url(), "one",
      "{ github: { concurrency: 1 }, mailer: { rate: 5/1m } }", queues,
      "monitor: { http: 127.0.0.1:" + std::to_string(http) + " }\n"));
  ASSERT_TRUE(d.WaitForWorkers(kThreads));
  EnqueueDelivered(redis_.port(), "sync", "sleep:3000");
  ASSERT_TRUE(WaitFor(
      [&] { return ReadRecord(shared.File("record.txt"))["sleep:3000"] == 1; },
      milliseconds(5000)));
  // The other worker gets the next ones: they wait in Redis.
  for (int i = 0; i < 3; ++i) EnqueueDelivered(redis_.port(), "sync", "quick");
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"LLEN", "qd:{a}:limit:github:wait"}) >=
               1;
      },
      milliseconds(5000)));
  long long waiting =
      RedisInt(redis_.port(), {"LLEN", "qd:{a}:limit:github:wait"});

  CtlResult json = RunQueuectl(d.dir(), {"-c", "qd.yaml", "stats", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  auto stats = nlohmann::json::parse(json.out);
  auto github = stats["sites"]["a"]["limits"]["github"];
  EXPECT_EQ(github["concurrency"], 1) << json.out;
  EXPECT_EQ(github["running"], 1) << json.out;
  EXPECT_EQ(github["waiting"], waiting) << json.out;
  EXPECT_EQ(stats["sites"]["a"]["limits"]["mailer"]["rate"], 5) << json.out;
  EXPECT_EQ(stats["sites"]["a"]["limits"]["mailer"]["window_ms"], 60000);

  CtlResult table = RunQueuectl(d.dir(), {"-c", "qd.yaml", "stats"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("concurrency 1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("rate 5/1m"), std::string::npos) << table.out;

  std::string body;
  EXPECT_TRUE(WaitFor(
      [&] {
        return HttpGet(http, "/metrics", &body) == 200 &&
               body.find(
                   "queuedaemon_limit_running{site=\"a\",limit="
                   "\"github\"} 1") != std::string::npos &&
               body.find(
                   "queuedaemon_limit_waiting{site=\"a\",limit="
                   "\"github\"} " +
                   std::to_string(waiting)) != std::string::npos;
      },
      milliseconds(5000)))
      << body;
  EXPECT_NE(body.find("queuedaemon_limit_concurrency{site=\"a\",limit="
                      "\"github\"} 1"),
            std::string::npos);
  EXPECT_NE(body.find("queuedaemon_limit_rate{site=\"a\",limit=\"mailer\"} 5"),
            std::string::npos);
}

}  // namespace
}  // namespace qd::test
