// The master/worker lifecycle of docs/architecture.md, on the real binary.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "daemon_harness.h"

namespace qd::test {
namespace {

class SupervisorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  static std::string Config(int threads, const std::string& daemon_extra = "") {
    return TestConfig(threads, redis_->url(), daemon_extra);
  }
  static RedisServer* redis_;
};
RedisServer* SupervisorTest::redis_ = nullptr;

TEST_F(SupervisorTest, StartsOneWorkerPerSlot) {
  Daemon d(Config(3));
  ASSERT_TRUE(d.WaitForWorkers(3)) << d.Log();
  EXPECT_TRUE(d.WaitForLog("all 3 workers ready"));
  auto w = d.Workers();
  EXPECT_EQ(w.size(), 3u);
  EXPECT_TRUE(w.count(0) && w.count(1) && w.count(2));
}

TEST_F(SupervisorTest, ThreadsFlagBeatsTheConfig) {
  Daemon d(Config(3), {"--threads=2"});
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
}

TEST_F(SupervisorTest, KilledWorkerIsReplacedInItsSlotWithinOneSecond) {
  Daemon d(Config(3));
  ASSERT_TRUE(d.WaitForWorkers(3)) << d.Log();
  pid_t old = d.Workers()[1];
  kill(old, SIGKILL);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto w = d.Workers();
        return w.count(1) && w[1] != old;
      },
      milliseconds(1000)))
      << d.Log();
  auto took = std::chrono::steady_clock::now() - start;
  RecordProperty(
      "respawn_ms",
      std::to_string(std::chrono::duration_cast<milliseconds>(took).count()));
  EXPECT_EQ(d.Workers().size(), 3u);
}

// Each slot is killed 25 times, one kill at a time (inside the 30-crash
// allowance, so every replacement comes after 100 ms). In the sanitizer
// build (scripts/sanitize) LeakSanitizer checks the master as it exits: a
// leak per respawn would make the exit code 23 and be reported there.
TEST_F(SupervisorTest, HundredRespawnsLeaveTheMasterAsItWas) {
  constexpr int kSlots = 4, kKills = 100;
  Daemon d(Config(kSlots));
  ASSERT_TRUE(d.WaitForWorkers(kSlots)) << d.Log();
  long rss_before = RssKiB(d.pid());
  for (int i = 0; i < kKills; ++i) {
    int slot = i % kSlots;
    pid_t old = d.Workers()[slot];
    ASSERT_EQ(kill(old, SIGKILL), 0) << "kill " << i;
    ASSERT_TRUE(WaitFor(
        [&] {
          auto w = d.Workers();
          return w.size() == kSlots && w.count(slot) && w[slot] != old;
        },
        milliseconds(5000)))
        << "kill " << i << "\n"
        << d.Log();
  }
  EXPECT_EQ(d.LogCount("was killed by signal 9"), size_t{kKills});
  EXPECT_EQ(d.LogCount("respawning in 100ms"), size_t{kKills});
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine holds freed memory
  EXPECT_LT(RssKiB(d.pid()), rss_before + 1024) << "KiB before " << rss_before;
#endif
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0) << d.Log();
}

// A slot is allowed 30 crashes in 10 s at 100 ms each (workers killed from
// outside now and then are replaced at once); past that it is a crash loop
// and the delay doubles.
TEST_F(SupervisorTest, CrashLoopBacksOffAndTheMasterDoesNotSpin) {
  Daemon d(Config(2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  milliseconds cpu_before = CpuTime(d.pid());
  auto wall_start = std::chrono::steady_clock::now();
  std::vector<milliseconds> gaps;
  for (int i = 0; i < 35; ++i) {
    pid_t old = d.Workers()[0];
    ASSERT_GT(old, 0);
    kill(old, SIGKILL);
    auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(WaitFor(
        [&] {
          auto w = d.Workers();
          return w.count(0) && w[0] != old;
        },
        milliseconds(5000)))
        << d.Log();
    gaps.push_back(std::chrono::duration_cast<milliseconds>(
        std::chrono::steady_clock::now() - killed));
  }
  // The burst: 100 ms each; then 100, 200, 400, 800, 1600 ms.
  EXPECT_EQ(d.LogCount("respawning in 100ms"), 31u) << d.Log();
  EXPECT_GE(gaps[33], milliseconds(700));
  EXPECT_GE(gaps[34], milliseconds(1500));
  EXPECT_GT(gaps[34], gaps[0] * 4);
  auto wall = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - wall_start);
  milliseconds cpu = CpuTime(d.pid()) - cpu_before;
  EXPECT_LT(cpu.count(), wall.count() / 10)
      << "master used " << cpu.count() << " ms CPU in " << wall.count()
      << " ms";
  EXPECT_EQ(d.LogCount("was killed by signal 9"), 35u);
  EXPECT_TRUE(d.WaitForLog("respawning in 1.6s")) << d.Log();
}

TEST_F(SupervisorTest, WorkerOverTheSoftLimitIsRecycledAndReplaced) {
  Daemon d(Config(2, "  memory_limit: 256MiB\n  soft_limit: 32MiB\n"), {},
           {"QD_TEST_ALLOC=1:48:later"});
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  pid_t first = d.Workers()[1];
  ASSERT_TRUE(d.WaitForLog("passed the soft limit")) << d.Log();
  ASSERT_TRUE(d.WaitForLog("recycled after")) << d.Log();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto w = d.Workers();
        return w.count(1) && w[1] != first;
      },
      milliseconds(2000)))
      << d.Log();
  EXPECT_EQ(d.LogCount("respawning in"), 0u) << "recycling is not a crash";
}

TEST_F(SupervisorTest, WorkerBornOverTheLimitIsNotRespawnedInALoop) {
  Daemon d(Config(2, "  memory_limit: 256MiB\n  soft_limit: 32MiB\n"), {},
           {"QD_TEST_ALLOC=1:48:start"});
  ASSERT_TRUE(d.WaitForLog("over the soft memory limit at start-up"))
      << d.Log();
  // Watch a while: the slot stays parked, the master says so once, and the
  // other slot is unaffected.
  EXPECT_FALSE(
      WaitFor([&] { return d.Workers().count(1) != 0; }, milliseconds(1500)));
  EXPECT_EQ(d.LogCount("over the soft memory limit at start-up"), 1u);
  EXPECT_EQ(d.LogCount("before taking any work"), 1u);
  EXPECT_EQ(d.Workers().count(0), 1u);
}

TEST_F(SupervisorTest, WorkerOverTheHardLimitIsKilled) {
  Daemon d(Config(1, "  memory_limit: 64MiB\n  kill_grace: 300ms\n"), {},
           {"QD_TEST_ALLOC=0:96:block"});
  ASSERT_TRUE(d.WaitForLog("is over daemon.memory_limit")) << d.Log();
  ASSERT_TRUE(d.WaitForLog("still alive after TERM: KILL")) << d.Log();
  ASSERT_TRUE(d.WaitForLog("worker slot 0 pid", 3)) << d.Log();
  EXPECT_TRUE(d.WaitForWorkers(1)) << d.Log();
}

TEST_F(SupervisorTest, TermDrainsAndExitsZeroLeavingNoProcess) {
  Daemon d(Config(3));
  ASSERT_TRUE(d.WaitForWorkers(3)) << d.Log();
  auto workers = d.Workers();
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0) << d.Log();
  for (const auto& [slot, pid] : workers) {
    EXPECT_FALSE(Alive(pid)) << "slot " << slot;
  }
  EXPECT_FALSE(
      std::ifstream(d.dir().File("run/queuedaemon.generic.pid")).good());
}

TEST_F(SupervisorTest, HupWithAValidConfigChangesTheWorkerCount) {
  Daemon d(Config(2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  auto before = d.Workers();
  std::string text = Config(3);
  for (size_t at; (at = text.find("RUN_DIR")) != std::string::npos;) {
    text.replace(at, 7, d.dir().path());
  }
  d.dir().Write("qd.yaml", text);
  d.Signal(SIGHUP);
  ASSERT_TRUE(d.WaitForWorkers(3)) << d.Log();
  // Rolled over one at a time: every old worker is eventually replaced.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto w = d.Workers();
        return w.size() == 3 && w[0] != before[0] && w[1] != before[1];
      },
      milliseconds(5000)))
      << d.Log();
  EXPECT_TRUE(d.WaitForLog("reloaded: 3 workers")) << d.Log();
}

TEST_F(SupervisorTest, HupWithBrokenYamlKeepsServing) {
  Daemon d(Config(2));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  auto before = d.Workers();
  d.dir().Write("qd.yaml", "daemon:\n  threads: [1,\n");
  d.Signal(SIGHUP);
  ASSERT_TRUE(d.WaitForLog("keeping the current config")) << d.Log();
  EXPECT_TRUE(d.WaitForLog("qd.yaml:")) << d.Log();
  EXPECT_EQ(d.Workers(), before);
  // Still supervising: a killed worker comes back.
  kill(before[0], SIGKILL);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto w = d.Workers();
        return w.count(0) && w[0] != before[0];
      },
      milliseconds(2000)))
      << d.Log();
}

TEST_F(SupervisorTest, WorkersExitOnTheirOwnWhenTheMasterIsKilled) {
  Daemon d(Config(3));
  ASSERT_TRUE(d.WaitForWorkers(3)) << d.Log();
  auto workers = d.Workers();
  d.Signal(SIGKILL);
  EXPECT_EQ(d.WaitExit(), 128 + SIGKILL);
  for (const auto& [slot, pid] : workers) {
    EXPECT_TRUE(WaitFor([&] { return !Alive(pid); }, milliseconds(3000)))
        << "slot " << slot << " pid " << pid << " outlived its master";
  }
}

TEST_F(SupervisorTest, PidFileOfALiveDaemonRefusesASecondStart) {
  Daemon first(Config(1));
  ASSERT_TRUE(first.WaitForWorkers(1)) << first.Log();
  std::string pidfile = first.dir().File("run/queuedaemon.generic.pid");
  Daemon second(Config(1), {"--pidfile", pidfile});
  EXPECT_EQ(second.WaitExit(), 1) << second.Log();
  EXPECT_NE(second.Log().find("already running as pid " +
                              std::to_string(first.pid())),
            std::string::npos)
      << second.Log();
  EXPECT_EQ(first.Workers().size(), 1u);
}

TEST_F(SupervisorTest, NoForkRunsOneWorkerInThisProcess) {
  Daemon d(Config(3), {"--no-fork", "-v"});
  ASSERT_TRUE(d.WaitForLog("[worker 0 " + std::to_string(d.pid()) + "] ready"))
      << d.Log();
  EXPECT_TRUE(d.Workers().empty());
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0) << d.Log();
}

TEST_F(SupervisorTest, EmbeddedRedisIsWatchedAndStoppedWithTheMaster) {
  Daemon d(TestConfig(1, "embedded"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  std::string sock = d.dir().File("run/redis/redis.sock");
  EXPECT_EQ(RedisCommand(sock, 0, "PING"), "PONG");
  EXPECT_TRUE(WaitFor(
      [&] {
        return Alive(d.pid()) &&
               std::ifstream(
                   d.dir().File(
                       "run/redis/appendonlydir/appendonly.aof.manifest"))
                   .good();
      },
      milliseconds(2000)))
      << "AOF is on";
  auto redis = ChildrenByPrefix(d.pid(), "redis-server");
  ASSERT_EQ(redis.size(), 1u) << d.Log();
  pid_t first = redis.begin()->second;
  kill(first, SIGKILL);
  ASSERT_TRUE(d.WaitForLog("embedded redis restarted as pid")) << d.Log();
  EXPECT_TRUE(WaitFor([&] { return RedisCommand(sock, 0, "PING") == "PONG"; },
                      milliseconds(5000)));
  pid_t second = ChildrenByPrefix(d.pid(), "redis-server").begin()->second;
  EXPECT_NE(second, first);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0) << d.Log();
  EXPECT_FALSE(Alive(second));
}

TEST(QueuedaemonCliTest, CheckConfigSaysOkOrNamesTheLine) {
  TempDir dir;
  std::string text;
  EXPECT_EQ(CheckConfig(dir, "good.yaml", TestConfig(2, "embedded"), &text), 0)
      << text;
  EXPECT_EQ(CheckConfig(dir, "bad.yaml", "daemon:\n  treads: 2\n", &text), 1);
  EXPECT_NE(text.find("bad.yaml:2:3: daemon.treads"), std::string::npos)
      << text;
  EXPECT_NE(text.find("did you mean 'threads'"), std::string::npos) << text;
}

// Without -f the daemon detaches, logs to its file, and reopens that file on
// SIGUSR1 (logrotate's way).
TEST(DaemonizedTest, DetachesLogsToItsFileAndReopensItOnUsr1) {
  RedisServer redis;
  TempDir dir;
  std::string log = dir.File("qd.log");
  std::string yaml =
      TestConfig(2, redis.url(), "  log: { file: " + log + " }\n");
  for (size_t at; (at = yaml.find("RUN_DIR")) != std::string::npos;) {
    yaml.replace(at, 7, dir.path());
  }
  dir.Write("qd.yaml", yaml);
  std::string bin = std::string(QD_BINARY_DIR) + "/queuedaemon";
  int rc = std::system((bin + " -c " + dir.File("qd.yaml")).c_str());
  ASSERT_EQ(WEXITSTATUS(rc), 0);
  pid_t master = 0;
  std::ifstream(dir.File("run/queuedaemon.generic.pid")) >> master;
  ASSERT_GT(master, 0);
  auto contains = [](const std::string& path, const std::string& needle) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.find(needle) != std::string::npos;
  };
  // Ready, and said so in the first file, before it is rotated.
  ASSERT_TRUE(WaitFor(
      [&] {
        return ChildrenByPrefix(master, "qd-worker-").size() == 2 &&
               contains(log, "all 2 workers ready");
      },
      milliseconds(5000)));
  std::rename(log.c_str(), (log + ".1").c_str());
  kill(master, SIGUSR1);
  EXPECT_TRUE(WaitFor([&] { return contains(log, "log file reopened"); },
                      milliseconds(5000)));
  // Workers reopen too: a killed worker's replacement logs to the new file.
  kill(ChildrenByPrefix(master, "qd-worker-")[1], SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return contains(log, "worker slot 1 pid"); },
                      milliseconds(5000)));
  EXPECT_TRUE(contains(log + ".1", "all 2 workers ready"));
  kill(master, SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return !Alive(master); }, milliseconds(10000)));
}

}  // namespace
}  // namespace qd::test
