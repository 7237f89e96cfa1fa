// queuemon end to end: the real binary on a loopback UDP port, fed by a UDP
// socket in the test and by netcat, its --json output parsed.
//
// Synchronisation: queuemon prints "listening on ADDRESS" on stderr once
// bound; each test sends after that. Every batch of lines goes in one
// datagram, so it lands in one interval, and --once prints that interval.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

using Json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A queuemon process, stdout and stderr in files of its own temp dir,
// stopped by pid when the test ends.
class Queuemon {
 public:
  explicit Queuemon(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {std::string(QD_BINARY_DIR) + "/queuemon"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out = dir_.File("stdout"), err = dir_.File("stderr");
    pid_ = fork();
    if (pid_ == 0) {
      int in = open("/dev/null", O_RDONLY);
      dup2(in, 0);
      dup2(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
      dup2(open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      std::vector<char*> c_args;
      for (auto& a : argv) c_args.push_back(a.data());
      c_args.push_back(nullptr);
      execv(c_args[0], c_args.data());
      _exit(127);
    }
  }

  ~Queuemon() {
    if (exit_code_ >= 0 || pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  std::string Out() const { return ReadFile(dir_.File("stdout")); }
  std::string Err() const { return ReadFile(dir_.File("stderr")); }

  // Waits for "listening on ADDRESS"; returns the port, 0 if it never came.
  int WaitListening(milliseconds deadline = milliseconds(5000)) {
    const std::string needle = "listening on ";
    std::string err;
    if (!WaitFor(
            [&] {
              err = Err();
              return err.find('\n', err.find(needle)) != std::string::npos &&
                     err.find(needle) != std::string::npos;
            },
            deadline)) {
      return 0;
    }
    size_t end = err.find('\n', err.find(needle));
    size_t colon = err.rfind(':', end);
    return std::atoi(err.c_str() + colon + 1);
  }

  // The exit code, -1 if still running at `deadline`.
  int WaitExit(milliseconds deadline = milliseconds(15000)) {
    if (exit_code_ >= 0) return exit_code_;
    int status = 0;
    if (!WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                 deadline)) {
      return -1;
    }
    exit_code_ =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

  bool Exited() { return WaitExit(milliseconds(0)) >= 0; }
  void Signal(int sig) const { kill(pid_, sig); }

  // The complete lines printed so far, each parsed as JSON.
  std::vector<Json> JsonLines() const {
    std::vector<Json> out;
    std::istringstream in(Out());
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no '\n' yet: not complete
      out.push_back(Json::parse(line));
    }
    return out;
  }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Sends one datagram to the loopback address of `family`.
void SendUdp(int port, const std::string& datagram, int family = AF_INET) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_storage addr = {};
  socklen_t len;
  if (family == AF_INET6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_loopback;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*a6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(*a4);
  }
  ssize_t n = sendto(fd, datagram.data(), datagram.size(), 0,
                     reinterpret_cast<sockaddr*>(&addr), len);
  close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(datagram.size()));
}

// The one entry of `array` whose fields match `keys`; null if none or
// several.
Json Find(const Json& array, const Json& keys) {
  Json found;
  int matches = 0;
  for (const Json& entry : array) {
    bool match = true;
    for (const auto& [key, value] : keys.items()) {
      if (!entry.contains(key) || entry[key] != value) match = false;
    }
    if (match) {
      found = entry;
      ++matches;
    }
  }
  return matches == 1 ? found : Json();
}

// "1:2:...:n", n samples of a packed timer line.
std::string OneTo(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += (i > 1 ? ":" : "") + std::to_string(i);
  return out;
}

constexpr const char* kTags =
    "|#host:h1,id:main,slot:0,site:default,queue:mail";
constexpr const char* kWorkerTags = "|#host:h1,id:main,slot:0";

class QueuemonTest : public ::testing::Test {
 protected:
  // Starts queuemon --json --once on a free loopback port, sends `datagram`
  // once it is listening, and returns the object it printed.
  Json Once(const std::string& datagram, std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--listen", "127.0.0.1:0", "--json", "--once",
                             "--interval", "200ms"});
    Queuemon mon(args);
    int port = mon.WaitListening();
    EXPECT_GT(port, 0) << mon.Err();
    if (port <= 0) return Json();
    SendUdp(port, datagram);
    EXPECT_EQ(mon.WaitExit(), 0) << mon.Err();
    auto lines = mon.JsonLines();
    EXPECT_EQ(lines.size(), 1u) << mon.Out();
    return lines.empty() ? Json() : lines[0];
  }

  // Seconds of the report's interval: rate * Seconds(report) = count.
  static double Seconds(const Json& report) {
    return report["interval_ms"].get<double>() / 1000;
  }
};

TEST_F(QueuemonTest, AggregatesDaemonLinesIntoRows) {
  std::string tags = kTags;
  Json report = Once(
      "qd.jobs.handled:3|c" + tags + "\n" +
      // Sampled: stands for 2; the tags in another order, same row.
      "qd.jobs.handled:1|c|@0.5|#queue:mail,site:default,slot:0,id:main,"
      "host:h1\n" +
      "qd.jobs.failed:1|c" + tags + "\n" +
      // Percentiles come from the samples, the rate does not weigh them.
      "qd.job.duration:" + OneTo(100) + "|ms|@0.5" + tags + "\n" +
      "qd.worker.rss:1048576|g" + kWorkerTags + "\n" + "_e{8,4}:qd.state|busy" +
      kWorkerTags + "\n" +
      "qd.jobs.handled:7|c|#host:h2,id:main,slot:1,site:default,queue:mail\n");
  ASSERT_TRUE(report.is_object());
  EXPECT_GT(report["ts"].get<int64_t>(), 1600000000000);
  EXPECT_GE(report["interval_ms"].get<int64_t>(), 100);
  ASSERT_EQ(report["rows"].size(), 3u) << report.dump(1);
  double secs = Seconds(report);

  Json mail = Find(report["rows"], {{"host", "h1"}, {"queue", "mail"}});
  ASSERT_TRUE(mail.is_object()) << report.dump(1);
  EXPECT_EQ(mail["id"], "main");
  EXPECT_EQ(mail["slot"], "0");
  EXPECT_EQ(mail["site"], "default");
  EXPECT_NEAR(mail["jobs_per_s"].get<double>() * secs, 5, 1e-6);
  EXPECT_NEAR(mail["failures_per_s"].get<double>() * secs, 1, 1e-6);
  EXPECT_EQ(mail["p50_ms"], 50);
  EXPECT_EQ(mail["p99_ms"], 99);
  EXPECT_TRUE(mail["rss"].is_null());
  EXPECT_TRUE(mail["state"].is_null());

  Json worker = Find(report["rows"], {{"host", "h1"}, {"queue", ""}});
  ASSERT_TRUE(worker.is_object()) << report.dump(1);
  EXPECT_EQ(worker["slot"], "0");
  EXPECT_EQ(worker["site"], "");
  EXPECT_EQ(worker["rss"], 1048576);
  EXPECT_EQ(worker["state"], "busy");
  EXPECT_EQ(worker["jobs_per_s"], 0);
  EXPECT_TRUE(worker["p50_ms"].is_null());

  Json other_host = Find(report["rows"], {{"host", "h2"}});
  ASSERT_TRUE(other_host.is_object()) << report.dump(1);
  EXPECT_EQ(other_host["slot"], "1");
  EXPECT_NEAR(other_host["jobs_per_s"].get<double>() * secs, 7, 1e-6);

  EXPECT_TRUE(report["other"].empty()) << report.dump(1);
  EXPECT_EQ(report["bad_lines"], 0);
  EXPECT_TRUE(report["last_error"].is_null());
  EXPECT_EQ(report["datagrams"], 1);
}

TEST_F(QueuemonTest, AggregatesOtherMetrics) {
  Json report = Once(
      "x:1|c\n"
      "x:2|c|@0.25\n"
      "temp:21.5|g|#room:a\n"
      "temp:+1|g|#room:a\n"
      "lat:10:20:30|ms\n"
      "size:4|h|#flag\n"
      "users:alice:bob|s\n"
      "users:alice|s\n"
      "_e{6,4}:deploy|done|#env:prod\n"
      "qd.jobs.retried:2|c|#site:default,queue:mail\n"
      "qd.queue.ready:12|g|#site:default,queue:mail\n");
  ASSERT_TRUE(report.is_object());
  EXPECT_TRUE(report["rows"].empty()) << report.dump(1);
  const Json& other = report["other"];
  ASSERT_EQ(other.size(), 8u) << report.dump(1);
  double secs = Seconds(report);

  Json x = Find(other, {{"name", "x"}});
  EXPECT_EQ(x["type"], "counter");
  EXPECT_EQ(x["tags"], Json::object());
  EXPECT_EQ(x["count"], 9);
  EXPECT_NEAR(x["rate"].get<double>() * secs, 9, 1e-6);
  EXPECT_TRUE(x["value"].is_null());

  Json temp = Find(other, {{"name", "temp"}});
  EXPECT_EQ(temp["type"], "gauge");
  EXPECT_EQ(temp["tags"], (Json{{"room", "a"}}));
  EXPECT_EQ(temp["value"], 22.5);
  EXPECT_TRUE(temp["rate"].is_null());

  Json lat = Find(other, {{"name", "lat"}});
  EXPECT_EQ(lat["type"], "timer");
  EXPECT_EQ(lat["count"], 3);
  EXPECT_EQ(lat["p50"], 20);
  EXPECT_EQ(lat["p99"], 30);

  Json size = Find(other, {{"name", "size"}});
  EXPECT_EQ(size["type"], "histogram");
  EXPECT_EQ(size["tags"], (Json{{"flag", ""}}));
  EXPECT_EQ(size["p50"], 4);

  EXPECT_EQ(Find(other, {{"name", "users"}})["count"], 2);
  Json deploy = Find(other, {{"name", "deploy"}});
  EXPECT_EQ(deploy["type"], "event");
  EXPECT_EQ(deploy["count"], 1);
  // Our own names that have no column in the daemon's table.
  EXPECT_EQ(Find(other, {{"name", "qd.jobs.retried"}})["count"], 2);
  EXPECT_EQ(Find(other, {{"name", "qd.queue.ready"}})["value"], 12);
}

TEST_F(QueuemonTest, CountsBadLinesAndKeepsGoing) {
  Json report = Once("garbage\nok:1|c\na:x1|c\n");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["bad_lines"], 2);
  EXPECT_EQ(report["last_error"], "bad value 'x1' in 'a:x1|c'");
  EXPECT_EQ(Find(report["other"], {{"name", "ok"}})["count"], 1);
}

TEST_F(QueuemonTest, HonoursThePrefix) {
  Json report =
      Once("app.jobs.handled:4|c|#site:s,queue:q\nqd.jobs.handled:1|c\n",
           {"--prefix", "app"});
  ASSERT_TRUE(report.is_object());
  ASSERT_EQ(report["rows"].size(), 1u) << report.dump(1);
  EXPECT_EQ(report["rows"][0]["queue"], "q");
  EXPECT_NEAR(report["rows"][0]["jobs_per_s"].get<double>() * Seconds(report),
              4, 1e-6);
  EXPECT_EQ(Find(report["other"], {{"name", "qd.jobs.handled"}})["count"], 1);
}

TEST_F(QueuemonTest, AggregatesNetcatLines) {
  Queuemon mon(
      {"--listen", "127.0.0.1:0", "--json", "--once", "--interval", "200ms"});
  int port = mon.WaitListening();
  ASSERT_GT(port, 0) << mon.Err();
  std::string nc = "echo \"x:1|c\" | nc -u -w0 127.0.0.1 " +
                   std::to_string(port) + " >/dev/null 2>&1";
  // Sends until queuemon has printed (it exits after the first interval
  // that got something), so the count is however many sends got in.
  auto last = std::chrono::steady_clock::now() - milliseconds(1000);
  ASSERT_TRUE(WaitFor(
      [&] {
        if (mon.Exited()) return true;
        if (std::chrono::steady_clock::now() - last > milliseconds(100)) {
          last = std::chrono::steady_clock::now();
          // Not checked: a send that races queuemon's exit may fail.
          (void)!std::system(nc.c_str());
        }
        return false;
      },
      milliseconds(10000)));
  EXPECT_EQ(mon.WaitExit(), 0) << mon.Err();
  auto lines = mon.JsonLines();
  ASSERT_EQ(lines.size(), 1u) << mon.Out();
  Json x = Find(lines[0]["other"], {{"name", "x"}});
  ASSERT_TRUE(x.is_object()) << lines[0].dump(1);
  EXPECT_EQ(x["type"], "counter");
  double count = x["count"].get<double>();
  EXPECT_GE(count, 1);
  EXPECT_EQ(count, lines[0]["datagrams"].get<double>());
  EXPECT_NEAR(x["rate"].get<double>() * Seconds(lines[0]), count, 1e-6);
  EXPECT_EQ(lines[0]["bad_lines"], 0);
}

// The daemon's own lines, as it really sends them, fill the table: a row
// per queue with the jobs it handled, and the worker's row with its RSS and
// state.
TEST_F(QueuemonTest, AggregatesLinesFromARealDaemon) {
  RedisServer redis;
  Queuemon mon({"--listen", "127.0.0.1:0", "--json", "--interval", "100ms"});
  int port = mon.WaitListening();
  ASSERT_GT(port, 0) << mon.Err();
  Daemon daemon(TestConfig(1, redis.url(), "",
                           "monitor: { udp: 127.0.0.1:" + std::to_string(port) +
                               ", interval: 100ms }\n"));
  ASSERT_TRUE(daemon.WaitForWorkers(1)) << daemon.Log();
  constexpr int kJobs = 20;
  std::vector<std::vector<std::string>> enqueue;
  for (int i = 0; i < kJobs; ++i) {
    enqueue.push_back({"XADD", "qd:{default}:q:noop", "*", "payload", "x"});
  }
  ASSERT_EQ(RedisPipeline(redis.port(), enqueue), enqueue.size());

  // Jobs per row, summed over the intervals printed so far.
  double handled = 0;
  Json queue_row, worker_row, last;
  bool seen_p50 = false;
  ASSERT_TRUE(WaitFor(
      [&] {
        handled = 0;
        for (const Json& report : mon.JsonLines()) {
          last = report;
          for (const Json& row : report["rows"]) {
            if (row["site"] == "default" && row["queue"] == "noop") {
              handled += row["jobs_per_s"].get<double>() * Seconds(report);
              seen_p50 = seen_p50 || !row["p50_ms"].is_null();
              queue_row = row;
            } else if (row["queue"] == "" && row["rss"].is_number()) {
              worker_row = row;
            }
          }
        }
        return handled > kJobs - 0.5 && worker_row.is_object() &&
               worker_row["state"].is_string();
      },
      milliseconds(15000)))
      << "handled " << handled << "; last report: " << last.dump() << "\n"
      << mon.Err();
  EXPECT_NEAR(handled, kJobs, 1e-6);
  EXPECT_TRUE(seen_p50);
  EXPECT_EQ(queue_row["slot"], "0");
  EXPECT_NE(queue_row["host"], "");
  EXPECT_EQ(worker_row["slot"], "0");
  EXPECT_EQ(worker_row["host"], queue_row["host"]);
  EXPECT_EQ(worker_row["id"], queue_row["id"]);
  EXPECT_GT(worker_row["rss"].get<double>(), 1024 * 1024);
  std::set<std::string> states = {"init", "listening", "idle",
                                  "busy", "recycle",   "shutdown"};
  EXPECT_EQ(states.count(worker_row["state"].get<std::string>()), 1u)
      << worker_row.dump();
  EXPECT_EQ(last["bad_lines"], 0) << last.dump();
  mon.Signal(SIGTERM);
  EXPECT_EQ(mon.WaitExit(), 0);
}

TEST_F(QueuemonTest, PrintsOneObjectPerIntervalAndResetsCounters) {
  Queuemon mon({"--listen", "127.0.0.1:0", "--json", "--interval", "100ms"});
  int port = mon.WaitListening();
  ASSERT_GT(port, 0) << mon.Err();
  SendUdp(port, "c:2|c\ng:5|g\n");
  // The interval that got the datagram, then two more.
  auto sent_at = [](const std::vector<Json>& lines) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i]["datagrams"] == 1) return static_cast<int>(i);
    }
    return -1;
  };
  std::vector<Json> lines;
  ASSERT_TRUE(WaitFor(
      [&] {
        lines = mon.JsonLines();
        int at = sent_at(lines);
        return at >= 0 && lines.size() >= static_cast<size_t>(at) + 3;
      },
      milliseconds(10000)))
      << mon.Out();
  mon.Signal(SIGTERM);
  EXPECT_EQ(mon.WaitExit(), 0);

  size_t at = static_cast<size_t>(sent_at(lines));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_GE(lines[i]["ts"], lines[i - 1]["ts"]);
  }
  EXPECT_EQ(Find(lines[at]["other"], {{"name", "c"}})["count"], 2);
  for (size_t i = at + 1; i < at + 3; ++i) {
    EXPECT_EQ(lines[i]["datagrams"], 0);
    EXPECT_GT(lines[i]["interval_ms"], 0);
    EXPECT_EQ(Find(lines[i]["other"], {{"name", "c"}})["count"], 0);
    EXPECT_EQ(Find(lines[i]["other"], {{"name", "c"}})["rate"], 0);
    EXPECT_EQ(Find(lines[i]["other"], {{"name", "g"}})["value"], 5);
  }
}

TEST_F(QueuemonTest, PrintsTablesWithoutJson) {
  Queuemon mon({"--listen", "127.0.0.1:0", "--once", "--interval", "200ms"});
  int port = mon.WaitListening();
  ASSERT_GT(port, 0) << mon.Err();
  SendUdp(port, std::string("qd.jobs.handled:1|c") + kTags + "\n" +
                    "qd.worker.rss:2097152|g" + kWorkerTags + "\n" +
                    "_e{8,4}:qd.state|idle" + kWorkerTags + "\n" +
                    "hits:1|c|#page:home\nbad\n");
  EXPECT_EQ(mon.WaitExit(), 0) << mon.Err();
  std::string out = mon.Out();
  EXPECT_NE(out.find("queuemon 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("bad lines: 1 (last: missing ':' in 'bad')"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("HOST  ID    SLOT  SITE"), std::string::npos) << out;
  EXPECT_NE(out.find("mail"), std::string::npos) << out;
  EXPECT_NE(out.find("2.0MiB"), std::string::npos) << out;
  EXPECT_NE(out.find("idle"), std::string::npos) << out;
  EXPECT_NE(out.find("other metrics"), std::string::npos) << out;
  EXPECT_NE(out.find("page:home"), std::string::npos) << out;
  EXPECT_EQ(out.find("\x1b["), std::string::npos) << "not a terminal";
}

TEST_F(QueuemonTest, ListensOnIpv6Loopback) {
  Queuemon mon(
      {"--listen", "[::1]:0", "--json", "--once", "--interval", "200ms"});
  int port = mon.WaitListening();
  if (port == 0 && mon.WaitExit() == 2) {
    GTEST_SKIP() << "no IPv6 loopback here: " << mon.Err();
  }
  ASSERT_GT(port, 0) << mon.Err();
  EXPECT_NE(mon.Err().find("listening on [::1]:"), std::string::npos)
      << mon.Err();
  SendUdp(port, "v6:1|c", AF_INET6);
  EXPECT_EQ(mon.WaitExit(), 0) << mon.Err();
  auto lines = mon.JsonLines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Find(lines[0]["other"], {{"name", "v6"}})["count"], 1);
}

TEST_F(QueuemonTest, ExitsOneWhenNothingArrives) {
  Queuemon mon({"--listen", "127.0.0.1:0", "--json", "--once", "--interval",
                "100ms", "--timeout", "300ms"});
  EXPECT_EQ(mon.WaitExit(), 1) << mon.Err();
  EXPECT_NE(mon.Err().find("nothing received on 127.0.0.1:"), std::string::npos)
      << mon.Err();
  EXPECT_EQ(mon.Out(), "");
}

TEST_F(QueuemonTest, RefusesABadListenAddress) {
  struct Case {
    std::string listen, message;
  } cases[] = {
      {"nonsense",
       "queuemon: --listen 'nonsense': expected HOST:PORT, e.g. "
       "127.0.0.1:8125 or [::1]:8125\n"},
      {"127.0.0.1:99999",
       "queuemon: --listen '127.0.0.1:99999': port '99999' is not a number "
       "0-65535\n"},
      {"127.0.0.1:",
       "queuemon: --listen '127.0.0.1:': port '' is not a "
       "number 0-65535\n"},
      {"::1:8125",
       "queuemon: --listen '::1:8125': an IPv6 address goes in "
       "brackets, e.g. [::1]:8125\n"},
      {"[::1:8125",
       "queuemon: --listen '[::1:8125': expected HOST:PORT, "
       "e.g. 127.0.0.1:8125 or [::1]:8125\n"},
      {"192.0.2.1:8125",
       "queuemon: --listen '192.0.2.1:8125': cannot "
       "bind: Cannot assign requested address\n"},
  };
  for (const auto& c : cases) {
    Queuemon mon({"--listen", c.listen});
    EXPECT_EQ(mon.WaitExit(), 2) << c.listen;
    EXPECT_EQ(mon.Err(), c.message);
  }
}

TEST_F(QueuemonTest, RefusesABusyPort) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  Queuemon mon({"--listen", listen});
  EXPECT_EQ(mon.WaitExit(), 2);
  EXPECT_EQ(mon.Err(), "queuemon: --listen '" + listen +
                           "': cannot bind: Address already in use\n");
  close(fd);
}

TEST_F(QueuemonTest, RefusesBadDurations) {
  Queuemon zero({"--interval", "0"});
  EXPECT_EQ(zero.WaitExit(), 2);
  EXPECT_NE(zero.Err().find("--interval: '0' must be more than 0"),
            std::string::npos)
      << zero.Err();
  Queuemon bad({"--timeout", "soon"});
  EXPECT_EQ(bad.WaitExit(), 2);
  EXPECT_NE(bad.Err().find("queuemon: --timeout: 'soon' is not a duration"),
            std::string::npos)
      << bad.Err();
}

}  // namespace
}  // namespace qd::test
