// systemd's notify protocol (etc/queuedaemon.service, Type=notify) on the
// real binary: the test plays systemd with a datagram socket of its own
// that NOTIFY_SOCKET names, and reads who sent each message (SO_PASSCRED),
// as systemd does to enforce NotifyAccess=main. Without NOTIFY_SOCKET the
// daemon runs as it always did: every other integration test starts it
// that way, and NoNotifySocketNoTimerNoLogLine checks that it says nothing.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

using Clock = std::chrono::steady_clock;

// One notification as systemd gets it.
struct Notification {
  pid_t pid = 0;  // the sender, from its credentials
  std::string text;
  Clock::time_point at;

  // The value of NAME= in the message, nullopt when it has none.
  std::optional<std::string> Field(const std::string& name) const {
    std::string key = name + "=";
    size_t at_line = 0;
    while (at_line < text.size()) {
      size_t end = text.find('\n', at_line);
      if (end == std::string::npos) end = text.size();
      if (text.compare(at_line, key.size(), key) == 0) {
        return text.substr(at_line + key.size(), end - at_line - key.size());
      }
      at_line = end + 1;
    }
    return std::nullopt;
  }
  bool Says(const std::string& field) const {
    auto eq = field.find('=');
    return Field(field.substr(0, eq)) == field.substr(eq + 1);
  }
};

// systemd's side: a datagram socket at a path in a TempDir.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = dir_.File("notify");
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("bind " + path_);
    }
    int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
  }
  ~NotifySocket() { close(fd_); }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  // Every message read so far.
  const std::vector<Notification>& all() const { return all_; }

  // Reads until a message for which `match` holds arrives (returned) or
  // `deadline` passes (nullopt). Only messages read by this call count.
  std::optional<Notification> WaitFor(
      const std::function<bool(const Notification&)>& match,
      milliseconds deadline) {
    auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
      auto n = Read(end);
      if (n && match(*n)) return n;
    }
    return std::nullopt;
  }
  std::optional<Notification> WaitFor(const std::string& field,
                                      milliseconds deadline) {
    return WaitFor([&](const Notification& n) { return n.Says(field); },
                   deadline);
  }
  // Waits until `field` has not come for `quiet` in a row; false if that did
  // not happen before `deadline`.
  bool WaitForSilence(const std::string& field, milliseconds quiet,
                      milliseconds deadline) {
    auto end = Clock::now() + deadline;
    auto last = Clock::now();
    while (Clock::now() < end) {
      if (Clock::now() - last >= quiet) return true;
      auto n = Read(std::min(end, last + quiet));
      if (n && n->Says(field)) last = n->at;
    }
    return false;
  }
  // Every message that arrives within `window` (a measurement, not a wait
  // for a condition).
  std::vector<Notification> Collect(milliseconds window) {
    std::vector<Notification> out;
    auto end = Clock::now() + window;
    while (Clock::now() < end) {
      auto n = Read(end);
      if (n) out.push_back(*n);
    }
    return out;
  }

 private:
  // One datagram, waiting with poll() until `end` at most.
  std::optional<Notification> Read(Clock::time_point end) {
    auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <=
        0) {
      return std::nullopt;
    }
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov = {buf, sizeof(buf)};
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t got = recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (got < 0) return std::nullopt;
    Notification n;
    n.text.assign(buf, static_cast<size_t>(got));
    n.at = Clock::now();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        n.pid = cred.pid;
      }
    }
    all_.push_back(n);
    return n;
  }

  TempDir dir_;
  std::string path_;
  int fd_ = -1;
  std::vector<Notification> all_;
};

class ServiceNotifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { redis_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete redis_;
    redis_ = nullptr;
  }
  static RedisServer* redis_;
};
RedisServer* ServiceNotifyTest::redis_ = nullptr;

TEST_F(ServiceNotifyTest, ReadyOnceTheWorkersAreThenReloadingAndStopping) {
  NotifySocket systemd;
  Daemon d(TestConfig(2, redis_->url()), {}, {systemd.env()});
  auto ready = systemd.WaitFor("READY=1", milliseconds(10000));
  ASSERT_TRUE(ready) << d.Log();
  EXPECT_EQ(ready->pid, d.pid()) << "not from the master";
  EXPECT_EQ(ready->Field("MAINPID"), std::to_string(d.pid()));
  EXPECT_EQ(d.LogCount("all 2 workers ready"), 1u)
      << "READY=1 came before every worker was:\n"
      << d.Log();
  EXPECT_EQ(ready->Field("STATUS").value_or("").rfind("2 workers, 0 jobs", 0),
            0u)
      << ready->text;

  // A reload that works, then one the config refuses: each is RELOADING=1
  // and then READY=1; the refusal stays in the status line.
  d.Signal(SIGHUP);
  ASSERT_TRUE(systemd.WaitFor("RELOADING=1", milliseconds(5000))) << d.Log();
  auto reloaded = systemd.WaitFor("READY=1", milliseconds(5000));
  ASSERT_TRUE(reloaded) << d.Log();
  EXPECT_EQ(reloaded->text.find("refused"), std::string::npos)
      << reloaded->text;
  d.WriteConfig("daemon:\n  treads: 2\n");
  d.Signal(SIGHUP);
  ASSERT_TRUE(systemd.WaitFor("RELOADING=1", milliseconds(5000))) << d.Log();
  reloaded = systemd.WaitFor("READY=1", milliseconds(5000));
  ASSERT_TRUE(reloaded) << d.Log();
  EXPECT_NE(
      reloaded->Field("STATUS").value_or("").find(
          "last reload refused: " + d.config_path() + ":2:3: daemon.treads"),
      std::string::npos)
      << reloaded->text;

  // The status line follows the work (refreshed every 2 s at most).
  size_t enqueued = RedisPipeline(
      redis_->port(),
      std::vector<std::vector<std::string>>(
          5, {"XADD", "qd:{default}:q:noop", "*", "payload", "x"}));
  ASSERT_EQ(enqueued, 5u);
  auto status = systemd.WaitFor(
      [](const Notification& n) {
        return n.Field("STATUS").value_or("").find("5 jobs done") !=
               std::string::npos;
      },
      milliseconds(10000));
  EXPECT_TRUE(status) << d.Log();

  d.Signal(SIGTERM);
  auto stopping = systemd.WaitFor("STOPPING=1", milliseconds(5000));
  ASSERT_TRUE(stopping) << d.Log();
  EXPECT_EQ(
      stopping->Field("STATUS").value_or("").rfind("stopping: draining", 0), 0u)
      << stopping->text;
  EXPECT_EQ(d.WaitExit(), 0);
  // What NotifyAccess=main would drop: nothing came from another process.
  for (const auto& n : systemd.all()) {
    EXPECT_EQ(n.pid, d.pid()) << n.text;
  }
}

TEST_F(ServiceNotifyTest, WatchdogPingsStopWhileRedisIsDownAndComeBackWithIt) {
  RedisServer redis;  // this test's own: it is killed
  NotifySocket systemd;
  // As systemd sets them for WatchdogSec=500ms (WATCHDOG_PID left out: it
  // would have to be the daemon's own pid).
  Daemon d(TestConfig(1, redis.url()), {},
           {systemd.env(), "WATCHDOG_USEC=500000"});
  ASSERT_TRUE(systemd.WaitFor("READY=1", milliseconds(10000))) << d.Log();
  ASSERT_TRUE(systemd.WaitFor("WATCHDOG=1", milliseconds(5000))) << d.Log();

  // Every 250 ms: never a gap that would let a 500 ms watchdog fire, and
  // no timer that spins.
  std::vector<Clock::time_point> pings;
  for (const auto& n : systemd.Collect(milliseconds(2000))) {
    if (n.Says("WATCHDOG=1")) pings.push_back(n.at);
  }
  EXPECT_GE(pings.size(), 5u);
  EXPECT_LE(pings.size(), 12u);
  for (size_t i = 1; i < pings.size(); ++i) {
    EXPECT_LT(pings[i] - pings[i - 1], milliseconds(500)) << "ping " << i;
  }

  // Redis gone: the master notices within its 1 s PING round, pings for
  // one more interval, then stops, so that systemd restarts the daemon.
  redis.Kill();
  EXPECT_TRUE(systemd.WaitForSilence("WATCHDOG=1", milliseconds(1500),
                                     milliseconds(6000)))
      << d.Log();
  EXPECT_TRUE(d.WaitForLog("no more pings")) << d.Log();
  // The status line says why (it may have come during the silence).
  auto redis_down = [](const Notification& n) {
    return n.Field("STATUS").value_or("").find("; Redis: ") !=
           std::string::npos;
  };
  EXPECT_TRUE(
      std::any_of(systemd.all().begin(), systemd.all().end(), redis_down) ||
      systemd.WaitFor(redis_down, milliseconds(5000)))
      << d.Log();

  // Back (same port): the master reconnects with its backoff and pings
  // again.
  ASSERT_TRUE(redis.Start());
  EXPECT_TRUE(systemd.WaitFor("WATCHDOG=1", milliseconds(15000))) << d.Log();
  EXPECT_TRUE(d.WaitForLog("Redis answers again")) << d.Log();
}

// Without --foreground: the launcher (systemd's main process at first)
// names the master MAINPID before it exits, and the master takes over the
// watchdog that WATCHDOG_PID gave the launcher.
TEST_F(ServiceNotifyTest, DaemonizedMasterBecomesTheMainPidAndPingsItself) {
  NotifySocket systemd;
  TempDir dir;
  std::string yaml = TestConfig(
      2, redis_->url(), "  log: { file: " + dir.File("qd.log") + " }\n");
  for (size_t at; (at = yaml.find("RUN_DIR")) != std::string::npos;) {
    yaml.replace(at, 7, dir.path());
  }
  dir.Write("qd.yaml", yaml);
  // As systemd starts it: WATCHDOG_PID is the pid that execs the daemon.
  pid_t launcher =
      Spawn({"/bin/sh", "-c", "WATCHDOG_PID=$$ exec \"$0\" -c \"$1\"",
             std::string(QD_BINARY_DIR) + "/queuedaemon", dir.File("qd.yaml")},
            {systemd.env(), "WATCHDOG_USEC=500000"}, dir.File("launcher.log"));
  int status = -1;
  ASSERT_TRUE(
      WaitFor([&] { return waitpid(launcher, &status, WNOHANG) == launcher; },
              milliseconds(10000)));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << ReadFileText(dir.File("launcher.log"));
  pid_t master = 0;
  std::ifstream(dir.File("run/queuedaemon.generic.pid")) >> master;
  ASSERT_GT(master, 0);
  struct Stop {  // the master is not this process's child
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      if (!WaitFor([&] { return !Alive(pid); }, milliseconds(10000))) {
        kill(pid, SIGKILL);
      }
    }
  } stop{master};

  auto ready = systemd.WaitFor("READY=1", milliseconds(10000));
  ASSERT_TRUE(ready) << ReadFileText(dir.File("qd.log"));
  EXPECT_EQ(ready->pid, master);
  EXPECT_EQ(ready->Field("MAINPID"), std::to_string(master));
  auto ping = systemd.WaitFor("WATCHDOG=1", milliseconds(5000));
  ASSERT_TRUE(ping) << "the master did not take the watchdog over";
  EXPECT_EQ(ping->pid, master);
  // The first message: the launcher hands over, before the master says
  // anything (NotifyAccess=main would drop the master's words before it).
  ASSERT_FALSE(systemd.all().empty());
  const Notification& first = systemd.all().front();
  EXPECT_EQ(first.pid, launcher);
  EXPECT_EQ(first.text, "MAINPID=" + std::to_string(master));
  for (size_t i = 1; i < systemd.all().size(); ++i) {
    EXPECT_EQ(systemd.all()[i].pid, master) << systemd.all()[i].text;
  }
  kill(master, SIGTERM);
  EXPECT_TRUE(systemd.WaitFor("STOPPING=1", milliseconds(5000)));
  EXPECT_TRUE(WaitFor([&] { return !Alive(master); }, milliseconds(10000)));
}

// The processes the master starts never see NOTIFY_SOCKET: a job's command
// (in a forked worker) and the embedded redis-server (exec'd, through a
// wrapper that writes down its environment: redis-server itself overwrites
// /proc/PID/environ with its process title).
TEST(ServiceNotifyChildrenTest, ChildrenDoNotSeeTheNotifySocket) {
  NotifySocket systemd;
  TempDir bin;
  bin.Write("redis-server",
            "#!/bin/sh\nenv > \"$0.env\"\nexec redis-server \"$@\"\n");
  chmod(bin.File("redis-server").c_str(), 0755);
  std::string yaml =
      "daemon:\n"
      "  threads: 1\n"
      "  run_dir: RUN_DIR/run\n"
      "  shutdown_timeout: 5s\n"
      "redis: { url: embedded, server_binary: " +
      bin.File("redis-server") +
      " }\n"
      "sites:\n"
      "  default:\n"
      "    queues:\n"
      "      env: { handler: exec, command: [/bin/sh, -c, "
      "'env > RUN_DIR/job.env.tmp && mv RUN_DIR/job.env.tmp "
      "RUN_DIR/job.env'] }\n";
  Daemon d(yaml, {}, {systemd.env(), "WATCHDOG_USEC=5000000"});
  ASSERT_TRUE(systemd.WaitFor("READY=1", milliseconds(10000))) << d.Log();
  // The master has it (the test passed it on)...
  EXPECT_NE(ReadFileText("/proc/" + std::to_string(d.pid()) + "/environ")
                .find(systemd.env()),
            std::string::npos);
  // ... the embedded Redis does not...
  std::string redis_env = ReadFileText(bin.File("redis-server.env"));
  EXPECT_NE(redis_env.find("PATH="), std::string::npos) << redis_env;
  EXPECT_EQ(redis_env.find("NOTIFY_SOCKET="), std::string::npos) << redis_env;
  EXPECT_EQ(redis_env.find("WATCHDOG_USEC="), std::string::npos) << redis_env;
  // ... nor does a job's command.
  std::string sock = d.dir().File("run/redis/redis.sock");
  ASSERT_NE(RedisCommand(sock, 0, "XADD qd:{default}:q:env * payload x"), "");
  std::string env_file = d.dir().File("job.env");
  ASSERT_TRUE(WaitFor([&] { return !ReadFileText(env_file).empty(); },
                      milliseconds(10000)))
      << d.Log();
  std::string job_env = ReadFileText(env_file);
  EXPECT_NE(job_env.find("QD_JID="), std::string::npos) << job_env;
  EXPECT_EQ(job_env.find("NOTIFY_SOCKET="), std::string::npos) << job_env;
  EXPECT_EQ(job_env.find("WATCHDOG_USEC="), std::string::npos) << job_env;
}

// Not under systemd: no timer, no message, not a word in the log.
TEST_F(ServiceNotifyTest, NoNotifySocketNoTimerNoLogLine) {
  unsetenv("NOTIFY_SOCKET");  // in case this test runs under systemd
  Daemon d(TestConfig(1, redis_->url()), {}, {"WATCHDOG_USEC=500000"});
  ASSERT_TRUE(d.WaitForLog("all 1 workers ready")) << d.Log();
  EXPECT_EQ(d.LogCount("systemd"), 0u) << d.Log();
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0);
  EXPECT_EQ(d.LogCount("systemd"), 0u) << d.Log();
}

}  // namespace
}  // namespace qd::test
