// The fixture of the multiplex listener tests: the real daemon with the
// example plugin's `example-line` handler, a real redis-server for the
// sessions, and clients on loopback TCP or a unix socket. Request workers
// are counted as the master's children named "qd-req-line".
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {

using Clock = std::chrono::steady_clock;

inline constexpr milliseconds kReply(3000);  // for one request on an idle box
// Logged by the master once the listener accepts connections.
inline const char kListening[] = "listener line: ";
inline const char kListeningTail[] = ", handler example-line";

inline std::string PluginDir() {
  return std::string(QD_BINARY_DIR) + "/../plugins";
}

// The words of a WHO reply: "<pid> <account> <n>".
struct Who {
  pid_t pid = 0;
  std::string account;
  int n = 0;
};

inline Who ParseWho(const std::optional<std::string>& reply) {
  Who who;
  if (reply) std::istringstream(*reply) >> who.pid >> who.account >> who.n;
  return who;
}

inline long ElapsedMs(Clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

class ListenerTest : public ::testing::Test {
 protected:
  // Starts the daemon with one listener `line` (example-line, terminator
  // "\n", on port_ unless `listener_yaml` has its own `listen`) and waits
  // until it listens. `listener_yaml` holds more keys of the listener,
  // indented by four spaces. Sites `default` and `b` exist. `top_yaml`
  // holds more top-level sections (e.g. `monitor:`).
  void Start(const std::string& listener_yaml,
             const std::string& level = "debug",
             const std::string& top_yaml = "") {
    daemon_ = std::make_unique<Daemon>(Config(listener_yaml, level, top_yaml),
                                       std::vector<std::string>{},
                                       std::vector<std::string>{}, nofile_);
    ASSERT_TRUE(WaitFor(
        [&] {
          std::string log = daemon_->Log();
          size_t at = log.find(kListening);
          return at != std::string::npos &&
                 log.find(kListeningTail, at) != std::string::npos;
        },
        milliseconds(10000)))
        << daemon_->Log();
  }

  // The config Start() writes.
  std::string Config(const std::string& listener_yaml,
                     const std::string& level = "debug",
                     const std::string& top_yaml = "") const {
    std::string listen =
        listener_yaml.find("listen:") == std::string::npos
            ? "    listen: 127.0.0.1:" + std::to_string(port_) + "\n"
            : "";
    std::string config =
        "daemon:\n"
        "  threads: 1\n"
        "  run_dir: RUN_DIR/run\n"
        "  shutdown_timeout: 5s\n"
        "  log: { level: " +
        level +
        " }\n"
        "redis: " +
        redis_.url() +
        "\n"
        "plugins: { dir: " +
        PluginDir() + ", load: [example] }\n" + top_yaml +
        "sites:\n"
        "  default:\n"
        "    queues:\n"
        "      noop: { handler: noop }\n"
        "  b:\n"
        "    queues:\n"
        "      noop: { handler: noop }\n"
        "listeners:\n"
        "  line:\n"
        "    handler: example-line\n"
        "    terminator: \"\\n\"\n" +
        listen + listener_yaml;
    return config;
  }

  void TearDown() override {
    if (daemon_ == nullptr) return;
    std::vector<pid_t> workers = RequestWorkers();
    daemon_.reset();  // SIGTERM, waits for the master
    // Request workers must not outlive their master; kill any by pid.
    bool gone = WaitFor(
        [&] { return std::none_of(workers.begin(), workers.end(), Alive); },
        milliseconds(5000));
    for (pid_t pid : workers) {
      if (Alive(pid)) kill(pid, SIGKILL);
    }
    EXPECT_TRUE(gone) << "request workers outlived the master";
  }

  LineClient Connect() { return LineClient::Tcp(port_); }
  std::vector<pid_t> RequestWorkers() const {
    return ChildPids(daemon_->pid(), "qd-req-line");
  }
  // The number of session keys in Redis.
  long long SessionKeys() const {
    return RedisInt(redis_.port(),
                    {"EVAL", "return #redis.call('KEYS', ARGV[1])", "0",
                     "qd:{qd}:session:*"});
  }
  // Logs in as `account` and checks the reply.
  void Login(LineClient& c, const std::string& account,
             const std::string& password) {
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.Request("LOGIN " + account + " " + password, kReply),
              std::optional<std::string>("OK"))
        << daemon_->Log();
  }
  // Sends WHO `n` times, one at a time.
  std::vector<Who> Whos(LineClient& c, int n) {
    std::vector<Who> out;
    for (int i = 0; i < n; ++i)
      out.push_back(ParseWho(c.Request("WHO", kReply)));
    return out;
  }

  RedisServer redis_;
  int port_ = FreePort();
  long nofile_ = 0;  // > 0: the daemon's descriptor limit
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace qd::test
