// Monitoring end to end: the real daemon sends statsd datagrams to a UDP
// socket in the test and serves /metrics, /healthz and /status.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/stats/statsd_line.h"
#include "daemon_harness.h"

namespace qd::test {
namespace {

std::string PluginDir() {
  return std::string(QD_BINARY_DIR) + "/../test-plugins";
}

// Site `a`, queue `jobs` run by testkit; `monitor` is the monitor section's
// flow map body ("udp: 127.0.0.1:1, interval: 100ms").
std::string MonitorConfig(const std::string& redis_url, int threads,
                          const std::string& monitor) {
  return "daemon:\n  threads: " + std::to_string(threads) +
         "\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
         "redis: " +
         redis_url + "\nplugins: { dir: " + PluginDir() +
         ", load: [testkit] }\n"
         "monitor: { " +
         monitor +
         " }\n"
         "sites:\n  a:\n    queues:\n"
         "      jobs: { handler: testkit, record: RUN_DIR/record.txt, "
         "max_attempts: 1 }\n";
}

void Enqueue(int port, int n, const std::string& payload = "ok") {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) {
    cmds.push_back({"XADD", "qd:{a}:q:jobs", "*", "payload", payload});
  }
  ASSERT_EQ(RedisPipeline(port, cmds), cmds.size());
}

// One received statsd line, with its tags as a map.
struct Seen {
  std::string name;
  StatsdType type;
  double value = 0;  // sum of the values (x 1/rate for counters)
  std::map<std::string, std::string> tags;
  std::string text;  // events
};

// Collects the daemon's statsd lines until `done(all)` or the deadline.
class Collector {
 public:
  explicit Collector(UdpReceiver& udp) : udp_(udp) {}
  bool Until(const std::function<bool(const std::vector<Seen>&)>& done,
             milliseconds deadline) {
    return WaitFor(
        [&] {
          for (const auto& d : udp_.Receive(milliseconds(50))) Add(d);
          return done(seen_);
        },
        deadline);
  }
  double Sum(const std::string& name,
             const std::map<std::string, std::string>& where = {}) const {
    double sum = 0;
    for (const auto& s : seen_) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : where) {
        auto it = s.tags.find(k);
        match = match && it != s.tags.end() && it->second == v;
      }
      if (match) sum += s.value;
    }
    return sum;
  }
  const std::vector<Seen>& seen() const { return seen_; }
  size_t max_datagram() const { return max_datagram_; }
  size_t bad() const { return bad_; }
  std::vector<std::string> lines;

 private:
  void Add(const std::string& datagram) {
    max_datagram_ = std::max(max_datagram_, datagram.size());
    StatsdLine line;
    bad_ += ParseStatsdDatagram(datagram, &line, [&](const StatsdLine& l) {
      Seen s;
      s.name = std::string(l.name);
      s.type = l.type;
      s.text = std::string(l.text);
      for (const auto& v : l.values) {
        s.value += l.type == StatsdType::kCounter ? v.number / l.sample_rate
                                                  : v.number;
      }
      for (const auto& t : l.tags) {
        s.tags[std::string(t.key)] = std::string(t.value);
      }
      seen_.push_back(std::move(s));
    });
    size_t start = 0;
    while (start < datagram.size()) {
      size_t end = datagram.find('\n', start);
      if (end == std::string::npos) end = datagram.size();
      lines.push_back(datagram.substr(start, end - start));
      start = end + 1;
    }
  }
  UdpReceiver& udp_;
  std::vector<Seen> seen_;
  size_t max_datagram_ = 0;
  size_t bad_ = 0;
};

TEST(MonitorTest, StatsdLinesCarryNamesValuesAndTags) {
  RedisServer redis;
  UdpReceiver udp;
  Daemon d(MonitorConfig(
      redis.url(), 2,
      "udp: 127.0.0.1:" + std::to_string(udp.port()) + ", interval: 100ms"));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis.port(), 50);
  Enqueue(redis.port(), 3, "fail");
  Collector c(udp);
  bool all = c.Until(
      [&](const std::vector<Seen>&) {
        return c.Sum("qd.jobs.handled") >= 50 && c.Sum("qd.jobs.dead") >= 3;
      },
      milliseconds(15000));
  ASSERT_TRUE(all) << "handled " << c.Sum("qd.jobs.handled") << "\n" << d.Log();
  EXPECT_EQ(c.Sum("qd.jobs.handled"), 50);
  EXPECT_EQ(c.Sum("qd.jobs.failed"), 3);
  EXPECT_EQ(c.Sum("qd.jobs.dead"), 3);
  EXPECT_EQ(c.bad(), 0u);
  EXPECT_LE(c.max_datagram(), 1432u);
  // Job metrics are tagged with host, id, slot, site and queue.
  std::set<std::string> slots;
  bool timer = false, latency = false, rss = false, ready_gauge = false;
  std::set<std::string> events;
  for (const auto& s : c.seen()) {
    if (s.name == "qd.jobs.handled") {
      EXPECT_EQ(s.tags.at("site"), "a");
      EXPECT_EQ(s.tags.at("queue"), "jobs");
      EXPECT_EQ(s.tags.at("id"), "generic");
      EXPECT_FALSE(s.tags.at("host").empty());
      slots.insert(s.tags.at("slot"));
    }
    timer = timer || (s.name == "qd.job.duration" &&
                      s.type == StatsdType::kTimer && s.value >= 0);
    latency = latency || (s.name == "qd.job.queue_latency" &&
                          s.type == StatsdType::kTimer);
    rss = rss || (s.name == "qd.worker.rss" && s.type == StatsdType::kGauge &&
                  s.value > 1e6 && s.tags.count("slot"));
    ready_gauge =
        ready_gauge || (s.name == "qd.queue.ready" && s.tags.count("queue") &&
                        s.tags.count("slot") == 0);
    if (s.type == StatsdType::kEvent) events.insert(s.text);
  }
  EXPECT_TRUE(timer);
  EXPECT_TRUE(latency);
  EXPECT_TRUE(c.Until(
      [&](const std::vector<Seen>& seen) {
        for (const auto& s : seen) {
          rss = rss || (s.name == "qd.worker.rss" && s.value > 1e6);
          ready_gauge = ready_gauge || s.name == "qd.queue.ready";
          if (s.type == StatsdType::kEvent) events.insert(s.text);
        }
        return rss && ready_gauge && events.count("idle");
      },
      milliseconds(5000)))
      << "rss " << rss << " queue.ready " << ready_gauge;
  EXPECT_TRUE(events.count("listening")) << "events seen: " << events.size();
  EXPECT_FALSE(slots.empty());
}

TEST(MonitorTest, PlainModeFoldsTagsIntoTheName) {
  RedisServer redis;
  UdpReceiver udp;
  Daemon d(MonitorConfig(redis.url(), 1,
                         "udp: 127.0.0.1:" + std::to_string(udp.port()) +
                             ", interval: 100ms, tags: plain, prefix: app"));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), 5);
  Collector c(udp);
  std::string want = "site.a.queue.jobs.jobs.handled";
  double handled = 0;
  ASSERT_TRUE(c.Until(
      [&](const std::vector<Seen>& seen) {
        handled = 0;
        for (const auto& s : seen) {
          if (s.name.size() > want.size() &&
              s.name.compare(s.name.size() - want.size(), want.size(), want) ==
                  0) {
            handled += s.value;
          }
        }
        return handled >= 5;
      },
      milliseconds(10000)))
      << d.Log();
  EXPECT_EQ(handled, 5);
  for (const auto& s : c.seen()) {
    EXPECT_TRUE(s.tags.empty()) << s.name;
    EXPECT_EQ(s.name.rfind("app.", 0), 0u) << s.name;
  }
}

TEST(MonitorTest, ADeadReceiverCostsNothing) {
  RedisServer redis;
  int nobody = FreePort();  // nothing listens there: ICMP port unreachable
  Daemon d(MonitorConfig(
      redis.url(), 2,
      "udp: 127.0.0.1:" + std::to_string(nobody) + ", interval: 50ms"));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis.port(), 2000);
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis.port(), {"XLEN", "qd:{a}:q:jobs"}) == 0;
      },
      milliseconds(20000)))
      << d.Log();
  EXPECT_EQ(ReadRecord(d.dir().File("record.txt"))["ok"], 2000);
  EXPECT_EQ(d.Workers().size(), 2u);
}

TEST(MonitorTest, MetricsPassPromtoolAndStatusListsWorkers) {
  RedisServer redis;
  int port = FreePort();
  Daemon d(
      MonitorConfig(redis.url(), 2, "http: 127.0.0.1:" + std::to_string(port)));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Enqueue(redis.port(), 20);
  std::string body;
  ASSERT_TRUE(WaitFor(
      [&] {
        // Queue depths are sampled every second: wait for a sample taken
        // after the drain.
        return HttpGet(port, "/metrics", &body) == 200 &&
               body.find("queuedaemon_jobs_handled_total 20") !=
                   std::string::npos &&
               body.find(
                   "queuedaemon_queue_ready{site=\"a\",queue=\"jobs\"} "
                   "0") != std::string::npos;
      },
      milliseconds(10000)))
      << body << d.Log();
  std::string file = d.dir().File("metrics.txt");
  d.dir().Write("metrics.txt", body);
  std::string cmd = "promtool check metrics < " + file + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  EXPECT_EQ(pclose(p), 0) << out;

  ASSERT_EQ(HttpGet(port, "/status", &body), 200);
  auto status = nlohmann::json::parse(body);
  EXPECT_EQ(status["pid"], d.pid());
  auto workers = d.Workers();
  ASSERT_EQ(status["workers"].size(), 2u) << body;
  for (const auto& w : status["workers"]) {
    EXPECT_EQ(w["pid"], workers[w["slot"].get<int>()]) << body;
    EXPECT_GT(w["rss"].get<int64_t>(), 0) << body;
  }
}

TEST(MonitorTest, StatusShowsTheRunningJobAndItsAge) {
  RedisServer redis;
  int port = FreePort();
  Daemon d(
      MonitorConfig(redis.url(), 1, "http: 127.0.0.1:" + std::to_string(port)));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  Enqueue(redis.port(), 1, "sleep:3000");
  std::string body;
  nlohmann::json job;
  ASSERT_TRUE(WaitFor(
      [&] {
        if (HttpGet(port, "/status", &body) != 200) return false;
        job = nlohmann::json::parse(body)["workers"][0]["job"];
        return job.is_object() && job["age_ms"].get<int64_t>() >= 200;
      },
      milliseconds(10000)))
      << body;
  EXPECT_NE(job["name"].get<std::string>().find("a/jobs "), std::string::npos)
      << body;
}

TEST(MonitorTest, HealthzTurns503WhenRedisStops) {
  RedisServer redis;
  int port = FreePort();
  Daemon d(
      MonitorConfig(redis.url(), 2, "http: 127.0.0.1:" + std::to_string(port)));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::string body;
  ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/healthz", &body) == 200; },
                      milliseconds(5000)))
      << body;
  redis.Kill();
  ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/healthz", &body) == 503; },
                      milliseconds(10000)))
      << body;
  EXPECT_NE(body.find("redis"), std::string::npos) << body;
  ASSERT_TRUE(redis.Start());
  EXPECT_TRUE(WaitFor([&] { return HttpGet(port, "/healthz", &body) == 200; },
                      milliseconds(15000)))
      << body;
}

TEST(MonitorTest, DaemonHashNamesWorkersAndSites) {
  RedisServer redis;
  Daemon d(MonitorConfig(redis.url(), 2, ""));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::string key = std::string("qd:{qd}:daemon:") + host + ":generic";
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisCommand("127.0.0.1", redis.port(),
                            "HGET " + key + " ready") == "2";
      },
      milliseconds(10000)))
      << d.Log();
  EXPECT_EQ(RedisCommand("127.0.0.1", redis.port(), "HGET " + key + " pid"),
            std::to_string(d.pid()));
  EXPECT_EQ(RedisCommand("127.0.0.1", redis.port(), "HGET " + key + " sites"),
            "a");
  long long ttl = RedisInt(redis.port(), {"PTTL", key});
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 10000);
}

}  // namespace
}  // namespace qd::test
