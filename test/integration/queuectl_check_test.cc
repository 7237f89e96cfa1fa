// `queuectl check` end to end: the real binary against a real redis-server,
// its one output line parsed as Nagios would (status word, summary,
// performance data), one scenario per exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

struct Perf {
  long long value = -1;
  std::string warn, crit, min;
};

// One run of queuectl check: exit code, output, and the line parsed.
struct Check {
  int code = -1;
  std::string out, err;
  bool one_line = false;  // exactly one line on stdout
  std::string status;     // OK, WARNING, CRITICAL, UNKNOWN
  std::string text;       // between " - " and " | "
  std::map<std::string, Perf> perf;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

// 'label'=value[UOM];[warn];[crit];[min];[max], space-separated.
void ParsePerf(const std::string& text, std::map<std::string, Perf>* out) {
  for (const std::string& item : Split(text, ' ')) {
    if (item.empty()) continue;
    size_t eq = item.rfind('=');
    ASSERT_NE(eq, std::string::npos) << item;
    std::string label = item.substr(0, eq);
    if (label.size() >= 2 && label.front() == '\'' && label.back() == '\'') {
      label = label.substr(1, label.size() - 2);
    }
    std::vector<std::string> f = Split(item.substr(eq + 1), ';');
    f.resize(5);
    Perf p;
    p.value = std::atoll(f[0].c_str());
    p.warn = f[1];
    p.crit = f[2];
    p.min = f[3];
    (*out)[label] = p;
  }
}

void ParseLine(Check* c) {
  c->one_line = !c->out.empty() && c->out.find('\n') == c->out.size() - 1;
  std::string line = c->out.substr(0, c->out.find('\n'));
  const std::string head = "QUEUEDAEMON ";
  size_t dash = line.find(" - ");
  if (line.rfind(head, 0) != 0 || dash == std::string::npos) return;
  c->status = line.substr(head.size(), dash - head.size());
  size_t bar = line.find(" | ");
  c->text = line.substr(
      dash + 3, bar == std::string::npos ? std::string::npos : bar - dash - 3);
  if (bar != std::string::npos) ParsePerf(line.substr(bar + 3), &c->perf);
}

class QueuectlCheckTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_.Write("qd.yaml", CtlConfig(redis_.url())); }

  // Runs queuectl [-c qd.yaml] ARGS in the temp dir.
  Check Ctl(const std::vector<std::string>& args, bool with_config = true) {
    std::vector<std::string> all;
    if (with_config) all = {"-c", "qd.yaml"};
    all.insert(all.end(), args.begin(), args.end());
    CtlResult r = RunQueuectl(dir_, all);
    Check c;
    c.code = r.code;
    c.out = r.out;
    c.err = r.err;
    ParseLine(&c);
    return c;
  }
  Check Run(std::vector<std::string> args) {
    args.insert(args.begin(), "check");
    return Ctl(args);
  }
  std::string Redis(const std::string& command) {
    return RedisCommand("127.0.0.1", redis_.port(), command);
  }
  // A daemon hash as a live daemon publishes it (10 s TTL).
  void PublishDaemon(const std::string& host, const std::string& id,
                     int ready) {
    std::string key = "qd:{qd}:daemon:" + host + ":" + id;
    Redis("HSET " + key + " pid 1 host " + host + " id " + id +
          " threads 4 workers 4 ready " + std::to_string(ready));
    Redis("EXPIRE " + key + " 10");
  }

  RedisServer redis_;
  TempDir dir_;
};

// What a Nagios line must be whatever the state: one line, nothing on
// stderr, a known status word matching the exit code.
void ExpectPluginLine(const Check& c, int code, const std::string& status) {
  EXPECT_EQ(c.code, code) << c.out << c.err;
  EXPECT_TRUE(c.one_line) << c.out;
  EXPECT_EQ(c.status, status) << c.out;
  EXPECT_EQ(c.err, "");
}

TEST_F(QueuectlCheckTest, OkWhenQueuesAreEmptyAndThresholdsNotReached) {
  PublishDaemon("h1", "generic", 2);
  Check c = Run({"--ready-warn", "10", "--ready-crit", "100", "--dead-warn",
                 "1", "--dead-crit", "10"});
  ExpectPluginLine(c, 0, "OK");
  EXPECT_EQ(c.text.rfind("ready 0, dead 0 in 3 queues", 0), 0u) << c.text;
  // Totals always; thresholds on the per-queue values they apply to.
  ASSERT_EQ(c.perf.count("ready"), 1u) << c.out;
  EXPECT_EQ(c.perf["ready"].value, 0);
  EXPECT_EQ(c.perf["ready"].warn, "");
  EXPECT_EQ(c.perf["ready"].min, "0");
  EXPECT_EQ(c.perf["dead"].value, 0);
  EXPECT_EQ(c.perf["workers"].value, 2);
  for (const char* q : {"default_mail", "default_noop", "other_q1"}) {
    ASSERT_EQ(c.perf.count(std::string("ready_") + q), 1u) << c.out;
    EXPECT_EQ(c.perf[std::string("ready_") + q].warn, "10");
    EXPECT_EQ(c.perf[std::string("ready_") + q].crit, "100");
    EXPECT_EQ(c.perf[std::string("dead_") + q].crit, "10");
  }
  EXPECT_EQ(c.perf.size(), 9u) << c.out;

  // No thresholds: the values are only reported.
  Check plain = Run({});
  ExpectPluginLine(plain, 0, "OK");
  EXPECT_EQ(plain.perf["ready_default_mail"].warn, "");
}

TEST_F(QueuectlCheckTest, WarningWhenReadyIsOverWarn) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Ctl({"enqueue", "other", "q1", "job"}).code, 0);  // no daemon
  }
  PublishDaemon("h1", "generic", 2);
  Check c = Run({"--site", "other", "--ready-warn", "2", "--ready-crit", "5"});
  ExpectPluginLine(c, 1, "WARNING");
  EXPECT_EQ(c.text.rfind("ready 3 > 2 (site other queue q1); ", 0), 0u)
      << c.text;
  // One queue in scope: the totals are its numbers and carry the limits.
  EXPECT_EQ(c.perf["ready"].value, 3);
  EXPECT_EQ(c.perf["ready"].warn, "2");
  EXPECT_EQ(c.perf["ready"].crit, "5");
  EXPECT_EQ(c.perf.count("ready_other_q1"), 0u) << c.out;

  // Only the site asked for is counted.
  Check other = Run({"--site", "default", "--ready-warn", "2"});
  ExpectPluginLine(other, 0, "OK");
  EXPECT_EQ(other.perf["ready"].value, 0);
}

TEST_F(QueuectlCheckTest, CriticalWhenDeadIsOverCrit) {
  PublishDaemon("h1", "generic", 2);
  for (int i = 0; i < 12; ++i) {
    Redis("XADD qd:{default}:dead:mail * payload p error boom");
  }
  Check c = Run({"--dead-warn", "1", "--dead-crit", "10"});
  ExpectPluginLine(c, 2, "CRITICAL");
  EXPECT_EQ(c.text.rfind("dead 12 > 10 (site default queue mail); ", 0), 0u)
      << c.text;
  EXPECT_EQ(c.perf["dead"].value, 12);
  EXPECT_EQ(c.perf["dead_default_mail"].value, 12);
  EXPECT_EQ(c.perf["dead_default_mail"].warn, "1");
  EXPECT_EQ(c.perf["dead_default_mail"].crit, "10");
  EXPECT_EQ(c.perf["dead_default_noop"].value, 0);

  // Between warn and crit: WARNING; another queue: OK.
  EXPECT_EQ(Run({"--dead-warn", "11", "--dead-crit", "20"}).code, 1);
  Check noop = Run({"--queue", "noop", "--dead-warn", "1"});
  ExpectPluginLine(noop, 0, "OK");
  EXPECT_EQ(noop.text.rfind("ready 0, dead 0 in 1 queue;", 0), 0u) << noop.text;
}

TEST_F(QueuectlCheckTest, CriticalWhenWorkersAreBelowMin) {
  Check none = Run({"--workers-min", "1"});
  ExpectPluginLine(none, 2, "CRITICAL");
  EXPECT_EQ(none.text.rfind("no live daemon", 0), 0u) << none.text;

  PublishDaemon("h1", "generic", 1);
  PublishDaemon("h2", "other", 2);
  Redis("SET qd:unrelated x");
  Check low = Run({"--workers-min", "4"});
  ExpectPluginLine(low, 2, "CRITICAL");
  EXPECT_EQ(low.text.rfind("workers 3 < 4", 0), 0u) << low.text;
  EXPECT_EQ(low.perf["workers"].value, 3);
  EXPECT_EQ(low.perf["workers"].crit, "4:");

  Check enough = Run({"--workers-min", "3"});
  ExpectPluginLine(enough, 0, "OK");
  EXPECT_EQ(enough.perf["workers"].value, 3);

  // -i and --host keep only the matching daemons.
  Check by_id = Ctl({"-i", "other", "check", "--workers-min", "3"});
  ExpectPluginLine(by_id, 2, "CRITICAL");
  EXPECT_EQ(by_id.perf["workers"].value, 2);
  Check by_host = Run({"--host", "h1", "--workers-min", "1"});
  ExpectPluginLine(by_host, 0, "OK");
  EXPECT_EQ(by_host.perf["workers"].value, 1);
  Check both = Run({"--host", "h1", "-i", "generic", "--workers-min", "1"});
  ExpectPluginLine(both, 0, "OK");
  EXPECT_EQ(both.perf["workers"].value, 1);
  Check nowhere = Run({"--host", "h3", "--workers-min", "1"});
  ExpectPluginLine(nowhere, 2, "CRITICAL");
  EXPECT_EQ(nowhere.text.rfind("no live daemon (host h3)", 0), 0u)
      << nowhere.text;
}

// Queues within every threshold but no daemon to serve them: CRITICAL,
// with or without --workers-min; a daemon whose hash expired is gone too.
TEST_F(QueuectlCheckTest, CriticalWhenNoDaemonLivesWithoutWorkersMin) {
  Check none = Run({});
  ExpectPluginLine(none, 2, "CRITICAL");
  EXPECT_EQ(none.text.rfind("no live daemon; ready 0, dead 0 in 3 queues", 0),
            0u)
      << none.text;
  EXPECT_EQ(none.perf["workers"].value, 0);

  PublishDaemon("h1", "generic", 2);
  ExpectPluginLine(Run({}), 0, "OK");
  Redis("DEL qd:{qd}:daemon:h1:generic");
  Check gone = Run({"--ready-warn", "10"});
  ExpectPluginLine(gone, 2, "CRITICAL");
  EXPECT_EQ(gone.text.rfind("no live daemon", 0), 0u) << gone.text;
}

TEST_F(QueuectlCheckTest, UnknownWhenRedisIsDown) {
  redis_.Kill();
  Check c = Run({"--ready-warn", "1"});
  ExpectPluginLine(c, 3, "UNKNOWN");
  EXPECT_NE(c.text.find("127.0.0.1:" + std::to_string(redis_.port())),
            std::string::npos)
      << c.text;
  EXPECT_TRUE(c.perf.empty()) << c.out;
}

TEST_F(QueuectlCheckTest, UnknownForAnUnknownSiteOrQueue) {
  Check site = Run({"--site", "nosuch"});
  ExpectPluginLine(site, 3, "UNKNOWN");
  EXPECT_NE(site.text.find("'nosuch'"), std::string::npos) << site.text;
  Check queue = Run({"--queue", "nosuchq"});
  ExpectPluginLine(queue, 3, "UNKNOWN");
  EXPECT_NE(queue.text.find("'nosuchq'"), std::string::npos) << queue.text;
  Check pair = Run({"--site", "other", "--queue", "mail"});
  ExpectPluginLine(pair, 3, "UNKNOWN");
  EXPECT_NE(pair.text.find("'mail'"), std::string::npos) << pair.text;
}

TEST_F(QueuectlCheckTest, UnknownForBadOptions) {
  const std::vector<std::vector<std::string>> bad = {
      {"--ready-warn", "many"},  // not a number (checked by the command)
      {"--dead-crit", "-1"},     // negative
      {"--no-such-option"},      // CLI11 errors, through the failure hook
      {"--ready-warn"},          // missing value
      {"extra"},                 // unexpected positional
  };
  for (const auto& args : bad) {
    Check c = Run(args);
    ExpectPluginLine(c, 3, "UNKNOWN");
    EXPECT_EQ(c.text.rfind("usage: ", 0), 0u) << c.text;
  }
  EXPECT_EQ(Ctl({"check", "--help"}).code, 0);
  // Other commands keep queuectl's usage exit code and message.
  Check stats = Ctl({"stats", "--no-such-option"});
  EXPECT_EQ(stats.code, 2);
  EXPECT_NE(stats.err.find("--no-such-option"), std::string::npos);
}

TEST_F(QueuectlCheckTest, OkOnceARealDaemonPublishesItsWorkers) {
  Daemon d(TestConfig(2, redis_.url()));
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  Check c;
  auto run = [&] {
    c = Ctl({"-c", d.config_path(), "check", "--workers-min", "2"}, false);
    return c.code == 0;
  };
  EXPECT_TRUE(WaitFor(run, milliseconds(15000))) << c.out << d.Log();
  ExpectPluginLine(c, 0, "OK");
  EXPECT_EQ(c.perf["workers"].value, 2);
  EXPECT_EQ(c.perf["workers"].crit, "2:");
}

}  // namespace
}  // namespace qd::test
