#include "core/stats/statsd_sink.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/config/config.h"

namespace qd {
namespace {

using Tags = StatsdSink::Tags;

// A UDP socket on loopback (port chosen by the kernel) for a sink to send
// to; bound() is false when the address family is unavailable.
class Receiver {
 public:
  explicit Receiver(int family = AF_INET, int rcvbuf = 1 << 20)
      : family_(family) {
    fd_ = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_storage addr = {};
    socklen_t len = Loopback(family, &addr);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
             getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (bound_) port_ = Port(addr);
  }
  ~Receiver() { Close(); }

  bool bound() const { return bound_; }
  int port() const { return port_; }
  std::string address() const {
    return (family_ == AF_INET6 ? "[::1]:" : "127.0.0.1:") +
           std::to_string(port_);
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // The next datagram; empty when none arrives within `timeout_ms`.
  std::string Receive(int timeout_ms = 5000) {
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return "";
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : "";
  }

 private:
  static socklen_t Loopback(int family, sockaddr_storage* addr) {
    if (family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(addr);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_loopback;
      return sizeof(*a);
    }
    auto* a = reinterpret_cast<sockaddr_in*>(addr);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(*a);
  }
  static int Port(const sockaddr_storage& addr) {
    if (addr.ss_family == AF_INET6) {
      return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }

  int family_;
  int fd_ = -1;
  bool bound_ = false;
  int port_ = 0;
};

std::vector<std::string> SplitLines(const std::string& datagram) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = datagram.find('\n', start)) != std::string::npos;) {
    lines.push_back(datagram.substr(start, nl - start));
    start = nl + 1;
  }
  lines.push_back(datagram.substr(start));
  return lines;
}

MonitorConfig Config(const std::string& udp, const std::string& tags) {
  MonitorConfig config;
  config.udp = udp;
  config.tags = tags;
  return config;
}

class StatsdSinkTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(receiver_.bound()); }

  // A sink sending to receiver_, with base tags host:h (and `base`).
  std::unique_ptr<StatsdSink> Open(const std::string& mode = "dogstatsd",
                                   Tags base = {{"host", "h"}}) {
    std::unique_ptr<StatsdSink> sink;
    Status s = StatsdSink::Open(Config(receiver_.address(), mode),
                                std::move(base), &sink);
    EXPECT_TRUE(s.ok()) << s.message();
    return sink;
  }

  // Flushes and returns the lines of every datagram sent, in order.
  std::vector<std::string> FlushAndReceive(StatsdSink& sink) {
    int datagrams = sink.Flush();
    std::vector<std::string> lines;
    for (int i = 0; i < datagrams; ++i) {
      std::string datagram = receiver_.Receive();
      EXPECT_FALSE(datagram.empty()) << "datagram " << i << " of " << datagrams;
      EXPECT_LE(datagram.size(), StatsdSink::kMaxDatagram);
      for (std::string& line : SplitLines(datagram)) lines.push_back(line);
    }
    return lines;
  }

  Receiver receiver_;
};

TEST_F(StatsdSinkTest, DogstatsdLinesCarryBaseTagsThenSeriesTags) {
  auto sink =
      Open("dogstatsd", {{"host", "web 1"}, {"id", "main"}, {"slot", "2"}});
  ASSERT_TRUE(sink->enabled());
  sink->Count("jobs.done", {{"site", "alpha"}, {"queue", "mail|x:y"}}, 3);
  sink->Gauge("queue.depth", {{"site", "alpha"}}, 2.5);
  sink->Timing("job.ms", {}, 12);
  std::vector<std::string> expected = {
      "qd.jobs.done:3|c|#host:web_1,id:main,slot:2,site:alpha,queue:mail_x_y",
      "qd.queue.depth:2.5|g|#host:web_1,id:main,slot:2,site:alpha",
      "qd.job.ms:12|ms|#host:web_1,id:main,slot:2",
  };
  EXPECT_EQ(sink->PendingLines(), expected);
  EXPECT_EQ(FlushAndReceive(*sink), expected);
  EXPECT_EQ(sink->sent(), 1u);
  EXPECT_EQ(sink->dropped(), 0u);
}

TEST_F(StatsdSinkTest, PlainFoldsEachTagKeyAndValueIntoTheName) {
  auto sink = Open("plain", {{"host", "web1.example.com"}, {"slot", "0"}});
  sink->Count("jobs.done", {{"site", "alpha"}, {"queue", "a b"}}, 1);
  sink->Gauge("workers", {}, 7);
  sink->Timing("job.ms", {{"site", "alpha"}}, 0.25);
  std::vector<std::string> expected = {
      "qd.host.web1_example_com.slot.0.site.alpha.queue.a_b.jobs.done:1|c",
      "qd.host.web1_example_com.slot.0.workers:7|g",
      "qd.host.web1_example_com.slot.0.site.alpha.job.ms:0.25|ms",
  };
  EXPECT_EQ(FlushAndReceive(*sink), expected);
}

TEST_F(StatsdSinkTest, PrefixIsCleanedAndMayBeEmpty) {
  MonitorConfig config = Config(receiver_.address(), "dogstatsd");
  config.prefix = "my app.";
  std::unique_ptr<StatsdSink> sink;
  ASSERT_TRUE(StatsdSink::Open(config, {}, &sink).ok());
  sink->Count("n", {});
  EXPECT_EQ(sink->PendingLines(), std::vector<std::string>{"my_app.n:1|c"});
  config.prefix = "";
  ASSERT_TRUE(StatsdSink::Open(config, {}, &sink).ok());
  sink->Count("n", {});
  EXPECT_EQ(sink->PendingLines(), std::vector<std::string>{"n:1|c"});
}

TEST_F(StatsdSinkTest, CountersAreSummedOverAnInterval) {
  auto sink = Open();
  sink->Count("n", {{"q", "a"}});
  sink->Count("n", {{"q", "a"}}, 2);
  sink->Count("n", {{"q", "a"}}, 5);
  sink->Count("n", {{"q", "b"}});
  sink->Count("zero", {}, 3);
  sink->Count("zero", {}, -3);
  EXPECT_EQ(FlushAndReceive(*sink),
            (std::vector<std::string>{"qd.n:8|c|#host:h,q:a",
                                      "qd.n:1|c|#host:h,q:b"}));
  // The next interval starts from zero and does not resend old sums.
  EXPECT_EQ(sink->Flush(), 0);
  sink->Count("n", {{"q", "a"}});
  EXPECT_EQ(FlushAndReceive(*sink),
            std::vector<std::string>{"qd.n:1|c|#host:h,q:a"});
  EXPECT_EQ(sink->sent(), 2u);
}

TEST_F(StatsdSinkTest, GaugeSendsItsLastValueOnlyInIntervalsThatSetIt) {
  auto sink = Open();
  sink->Gauge("g", {}, 1);
  sink->Gauge("g", {}, 2);
  sink->Gauge("g", {}, 7.5);
  EXPECT_EQ(FlushAndReceive(*sink),
            std::vector<std::string>{"qd.g:7.5|g|#host:h"});
  EXPECT_EQ(sink->Flush(), 0);
  sink->Gauge("g", {}, 4.0);
  EXPECT_EQ(FlushAndReceive(*sink),
            std::vector<std::string>{"qd.g:4|g|#host:h"});
  sink->Gauge("g", {}, 0.1);
  EXPECT_EQ(FlushAndReceive(*sink),
            std::vector<std::string>{"qd.g:0.1|g|#host:h"});
}

// statsd reads "-3|g" as "subtract 3": a negative gauge goes after a reset
// to 0, both in the same datagram.
TEST_F(StatsdSinkTest, NegativeGaugeIsSentAfterAResetToZero) {
  auto sink = Open();
  sink->Gauge("g", {}, -3);
  EXPECT_EQ(sink->Flush(), 1);
  EXPECT_EQ(receiver_.Receive(), "qd.g:0|g|#host:h\nqd.g:-3|g|#host:h");
}

TEST_F(StatsdSinkTest, TimerUpToMaxSamplesSendsEverySampleWithoutRate) {
  auto sink = Open("dogstatsd", {});
  std::multiset<std::string> expected;
  for (size_t i = 0; i < StatsdSink::kMaxSamples; ++i) {
    sink->Timing("t", {}, i * 1.5);
    expected.insert("qd.t:" + fmt::format("{}", i * 1.5) + "|ms");
  }
  std::vector<std::string> lines = FlushAndReceive(*sink);
  EXPECT_EQ(std::multiset<std::string>(lines.begin(), lines.end()), expected);
}

TEST_F(StatsdSinkTest, TimerAboveMaxSamplesSendsAReservoirWithItsRate) {
  auto sink = Open("dogstatsd", {});
  constexpr int kTotal = 5200;
  for (int i = 0; i < kTotal; ++i) sink->Timing("t", {}, i);
  std::vector<std::string> lines = FlushAndReceive(*sink);
  ASSERT_EQ(lines.size(), StatsdSink::kMaxSamples);
  std::set<int> values;
  std::set<std::string> rates;
  for (const std::string& line : lines) {
    size_t colon = line.find(':'), bar = line.find("|ms|@");
    ASSERT_EQ(line.substr(0, colon), "qd.t") << line;
    ASSERT_NE(bar, std::string::npos) << line;
    values.insert(std::stoi(line.substr(colon + 1, bar - colon - 1)));
    rates.insert(line.substr(bar + 5));
  }
  ASSERT_EQ(rates.size(), 1u) << "one rate for the series";
  double rate = std::stod(*rates.begin());
  double expected = double(StatsdSink::kMaxSamples) / kTotal;
  EXPECT_NEAR(rate, expected, expected * 0.0005) << *rates.begin();
  EXPECT_LE(rates.begin()->size(), 8u) << "compact: " << *rates.begin();
  // A statsd server counts kept / rate samples: every one of them.
  EXPECT_NEAR(StatsdSink::kMaxSamples / rate, kTotal, kTotal * 0.001);
  // Distinct samples drawn from the whole interval, not only its start.
  EXPECT_EQ(values.size(), StatsdSink::kMaxSamples);
  EXPECT_GE(*values.begin(), 0);
  EXPECT_LT(*values.rbegin(), kTotal);
  EXPECT_GT(*values.rbegin(), kTotal / 2);

  // The next interval keeps everything again: no rate.
  for (int i = 0; i < 3; ++i) sink->Timing("t", {}, i);
  EXPECT_EQ(FlushAndReceive(*sink),
            (std::vector<std::string>{"qd.t:0|ms", "qd.t:1|ms", "qd.t:2|ms"}));
}

TEST_F(StatsdSinkTest, ManySeriesFillDatagramsWithoutSplittingLines) {
  auto sink = Open("dogstatsd", {{"host", "h"}, {"id", "main"}});
  std::map<std::string, int> expected;  // line -> times received
  for (int i = 0; i < 2000; ++i) {
    Tags tags = {{"site", "alpha"}, {"queue", "q" + std::to_string(i % 7)}};
    sink->Count("series." + std::to_string(i), tags, i + 1);
    expected["qd.series." + std::to_string(i) + ":" + std::to_string(i + 1) +
             "|c|#host:h,id:main,site:alpha,queue:q" + std::to_string(i % 7)] =
        0;
  }
  ASSERT_EQ(sink->PendingLines().size(), 2000u);
  std::vector<std::string> lines = FlushAndReceive(*sink);  // checks sizes
  EXPECT_GT(sink->sent(), 50u);
  EXPECT_EQ(sink->dropped(), 0u);
  for (const std::string& line : lines) {
    auto it = expected.find(line);
    ASSERT_NE(it, expected.end()) << "split or unknown line: " << line;
    ++it->second;
  }
  for (const auto& [line, times] : expected) EXPECT_EQ(times, 1) << line;
}

TEST_F(StatsdSinkTest, LineLongerThanADatagramIsDroppedAlone) {
  auto sink = Open("dogstatsd", {});
  sink->Count(std::string(2000, 'x'), {});
  sink->Count("ok", {});
  EXPECT_EQ(FlushAndReceive(*sink), std::vector<std::string>{"qd.ok:1|c"});
  EXPECT_EQ(sink->dropped(), 1u);
}

TEST_F(StatsdSinkTest, EventsAreDogstatsdEvents) {
  auto sink = Open();
  sink->Event("draining", {{"site", "alpha"}});
  sink->Event("up state", {});
  EXPECT_EQ(
      FlushAndReceive(*sink),
      (std::vector<std::string>{"_e{8,8}:qd.state|draining|#host:h,site:alpha",
                                "_e{8,8}:qd.state|up_state|#host:h"}));
  EXPECT_EQ(sink->Flush(), 0) << "events are sent once";
}

TEST_F(StatsdSinkTest, EventsInPlainModeAreCounters) {
  auto sink = Open("plain");
  sink->Event("draining", {{"site", "alpha"}});
  sink->Event("draining", {{"site", "alpha"}});
  EXPECT_EQ(
      FlushAndReceive(*sink),
      std::vector<std::string>{"qd.host.h.site.alpha.state.draining:2|c"});
}

TEST_F(StatsdSinkTest, EmptyAddressGivesASinkThatDoesNothing) {
  std::unique_ptr<StatsdSink> sink;
  ASSERT_TRUE(
      StatsdSink::Open(Config("", "dogstatsd"), {{"host", "h"}}, &sink).ok());
  ASSERT_NE(sink, nullptr);
  EXPECT_FALSE(sink->enabled());
  sink->Count("n", {});
  sink->Gauge("g", {}, 1);
  sink->Timing("t", {}, 1);
  sink->Event("up", {});
  EXPECT_TRUE(sink->PendingLines().empty());
  EXPECT_EQ(sink->Flush(), 0);
  EXPECT_EQ(sink->sent(), 0u);
  EXPECT_EQ(sink->dropped(), 0u);
}

// UDP reports a dead receiver (ICMP port unreachable) as ECONNREFUSED on a
// later send; that datagram is counted as dropped, nothing more.
TEST_F(StatsdSinkTest, DeadReceiverCountsDrops) {
  std::string address = receiver_.address();
  receiver_.Close();
  std::unique_ptr<StatsdSink> sink;
  ASSERT_TRUE(StatsdSink::Open(Config(address, "dogstatsd"), {}, &sink).ok());
  int written = 0;
  for (int i = 0; i < 10; ++i) {
    sink->Count("n", {});
    written += sink->Flush();
  }
  EXPECT_GE(sink->dropped(), 1u);
  EXPECT_EQ(sink->sent(), static_cast<uint64_t>(written));
  EXPECT_EQ(sink->sent() + sink->dropped(), 10u);
}

// A receiver that never reads: sends never wait. On loopback the kernel
// drops what does not fit in the receiver's buffer without telling the
// sender, so every datagram the socket accepted counts as sent; dropped()
// counts only what the socket itself refused (buffer full, EAGAIN).
TEST_F(StatsdSinkTest, ReceiverThatNeverReadsDoesNotSlowFlushes) {
  Receiver stuck(AF_INET, 1);  // the kernel's minimum buffer
  ASSERT_TRUE(stuck.bound());
  std::unique_ptr<StatsdSink> sink;
  ASSERT_TRUE(
      StatsdSink::Open(Config(stuck.address(), "dogstatsd"), {}, &sink).ok());
  auto start = std::chrono::steady_clock::now();
  uint64_t written = 0;
  for (int flush = 0; flush < 300; ++flush) {
    for (int i = 0; i < 100; ++i)
      sink->Count("series." + std::to_string(i), {});
    written += sink->Flush();
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_GE(sink->sent() + sink->dropped(), 300u * 2);
  EXPECT_EQ(sink->sent(), written);
  // Far more was sent than the stuck receiver can hold.
  int held = 0;
  while (!stuck.Receive(0).empty()) ++held;
  EXPECT_LT(static_cast<uint64_t>(held), sink->sent());
}

TEST_F(StatsdSinkTest, BadAddressIsRefusedNamingMonitorUdp) {
  for (std::string udp :
       {"nocolon", "127.0.0.1:", ":8125", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:statsd", "[::1]8125", "no-such-host.invalid:8125"}) {
    std::unique_ptr<StatsdSink> sink;
    Status s = StatsdSink::Open(Config(udp, "dogstatsd"), {}, &sink);
    ASSERT_FALSE(s.ok()) << udp;
    EXPECT_NE(s.message().find("monitor.udp " + udp + ": "), std::string::npos)
        << s.message();
    EXPECT_EQ(sink, nullptr) << udp;
  }
  std::unique_ptr<StatsdSink> sink;
  Status s = StatsdSink::Open(Config("no-such-host.invalid:8125", "dogstatsd"),
                              {}, &sink);
  EXPECT_NE(s.message().find("cannot resolve no-such-host.invalid"),
            std::string::npos)
      << s.message();
  s = StatsdSink::Open(Config(receiver_.address(), "json"), {}, &sink);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("monitor.tags"), std::string::npos) << s.message();
}

TEST_F(StatsdSinkTest, HostNameIsResolved) {
  std::unique_ptr<StatsdSink> sink;
  std::string udp = "localhost:" + std::to_string(receiver_.port());
  Status s = StatsdSink::Open(Config(udp, "dogstatsd"), {}, &sink);
  ASSERT_TRUE(s.ok()) << s.message();
  sink->Count("n", {});
  EXPECT_EQ(FlushAndReceive(*sink), std::vector<std::string>{"qd.n:1|c"});
}

TEST_F(StatsdSinkTest, Ipv6LoopbackWorks) {
  Receiver v6(AF_INET6);
  if (!v6.bound()) GTEST_SKIP() << "::1 is not available here";
  std::unique_ptr<StatsdSink> sink;
  Status s = StatsdSink::Open(Config(v6.address(), "dogstatsd"), {}, &sink);
  ASSERT_TRUE(s.ok()) << s.message();
  sink->Count("n", {{"site", "alpha"}}, 4);
  EXPECT_EQ(sink->Flush(), 1);
  EXPECT_EQ(v6.Receive(), "qd.n:4|c|#site:alpha");
}

}  // namespace
}  // namespace qd
