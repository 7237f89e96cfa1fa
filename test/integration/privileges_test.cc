// --user/--group end to end: the daemon started as root binds its listeners
// (one on a port below 1024 when a free one is found) and monitor.http,
// writes its pid file, then runs as nobody:nogroup without supplementary
// groups, master and workers alike. Jobs run, listeners answer, a reload
// that adds a privileged listener fails for that listener alone, and TERM
// removes the pid file from the run_dir it was given. Skipped unless run
// as root.
#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "daemon_harness.h"

namespace qd::test {
namespace {

std::string BuildPluginDir() {
  return std::string(QD_BINARY_DIR) + "/../plugins";
}

// The value of a line of /proc/PID/status ("Uid", "Gid", "Groups"), its
// fields separated by single spaces; "?" when the process is gone.
std::string ProcStatus(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    std::string out, f;
    while (fields >> f) out += (out.empty() ? "" : " ") + f;
    return out;
  }
  return "?";
}

// A port below 1024 on 127.0.0.1 that was free a moment ago, 0 if none of
// the ones tried is.
int FreeLowPort() {
  std::mt19937 rng(std::random_device{}());
  int start = 600 + static_cast<int>(rng() % 400);
  for (int i = 0; i < 400; ++i) {
    int port = 600 + (start - 600 + i) % 424;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

std::string Listener(const std::string& name, int port) {
  return "  " + name + ":\n    listen: 127.0.0.1:" + std::to_string(port) +
         "\n    handler: example-line\n    terminator: \"\\n\"\n"
         "    worker_keepalive: 5s\n";
}

uid_t OwnerOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_uid : static_cast<uid_t>(-1);
}

class PrivilegesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "starts the daemon as root with --user nobody";
    }
    passwd* pw = getpwnam("nobody");
    group* gr = getgrnam("nogroup");
    if (pw == nullptr || gr == nullptr) GTEST_SKIP() << "no nobody:nogroup";
    uid_ = pw->pw_uid;
    gid_ = gr->gr_gid;
    // The daemon loads its plugins after the drop, as nobody, who may not
    // reach the build tree (a clone under /root or in a 0700 directory):
    // it gets a copy in a directory of its own that anyone may read.
    chmod(plugins_.path().c_str(), 0755);
    std::string so = plugins_.File("example.so");
    std::ifstream in(BuildPluginDir() + "/example.so", std::ios::binary);
    std::ofstream(so, std::ios::binary) << in.rdbuf();
    ASSERT_EQ(chmod(so.c_str(), 0644), 0) << so;
  }

  // The daemon section, the site `default` with a noop queue, the example
  // plugin for the listeners.
  std::string Config(const std::string& redis, const std::string& daemon_extra,
                     const std::string& top_extra) const {
    return "daemon:\n  threads: 2\n  run_dir: RUN_DIR/run\n"
           "  shutdown_timeout: 5s\n" +
           daemon_extra + "redis: " + redis +
           "\nplugins: { dir: " + plugins_.path() +
           ", load: [example] }\n"
           "sites:\n  default:\n    queues:\n      noop: { handler: noop }\n" +
           top_extra;
  }

  // Uid, Gid (real, effective, saved, filesystem) and Groups of `pid`.
  void ExpectNobody(pid_t pid, const std::string& who) {
    std::string u = std::to_string(uid_), g = std::to_string(gid_);
    EXPECT_EQ(ProcStatus(pid, "Uid"), u + " " + u + " " + u + " " + u) << who;
    EXPECT_EQ(ProcStatus(pid, "Gid"), g + " " + g + " " + g + " " + g) << who;
    EXPECT_EQ(ProcStatus(pid, "Groups"), "") << who;
  }

  uid_t uid_ = 0;
  gid_t gid_ = 0;
  TempDir plugins_;
};

TEST_F(PrivilegesTest, BindsAsRootThenRunsAsNobody) {
  RedisServer redis;
  int port = FreePort(), http = FreePort(), low = FreeLowPort();
  std::string listeners = "listeners:\n" + Listener("line", port);
  if (low != 0) listeners += Listener("low", low);
  Daemon d(Config(redis.url(), "",
                  "monitor: { http: 127.0.0.1:" + std::to_string(http) +
                      " }\n" + listeners),
           {"--user", "nobody", "--group", "nogroup"});
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  ASSERT_TRUE(d.WaitForLog("all 2 workers ready")) << d.Log();
  EXPECT_NE(
      d.Log().find("running as nobody:nogroup (uid " + std::to_string(uid_) +
                   ", gid " + std::to_string(gid_) + ")"),
      std::string::npos)
      << d.Log();
  ExpectNobody(d.pid(), "master");
  for (const auto& [slot, pid] : d.Workers()) {
    ExpectNobody(pid, "worker " + std::to_string(slot));
  }
  // The run_dir (created by this start) is the user's; the pid file in it
  // stays root's (never handed over), and the user removes it at exit.
  std::string pidfile = d.dir().File("run/queuedaemon.generic.pid");
  EXPECT_EQ(ReadFileText(pidfile), std::to_string(d.pid()) + "\n");
  EXPECT_EQ(OwnerOf(d.dir().File("run")), uid_);
  EXPECT_EQ(OwnerOf(pidfile), 0u);

  // Sockets bound before the drop serve after it, in workers that are
  // nobody's too.
  LineClient c = LineClient::Tcp(port);
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.Request("ECHO hi", milliseconds(5000)),
            std::optional<std::string>("hi"));
  std::optional<std::string> who = c.Request("WHO", milliseconds(5000));
  ASSERT_TRUE(who.has_value());
  ExpectNobody(std::atoi(who->c_str()), "request worker");
  if (low != 0) {
    LineClient l = LineClient::Tcp(low);
    ASSERT_TRUE(l.connected()) << "port " << low;
    EXPECT_EQ(l.Request("ECHO low", milliseconds(5000)),
              std::optional<std::string>("low"));
  } else {
    std::printf(
        "no free port below 1024: the privileged listener is skipped\n");
  }
  std::string page;
  EXPECT_TRUE(WaitFor([&] { return HttpGet(http, "/healthz", &page) == 200; },
                      milliseconds(5000)))
      << page;

  // Jobs run.
  std::vector<std::vector<std::string>> xadds;
  for (int i = 0; i < 20; ++i) {
    xadds.push_back({"XADD", "qd:{default}:q:noop", "*", "payload",
                     "j" + std::to_string(i)});
  }
  ASSERT_EQ(RedisPipeline(redis.port(), xadds), xadds.size());
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis.port(), {"XLEN", "qd:{default}:q:noop"}) == 0;
      },
      milliseconds(10000)))
      << d.Log();

  // A reload that adds a listener on a privileged port: that listener
  // fails, clearly; the reload and the other listeners go on.
  int late = FreeLowPort();
  if (late != 0 && late != low) {
    d.dir().Write("qd.yaml",
                  ReadFileText(d.config_path()) + Listener("late", late));
    d.Signal(SIGHUP);
    std::string want =
        "reload: listener late on 127.0.0.1:" + std::to_string(late) +
        ": Permission denied";
    EXPECT_TRUE(d.WaitForLog(want)) << d.Log();
    EXPECT_TRUE(d.WaitForLog("config " + d.config_path() + " reloaded"))
        << d.Log();
    EXPECT_NE(d.Log().find("a port below 1024 is bound only at start-up"),
              std::string::npos)
        << d.Log();
    LineClient again = LineClient::Tcp(port);
    EXPECT_EQ(again.Request("ECHO still", milliseconds(5000)),
              std::optional<std::string>("still"));
  }

  c.Close();
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0) << d.Log();
  EXPECT_NE(access(pidfile.c_str(), F_OK), 0) << "pid file left behind";
}

TEST_F(PrivilegesTest, ConfigUserRunsTheEmbeddedRedisAsThatUserToo) {
  Daemon d(Config("embedded", "  user: nobody\n", ""));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  ExpectNobody(d.pid(), "master");
  std::vector<pid_t> servers = ChildPids(d.pid(), "redis-server");
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(
      ProcStatus(servers[0], "Uid").substr(0, std::to_string(uid_).size()),
      std::to_string(uid_));
  EXPECT_EQ(OwnerOf(d.dir().File("run/redis")), uid_);
  CtlResult r = RunQueuectl(
      d.dir(), {"-c", d.config_path(), "enqueue", "default", "noop", "x"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  std::string sock = d.dir().File("run/redis/redis.sock");
  EXPECT_TRUE(WaitFor(
      [&] { return RedisCommand(sock, 0, "XLEN qd:{default}:q:noop") == "0"; },
      milliseconds(10000)))
      << d.Log();
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0) << d.Log();
}

TEST_F(PrivilegesTest, AnUnknownUserOrGroupStopsTheStart) {
  RedisServer redis;
  Daemon user(Config(redis.url(), "", ""), {"--user", "no-such-user-qd"});
  EXPECT_EQ(user.WaitExit(), 1);
  EXPECT_NE(user.Log().find("unknown user 'no-such-user-qd' (no passwd entry)"),
            std::string::npos)
      << user.Log();
  Daemon group(
      Config(redis.url(), "  user: nobody\n  group: no-such-group-qd\n", ""));
  EXPECT_EQ(group.WaitExit(), 1);
  EXPECT_NE(
      group.Log().find("unknown group 'no-such-group-qd' (no group entry)"),
      std::string::npos)
      << group.Log();
  EXPECT_EQ(group.Workers().size(), 0u);
}

// An existing run_dir that is not the user's (a shared /run, another
// service's directory) is never handed over: the start stops instead.
TEST_F(PrivilegesTest, AnExistingRunDirOfAnotherOwnerIsNotTakenOver) {
  RedisServer redis;
  TempDir shared;  // root's
  std::string yaml = Config(redis.url(), "", "");
  yaml.replace(yaml.find("RUN_DIR/run"), 11, shared.path());
  Daemon d(yaml, {"--user", "nobody"});
  EXPECT_EQ(d.WaitExit(), 1);
  EXPECT_NE(d.Log().find("run_dir " + shared.path() +
                         " exists and belongs to uid 0, not to nobody"),
            std::string::npos)
      << d.Log();
  struct stat st;
  ASSERT_EQ(stat(shared.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

}  // namespace
}  // namespace qd::test
