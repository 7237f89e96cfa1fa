// The bounds a listener's master keeps against clients that misbehave
// (docs/listeners.md, "Bounds"): replies a client does not read, a client
// that half-closes, logins that never come or keep failing. Clients here
// are raw sockets, so that a test controls exactly what is read and when.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "listener_fixture.h"

namespace qd::test {
namespace {

// A TCP client of 127.0.0.1:port, non-blocking, from `source` ("" = the
// kernel's choice). `rcvbuf` > 0 shrinks its receive buffer before it
// connects, so that the kernel holds little of what the master writes.
class RawClient {
 public:
  RawClient(int port, int rcvbuf = 0, const std::string& source = "") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    if (!source.empty()) {
      inet_pton(AF_INET, source.c_str(), &addr.sin_addr);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        Close();
        return;
      }
    }
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Close();
      return;
    }
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  int sent() const { return sent_; }
  bool failed() const { return failed_; }

  // Writes copies of `request` while the socket takes them, up to `count`
  // whole ones in all; true when it wrote anything.
  bool Pump(const std::string& request, int count) {
    bool progress = false;
    while (!failed_ && sent_ < count) {
      ssize_t n = send(fd_, request.data() + offset_, request.size() - offset_,
                       MSG_NOSIGNAL);
      if (n <= 0) {
        failed_ = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
        break;
      }
      progress = true;
      offset_ += static_cast<size_t>(n);
      if (offset_ == request.size()) {
        offset_ = 0;
        ++sent_;
      }
    }
    return progress;
  }
  // Pumps until `count` are written, nothing went out for `stall`, or
  // `deadline` passed.
  void PumpUntilStalled(const std::string& request, int count,
                        milliseconds stall, milliseconds deadline) {
    auto end = Clock::now() + deadline;
    auto last = Clock::now();
    while (sent_ < count && !failed_ && Clock::now() < end &&
           Clock::now() - last < stall) {
      if (Pump(request, count)) last = Clock::now();
      pollfd p = {fd_, POLLOUT, 0};
      poll(&p, 1, 20);
    }
  }
  // Everything received within `deadline`; stops early at the peer's close
  // (then *closed is true).
  std::string Read(milliseconds deadline, bool* closed) {
    std::string out;
    *closed = false;
    auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
      pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        *closed = true;
        break;
      }
    }
    return out;
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int sent_ = 0;
  size_t offset_ = 0;  // of the request being written
  bool failed_ = false;
};

// The value of `name`{listener="line"} in /metrics, -1 if not there.
long long ListenerMetric(int http_port, const std::string& name) {
  std::string body;
  if (HttpGet(http_port, "/metrics", &body) != 200) return -1;
  std::string key = name + "{listener=\"line\"} ";
  size_t at = body.find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(body.c_str() + at + key.size());
}

std::string Monitor(int http_port) {
  return "monitor: { http: 127.0.0.1:" + std::to_string(http_port) + " }\n";
}

class ListenerLimitsTest : public ListenerTest {};

// Two clients send 4,000-byte ECHOs and never read. The master stops
// reading them once their replies pass max_output (default 1 MiB), so its
// RSS stays small; without the bound it grew by every reply.
TEST_F(ListenerLimitsTest, ClientsThatNeverReadDoNotGrowTheMaster) {
  constexpr int kRequests = 12000;  // 48 MB of replies each
  int http = FreePort();
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    worker_keepalive: 5s\n",
                                "info", Monitor(http)));
  long rss_before = RssKiB(daemon_->pid());
  const std::string echo = "ECHO " + std::string(4000, 'x') + "\n";
  RawClient a(port_, 4096), b(port_, 4096);
  ASSERT_TRUE(a.connected() && b.connected());
  long most = 0;
  auto start = Clock::now();
  auto end = start + milliseconds(20000);
  auto last = Clock::now();
  while (Clock::now() < end && Clock::now() - last < milliseconds(2000) &&
         (a.sent() < kRequests || b.sent() < kRequests)) {
    bool progress = a.Pump(echo, kRequests);
    progress = b.Pump(echo, kRequests) || progress;
    if (progress) last = Clock::now();
    most = std::max(most, RssKiB(daemon_->pid()));
    pollfd p[2] = {{a.fd(), POLLOUT, 0}, {b.fd(), POLLOUT, 0}};
    poll(p, 2, 20);
  }
  most = std::max(most, RssKiB(daemon_->pid()));
  std::printf(
      "sent %d + %d ECHO 4000 in %ld ms without reading; master RSS %ld KiB "
      "before, at most %ld KiB\n",
      a.sent(), b.sent(), ElapsedMs(start), rss_before, most);
  EXPECT_LT(most, 64 * 1024) << "master RSS in KiB";
  EXPECT_TRUE(a.sent() < kRequests && b.sent() < kRequests)
      << "the master read every request";
  EXPECT_TRUE(WaitFor(
      [&] { return ListenerMetric(http, "listener_output_paused_total") >= 2; },
      milliseconds(5000)))
      << ListenerMetric(http, "listener_output_paused_total");
}

// A client that reads nothing while replies wait is closed after
// output_timeout.
TEST_F(ListenerLimitsTest, ClientThatReadsNothingIsClosedAfterOutputTimeout) {
  int http = FreePort();
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: none\n    max_output: 64KiB\n    output_timeout: 1s\n",
            "info", Monitor(http)));
  const std::string echo = "ECHO " + std::string(4000, 'x') + "\n";
  RawClient c(port_, 4096);
  ASSERT_TRUE(c.connected());
  auto start = Clock::now();
  c.PumpUntilStalled(echo, 5000, milliseconds(500), milliseconds(10000));
  ASSERT_TRUE(daemon_->WaitForLog("no reply written for 1s: closing", 1,
                                  milliseconds(5000)))
      << daemon_->LogTail(20);
  long ms = ElapsedMs(start);
  bool closed = false;
  c.Read(milliseconds(5000), &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitFor(
      [&] { return ListenerMetric(http, "listener_output_closed_total") == 1; },
      milliseconds(5000)));
  std::printf("%d requests sent; closed %ld ms after the first\n", c.sent(),
              ms);
}

// `printf 'LOGIN alice secret\nECHO hi\n' | nc -N`: the client half-closes
// after its requests; it gets every reply, then the master closes.
TEST_F(ListenerLimitsTest, HalfClosedClientGetsItsRepliesThenTheClose) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    accounts:\n"
            "      alice: { password: secret }\n"));
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  const std::string requests = "LOGIN alice secret\nECHO hi\n";
  ASSERT_TRUE(c.Pump(requests, 1));
  ASSERT_EQ(c.sent(), 1);
  c.ShutdownWrite();
  bool closed = false;
  EXPECT_EQ(c.Read(kReply, &closed), "OK\nhi\n") << daemon_->LogTail(20);
  EXPECT_TRUE(closed);
}

// More requests than the queue holds, then EOF: those still buffered in
// the master when EOF came are answered too, in order.
TEST_F(ListenerLimitsTest, HalfClosedClientGetsRepliesBeyondTheQueue) {
  constexpr int kRequests = 100;
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    worker_keepalive: 5s\n"));
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  std::string requests, expected;
  for (int i = 0; i < kRequests; ++i) {
    requests += "ECHO " + std::to_string(i) + "\n";
    expected += std::to_string(i) + "\n";
  }
  c.PumpUntilStalled(requests, 1, milliseconds(2000), kReply);
  ASSERT_EQ(c.sent(), 1);
  c.ShutdownWrite();
  bool closed = false;
  EXPECT_EQ(c.Read(milliseconds(10000), &closed), expected);
  EXPECT_TRUE(closed);
}

// A connection that never logs in is closed at login_timeout; one that
// logged in stays.
TEST_F(ListenerLimitsTest, ConnectionThatNeverLogsInIsClosedAtLoginTimeout) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    login_timeout: 1s\n"
            "    accounts:\n"
            "      alice: { password: secret }\n"));
  LineClient silent = Connect(), alice = Connect();
  auto start = Clock::now();
  ASSERT_NO_FATAL_FAILURE(Login(alice, "alice", "secret"));
  ASSERT_TRUE(silent.Send("LOG"));  // not even a whole request
  EXPECT_TRUE(silent.WaitClosed(milliseconds(5000)));
  long ms = ElapsedMs(start);
  EXPECT_GE(ms, 800) << "closed before login_timeout";
  EXPECT_LT(ms, 3000);
  EXPECT_EQ(alice.Request("ECHO still here", kReply),
            std::optional<std::string>("still here"));
  std::printf("a connection that never logged in closed after %ld ms\n", ms);
}

// "LOGIN alice wrong" from 127.0.0.1, five times in a row: after the first
// failure each login waits its turn (login_delay apart), so the five take
// at least four delays, while 127.0.0.2 logs in at once meanwhile. Twenty
// connections at once from 127.0.0.1 then: those whose turn would come
// after half of login_timeout are refused at once.
TEST_F(ListenerLimitsTest, FailedLoginsSlowTheirAddressOnly) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    login_delay: 500ms\n"
            "    login_timeout: 4s\n"
            "    accounts:\n"
            "      alice: { password: secret }\n"));
  auto guess = [&](const std::string& source) {
    RawClient c(port_, 0, source);
    if (!c.connected() || !c.Pump("LOGIN alice wrong\n", 1)) return false;
    bool closed = false;
    return c.Read(milliseconds(5000), &closed) == "DENIED\n" && closed;
  };
  ASSERT_TRUE(guess("127.0.0.1")) << daemon_->LogTail(10);
  auto start = Clock::now();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(guess("127.0.0.1")) << i;
  long ms = ElapsedMs(start);
  EXPECT_GE(ms, 1900) << "four failed logins after the first";

  auto other = Clock::now();
  RawClient b(port_, 0, "127.0.0.2");
  ASSERT_TRUE(b.connected()) << "cannot bind 127.0.0.2";
  ASSERT_TRUE(b.Pump("LOGIN alice secret\n", 1));
  bool closed = false;
  std::string got;
  ASSERT_TRUE(WaitFor(
      [&] {
        got += b.Read(milliseconds(20), &closed);
        return got == "OK\n";
      },
      kReply));
  long other_ms = ElapsedMs(other);
  EXPECT_LT(other_ms, 400) << "127.0.0.2 was slowed";

  std::vector<std::unique_ptr<RawClient>> burst;
  for (int i = 0; i < 20; ++i) {
    burst.push_back(std::make_unique<RawClient>(port_, 0, "127.0.0.1"));
    ASSERT_TRUE(burst.back()->Pump("LOGIN alice wrong\n", 1));
  }
  int refused = 0;
  for (auto& c : burst) {
    refused +=
        c->Read(milliseconds(500), &closed) == "ERROR too many connections\n";
  }
  EXPECT_GE(refused, 14) << "a 2 s wait holds at most 5 turns of 500 ms";
  std::printf(
      "4 failed logins after the first: %ld ms (login_delay 500ms); "
      "127.0.0.2 logged in after %ld ms; %d of 20 at once refused\n",
      ms, other_ms, refused);
}

// 300 connections over max_connections: each is refused, the log says so
// a few times, not 300.
TEST_F(ListenerLimitsTest, ManyRefusalsLogFewLines) {
  constexpr int kRefusals = 300;
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    max_connections: 1\n"));
  LineClient holder = Connect();
  ASSERT_EQ(holder.Request("ECHO held", kReply),
            std::optional<std::string>("held"));
  int refused = 0;
  for (int i = 0; i < kRefusals; ++i) {
    LineClient c = Connect();
    refused += c.ReadLine(kReply) ==
               std::optional<std::string>("ERROR too many connections");
  }
  EXPECT_EQ(refused, kRefusals);
  size_t lines = daemon_->LogCount("refused a connection");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 20u);
  std::printf("%d refusals, %zu log lines\n", refused, lines);
}

// Under a descriptor limit of 256, 300 idle clients: accept() fails with
// EMFILE. The master pauses accepting instead of spinning (little CPU, a
// few log lines), says at start that max_connections is over the limit,
// and serves a new client once the others have gone.
TEST_F(ListenerLimitsTest, OutOfDescriptorsPausesAcceptingInsteadOfSpinning) {
  constexpr int kClients = 300;
  nofile_ = 256;
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: none\n    max_connections: 1000\n", "info"));
  EXPECT_TRUE(daemon_->WaitForLog("over the descriptor limit 256"))
      << daemon_->LogTail(20);
  std::vector<LineClient> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Connect());  // the kernel completes it (backlog)
    ASSERT_TRUE(clients.back().connected()) << i;
  }
  ASSERT_TRUE(daemon_->WaitForLog("Too many open files", 1, milliseconds(5000)))
      << daemon_->LogTail(20);
  milliseconds cpu_before = CpuTime(daemon_->pid());
  auto start = Clock::now();
  // The window to measure: CPU time is read from /proc, not waited on.
  WaitFor([] { return false; }, milliseconds(2000));
  long window_ms = ElapsedMs(start);
  long cpu_ms =
      static_cast<long>((CpuTime(daemon_->pid()) - cpu_before).count());
  size_t lines = daemon_->LogCount("accept");
  EXPECT_LT(cpu_ms * 10, window_ms) << "master CPU in ms over " << window_ms;
  EXPECT_LE(lines, 5u) << daemon_->LogTail(10);

  clients.clear();  // they all leave
  EXPECT_TRUE(WaitFor(
      [&] {
        LineClient next = Connect();
        return next.Request("ECHO next", milliseconds(500)) ==
               std::optional<std::string>("next");
      },
      milliseconds(10000)))
      << daemon_->LogTail(20);
  EXPECT_TRUE(daemon_->WaitForLog("accepting again after"));
  std::printf(
      "%d clients over 256 descriptors: master CPU %ld ms in %ld ms, %zu log "
      "lines about accept\n",
      kClients, cpu_ms, window_ms, lines);
}

}  // namespace
}  // namespace qd::test
