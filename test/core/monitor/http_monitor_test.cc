#include "core/monitor/http_monitor.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace qd {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto kDeadline = std::chrono::seconds(5);

struct HttpReply {
  int status = 0;  // 0: no status line (refused, reset, timed out)
  std::string head;
  std::string body;
};

// Waits until `fd` is ready for `events` or `deadline` passes.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p = {fd, events, 0};
  return poll(&p, 1, static_cast<int>(left.count())) == 1;
}

// Sends `request` to 127.0.0.1:`port` and reads until the server closes,
// within kDeadline: a tiny HTTP/1.0 client.
HttpReply Fetch(int port, const std::string& request) {
  auto deadline = Clock::now() + kDeadline;
  HttpReply reply;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      (errno != EINPROGRESS || !WaitFor(fd, POLLOUT, deadline))) {
    close(fd);
    return reply;
  }
  size_t sent = 0;
  while (sent < request.size() && WaitFor(fd, POLLOUT, deadline)) {
    ssize_t n =
        send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse before reading it all
    sent += static_cast<size_t>(n);
  }
  std::string text;
  char buf[4096];
  while (WaitFor(fd, POLLIN, deadline)) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t end = text.find("\r\n\r\n");
  if (text.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::stoi(text.substr(9, 3));
  reply.head = text.substr(0, end + 2);
  reply.body = text.substr(end + 4);
  return reply;
}

// A non-blocking client connected (or connecting) to 127.0.0.1:`port`, or
// -1.
int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      (errno != EINPROGRESS ||
       !WaitFor(fd, POLLOUT, Clock::now() + kDeadline))) {
    close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closes `fd` (end of input or a reset) by `deadline`;
// what it sent before goes to *got.
bool ClosedBy(int fd, Clock::time_point deadline, std::string* got = nullptr) {
  char buf[4096];
  while (WaitFor(fd, POLLIN, deadline)) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return true;
    }
    if (got != nullptr) got->append(buf, static_cast<size_t>(n));
  }
  return false;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

HttpReply Get(int port, const std::string& path) {
  return Fetch(port, "GET " + path + " HTTP/1.0\r\n\r\n");
}

MonitorSnapshot Healthy() {
  MonitorSnapshot s;
  s.pid = 77;
  s.version = "0.1.0";
  s.threads = 1;
  s.workers = {{0, 78, "ready", 1024, 1, 3, 0, "", 0, 0}};
  s.redis_ok = true;
  return s;
}

// An HttpMonitor on 127.0.0.1, port 0, on an event_base that runs in its own
// thread; a byte on a pipe stops the loop.
class HttpMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    ASSERT_NE(base_, nullptr);
    ASSERT_EQ(pipe2(stop_, O_CLOEXEC | O_NONBLOCK), 0);
    stop_event_ = event_new(
        base_, stop_[0], EV_READ,
        [](evutil_socket_t, short, void* base) {
          event_base_loopbreak(static_cast<event_base*>(base));
        },
        base_);
    event_add(stop_event_, nullptr);
    snapshot_ = Healthy();
    Status s = HttpMonitor::Open(
        base_, "127.0.0.1:0", [this] { return Snapshot(); }, &monitor_, -1,
        Limits());
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_GT(monitor_->port(), 0);
    loop_ = std::thread([this] { event_base_dispatch(base_); });
  }

  void TearDown() override {
    if (loop_.joinable()) {
      EXPECT_EQ(write(stop_[1], "x", 1), 1);
      loop_.join();
    }
    monitor_.reset();
    if (stop_event_ != nullptr) event_free(stop_event_);
    if (base_ != nullptr) event_base_free(base_);
    close(stop_[0]);
    close(stop_[1]);
  }

  // The bounds the monitor opens with; a derived fixture shortens them.
  virtual HttpLimits Limits() const { return HttpLimits(); }

  MonitorSnapshot Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshot_;
  }
  void SetSnapshot(MonitorSnapshot s) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_ = std::move(s);
  }
  int port() const { return monitor_->port(); }

  event_base* base_ = nullptr;
  int stop_[2] = {-1, -1};
  event* stop_event_ = nullptr;
  std::unique_ptr<HttpMonitor> monitor_;
  std::thread loop_;
  std::mutex mu_;
  MonitorSnapshot snapshot_;
};

TEST_F(HttpMonitorTest, ServesMetrics) {
  HttpReply r = Get(port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Content-Type: text/plain; version=0.0.4; "
                        "charset=utf-8\r\n"),
            std::string::npos)
      << r.head;
  EXPECT_NE(r.body.find("\nqueuedaemon_workers_configured 1\n"),
            std::string::npos)
      << r.body;
}

TEST_F(HttpMonitorTest, HeadHasNoBody) {
  HttpReply get = Get(port(), "/metrics");
  HttpReply head = Fetch(port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_NE(head.head.find(
                "Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
            std::string::npos)
      << head.head;
}

TEST_F(HttpMonitorTest, HealthzFollowsSnapshot) {
  HttpReply ok = Get(port(), "/healthz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");

  MonitorSnapshot down = Healthy();
  down.redis_ok = false;
  down.redis_error = "Connection refused";
  SetSnapshot(down);
  HttpReply bad = Get(port(), "/healthz");
  EXPECT_EQ(bad.status, 503);
  EXPECT_EQ(bad.body, "redis: Connection refused\n");
}

TEST_F(HttpMonitorTest, StatusIsJson) {
  HttpReply r = Get(port(), "/status?verbose=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Content-Type: application/json\r\n"),
            std::string::npos)
      << r.head;
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j["pid"], 77);
  EXPECT_EQ(j["workers"][0]["pid"], 78);
}

TEST_F(HttpMonitorTest, StatusReplacesInvalidUtf8) {
  MonitorSnapshot s = Healthy();
  s.host = "bad\xff";
  SetSnapshot(s);
  HttpReply r = Get(port(), "/status");
  EXPECT_EQ(r.status, 200);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
}

TEST_F(HttpMonitorTest, UnknownPathIs404) {
  EXPECT_EQ(Get(port(), "/nope").status, 404);
  EXPECT_EQ(Get(port(), "/assets/nope.js").status, 404);
}

// "/" is the dashboard (ServeDashboard), asked before the other routes.
TEST_F(HttpMonitorTest, ServesTheDashboardAtTheRoot) {
  HttpReply r = Get(port(), "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Content-Type: text/html; charset=utf-8\r\n"),
            std::string::npos)
      << r.head;
  EXPECT_NE(r.head.find("Content-Security-Policy: default-src 'self';"),
            std::string::npos)
      << r.head;
  EXPECT_NE(r.body.find("/assets/app.js?v="), std::string::npos);
}

TEST_F(HttpMonitorTest, OtherMethodsAre405) {
  HttpReply r =
      Fetch(port(), "POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.head.find("Allow: GET, HEAD\r\n"), std::string::npos) << r.head;
  EXPECT_EQ(Fetch(port(), "DELETE /status HTTP/1.0\r\n\r\n").status, 405);
}

TEST_F(HttpMonitorTest, RefusesOversizeHeaders) {
  std::string big(2 * HttpMonitor::kMaxHeadersSize, 'a');
  HttpReply r =
      Fetch(port(), "GET /metrics HTTP/1.0\r\nX-Big: " + big + "\r\n\r\n");
  // evhttp 2.1 answers 400 (later versions 413), or the connection may be
  // reset before the status line arrives.
  EXPECT_TRUE(r.status == 400 || r.status == 413 || r.status == 0)
      << r.status << "\n"
      << r.head << r.body;
  EXPECT_EQ(Get(port(), "/healthz").status, 200);  // still serving
}

TEST_F(HttpMonitorTest, BusyPortIsAClearError) {
  event_base* other = event_base_new();
  std::string where = "127.0.0.1:" + std::to_string(port());
  std::unique_ptr<HttpMonitor> second;
  Status s = HttpMonitor::Open(other, where, Healthy, &second);
  EXPECT_FALSE(s.ok());
  if (!s.ok()) {
    EXPECT_EQ(s.message(), "monitor.http " + where +
                               ": cannot listen: Address already in use");
  }
  EXPECT_EQ(second, nullptr);
  event_base_free(other);
}

TEST_F(HttpMonitorTest, BadAddressIsAClearError) {
  event_base* other = event_base_new();
  std::unique_ptr<HttpMonitor> second;
  Status s = HttpMonitor::Open(other, "nonsense", Healthy, &second);
  EXPECT_FALSE(s.ok());
  if (!s.ok()) {
    EXPECT_EQ(s.message(),
              "monitor.http nonsense: expected host:port such as "
              "127.0.0.1:9187 or [::1]:9187");
  }
  event_base_free(other);
}

TEST_F(HttpMonitorTest, ResolvesNames) {
  event_base* other = event_base_new();
  std::unique_ptr<HttpMonitor> named;
  Status s = HttpMonitor::Open(other, "localhost:0", Healthy, &named);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_GT(named->port(), 0);
  named.reset();
  event_base_free(other);
}

TEST_F(HttpMonitorTest, KeepsAliveAndAnswersPipelinedRequestsInOrder) {
  HttpReply r = Fetch(port(),
                      "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                      "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                      "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("ok\nHTTP/1.1 200 OK\r\n", 0), 0u) << r.body;
  EXPECT_EQ(Count(r.body, "HTTP/1.1 404 Not Found\r\n"), 1u) << r.body;
  EXPECT_EQ(Count(r.body, "Connection: close\r\n"), 1u) << r.body;
}

TEST_F(HttpMonitorTest, RefusesALargeBody) {
  HttpReply r =
      Fetch(port(), "POST /status HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" +
                        std::string(5000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Get(port(), "/healthz").status, 200);
}

// A monitor with a cap of kCap connections.
class HttpMonitorCapTest : public HttpMonitorTest {
 protected:
  static constexpr size_t kCap = 4;
  HttpLimits Limits() const override {
    HttpLimits limits;
    limits.max_connections = kCap;
    return limits;
  }
};

// kCap + 10 clients trickle a request that never ends, 1 byte every 300 ms:
// each new one past the cap closes the oldest unfinished one, so the kCap
// newest stay, and a health check (newer still) is answered at once.
TEST_F(HttpMonitorCapTest, HoldsTheCapOfTricklersAndStillServesHealthz) {
  const std::string request =
      "GET /healthz HTTP/1.1\r\nX-Slow: " + std::string(64, 'a');
  std::vector<int> fds;
  for (size_t i = 0; i < kCap + 10; ++i) {
    int fd = Connect(port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(send(fd, request.data(), 1, MSG_NOSIGNAL), 1);
    fds.push_back(fd);
  }
  auto deadline = Clock::now() + std::chrono::seconds(2);
  size_t closed = 0;
  for (size_t i = 0; i < 10; ++i) closed += ClosedBy(fds[i], deadline) ? 1 : 0;
  EXPECT_EQ(closed, 10u) << "the connections past the cap stay open";

  for (size_t round = 1; round <= 6; ++round) {
    // The trickle's pace, not a wait for the server.
    std::this_thread::sleep_for(milliseconds(300));
    for (size_t i = 10; i < fds.size(); ++i) {
      (void)send(fds[i], &request[round], 1, MSG_NOSIGNAL);
    }
    if (round == 3) {
      HttpReply r = Get(port(), "/healthz");
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, "ok\n");
    }
  }
  // The health check took the place of the oldest of them.
  size_t open = 0;
  for (size_t i = 10; i < fds.size(); ++i) {
    open += ClosedBy(fds[i], Clock::now() + milliseconds(100)) ? 0 : 1;
  }
  EXPECT_EQ(open, kCap - 1);
  for (int fd : fds) close(fd);
}

// A monitor that gives a whole request 1 s.
class HttpMonitorDeadlineTest : public HttpMonitorTest {
 protected:
  HttpLimits Limits() const override {
    HttpLimits limits;
    limits.request_deadline = milliseconds(1000);
    return limits;
  }
};

TEST_F(HttpMonitorDeadlineTest, ClosesATricklingRequestAtTheDeadline) {
  const std::string request =
      "GET /healthz HTTP/1.1\r\nX-Slow: " + std::string(100, 'a');
  auto start = Clock::now();
  int fd = Connect(port());
  ASSERT_GE(fd, 0);
  std::string got;
  bool closed = false;
  // One byte every 100 ms, each well inside the idle timeout, for at most
  // 5 s; the wait for the close sets the pace.
  for (size_t i = 0; i < request.size() && !closed &&
                     Clock::now() < start + std::chrono::seconds(5);
       ++i) {
    (void)send(fd, &request[i], 1, MSG_NOSIGNAL);
    closed = ClosedBy(fd, Clock::now() + milliseconds(100), &got);
  }
  auto took = Clock::now() - start;
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(got.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << got;
}

TEST_F(HttpMonitorDeadlineTest, ClosesASilentConnectionAtTheDeadline) {
  auto start = Clock::now();
  int fd = Connect(port());
  ASSERT_GE(fd, 0);
  std::string got;
  EXPECT_TRUE(ClosedBy(fd, start + std::chrono::seconds(5), &got));
  auto took = Clock::now() - start;
  close(fd);
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(got, "");  // nothing was asked, nothing is answered
}

// utime + stime of `pid` in clock ticks, from /proc/PID/stat.
long CpuTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  long utime = 0, stime = 0;
  // After the name: state is field 3, utime 14, stime 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// The monitor in a forked child (its own loop, no threads) whose
// descriptors are used up under a low RLIMIT_NOFILE, until a byte on a pipe
// frees them. Forks: a suite of its own.
TEST(HttpMonitorDeathTest, PausesAcceptsWhileOutOfDescriptors) {
  int listen_fd = -1;
  ASSERT_TRUE(HttpMonitor::Bind("127.0.0.1:0", &listen_fd).ok());
  sockaddr_in addr = {};
  socklen_t len = sizeof(addr);
  getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  std::string log_path = ::testing::TempDir() + "/http_monitor_emfile_" +
                         std::to_string(getpid()) + ".log";
  int ready[2], release[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(release, O_CLOEXEC | O_NONBLOCK), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto logger = spdlog::basic_logger_mt("emfile", log_path, true);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    event_base* base = event_base_new();
    std::unique_ptr<HttpMonitor> monitor;
    if (base == nullptr ||
        !HttpMonitor::Open(base, "127.0.0.1:0", Healthy, &monitor, listen_fd)
             .ok()) {
      _exit(2);
    }
    static std::vector<int> fillers;
    event* freeing = event_new(
        base, release[0], EV_READ,
        [](evutil_socket_t, short, void*) {
          for (int fd : fillers) close(fd);
          fillers.clear();
        },
        nullptr);
    event_add(freeing, nullptr);
    rlimit low = {64, 64};
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) _exit(3);
    for (int fd; (fd = dup(0)) >= 0 && fillers.size() < 64;) {
      fillers.push_back(fd);
    }
    if (errno != EMFILE) _exit(4);
    if (write(ready[1], "r", 1) != 1) _exit(5);
    event_base_dispatch(base);
    _exit(0);
  }
  close(listen_fd);
  close(ready[1]);
  close(release[0]);
  pollfd p = {ready[0], POLLIN, 0};
  char byte = 0;
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the child could not start";

  // A client waits in the backlog: every accept fails with EMFILE.
  int waiting = Connect(port);
  ASSERT_GE(waiting, 0);
  const std::string request = "GET /healthz HTTP/1.0\r\n\r\n";
  ASSERT_EQ(send(waiting, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  long before = CpuTicks(pid);
  auto start = Clock::now();
  // The 2 s window; no reply may come in it.
  EXPECT_FALSE(WaitFor(waiting, POLLIN, start + std::chrono::seconds(2)));
  long after = CpuTicks(pid);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = static_cast<double>(after - before) /
               static_cast<double>(sysconf(_SC_CLK_TCK)) / seconds;
  EXPECT_GE(before, 0);
  EXPECT_LT(cpu, 0.10) << "the child used " << cpu * 100 << "% CPU";

  // Descriptors free: the waiting client and a new one are answered.
  ASSERT_EQ(write(release[1], "x", 1), 1);
  std::string got;
  EXPECT_TRUE(ClosedBy(waiting, Clock::now() + kDeadline, &got));
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  close(waiting);
  EXPECT_EQ(Get(port, "/healthz").status, 200);

  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(ready[0]);
  close(release[1]);
  std::ifstream in(log_path);
  std::string log((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  unlink(log_path.c_str());
  EXPECT_EQ(Count(log, "pausing accepts"), 1u) << log;
  EXPECT_EQ(Count(log, "accepting again"), 1u) << log;
  EXPECT_LT(Count(log, "\n"), 10u) << log;
}

}  // namespace
}  // namespace qd
