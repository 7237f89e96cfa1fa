// Periodic jobs end to end (docs/periodic.md) against real redis-servers:
// the script that decides each tick, two daemons sharing a per-second
// entry through a kill -9 of one, the run_once catch-up at start, a reload
// that adds and removes entries, `queuectl periodic`, and the config errors
// of the real binary.
//
// How the jobs are counted: the daemons consume what they enqueue, and a
// consumed job is deleted from its stream. The two-daemon test therefore
// pauses the site (`queuectl drain --site`) on both daemons first: from then
// on nothing is read, so the stream keeps every job enqueued after the
// pause, and consumption before it only ever takes the oldest entries (a
// read takes the first undelivered ones). So the ticks in the stream must
// be consecutive from the first to the last, each once: a tick enqueued
// twice (two daemons racing) or missed (after the kill) shows. The other
// tests count with the hash of recorded ticks, or with jobs a `fail`
// handler sends to the dead stream, fields and all.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config/redis_url.h"
#include "core/queue/periodic_runner.h"
#include "core/redis/redis_conn.h"
#include "core/schedule/cron_ticks.h"
#include "core/util/units.h"
#include "daemon_harness.h"

namespace qd::test {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;

constexpr const char* kHash = "qd:{s}:periodic";
constexpr const char* kStream = "qd:{s}:q:ticks";

std::string PluginDir() {
  return std::string(QD_BINARY_DIR) + "/../test-plugins";
}

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// One stream entry: its fields by name.
using Fields = std::map<std::string, std::string>;

// Every entry of `key`, oldest first (XRANGE read through hiredis).
std::vector<Fields> Entries(int port, const std::string& key) {
  std::unique_ptr<RedisConn> conn;
  RedisUrl url;
  std::vector<Fields> out;
  if (!RedisUrl::Parse("redis://127.0.0.1:" + std::to_string(port), &url)
           .ok() ||
      !RedisConn::Open(url, &conn).ok()) {
    ADD_FAILURE() << "cannot reach redis on port " << port;
    return out;
  }
  ReplyPtr reply;
  if (!conn->Call({"XRANGE", key, "-", "+"}, &reply).ok()) return out;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* fields = reply->element[i]->element[1];
    Fields entry;
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      entry[fields->element[f]->str] =
          std::string(fields->element[f + 1]->str, fields->element[f + 1]->len);
    }
    out.push_back(entry);
  }
  return out;
}

std::string HashValue(int port, const std::string& field) {
  std::vector<std::string> v = RedisStrings(port, {"HGET", kHash, field});
  return v.empty() ? "" : v[0];
}

int64_t NowMs() { return EpochMs(); }

date::sys_seconds Sec(int64_t ms) {
  return date::sys_seconds{seconds{ms / 1000}};
}

CronExpr Cron(const std::string& text) {
  CronError error;
  auto cron = CronExpr::Parse(text, &error);
  EXPECT_TRUE(cron.has_value()) << error.ToString();
  return cron.value_or(CronExpr());
}

const date::time_zone* Utc() {
  const date::time_zone* zone = nullptr;
  EXPECT_TRUE(FindTimeZone("UTC", &zone).ok());
  return zone;
}

// An hourly cron whose tick is half an hour away from now, either way: no
// tick comes due while a test runs, and the last one is 30 minutes old.
std::string FarHourly() {
  int minute = static_cast<int>((NowMs() / 60000 + 30) % 60);
  return "0 " + std::to_string(minute) + " * * * *";
}

// --- The script, called as the runner calls it ---

class PeriodicScriptTest : public ::testing::Test {
 protected:
  PeriodicScriptTest() {
    site_.name = "s";
    site_.prefix = "qd";
    entry_.name = "tick";
    entry_.queue = "ticks";
    entry_.payload = "p";
    EXPECT_TRUE(RedisUrl::Parse(redis_.url(), &url_).ok());
  }

  std::unique_ptr<RedisConn> Connect() {
    std::unique_ptr<RedisConn> conn;
    EXPECT_TRUE(RedisConn::Open(url_, &conn).ok());
    return conn;
  }

  PeriodicRunner::Outcome Call(RedisConn* conn, int64_t tick_ms,
                               bool catch_up = false) {
    std::vector<std::string> command =
        PeriodicRunner::Command(site_, entry_, tick_ms, catch_up, 42);
    ReplyPtr reply;
    (void)conn->Call({command.begin(), command.end()}, &reply);
    return PeriodicRunner::ParseReply(reply.get());
  }

  RedisServer redis_;
  RedisUrl url_;
  SiteConfig site_;
  PeriodicConfig entry_;
};

TEST_F(PeriodicScriptTest, TwoCallersRacingOnEachTickEnqueueItOnce) {
  constexpr int kTicks = 300;
  constexpr int64_t kFirst = 1700000000000;
  std::atomic<int> enqueued{0}, done{0}, other{0};
  auto caller = [&] {
    std::unique_ptr<RedisConn> conn = Connect();
    if (!conn) return;
    for (int i = 0; i < kTicks; ++i) {
      PeriodicRunner::Outcome o = Call(conn.get(), kFirst + i * 1000);
      if (o.kind == PeriodicRunner::Outcome::kEnqueued) {
        ++enqueued;
      } else if (o.kind == PeriodicRunner::Outcome::kDone) {
        ++done;
      } else {
        ++other;
      }
    }
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  EXPECT_EQ(enqueued, kTicks);
  EXPECT_EQ(done, kTicks) << "the second caller of each tick";
  EXPECT_EQ(other, 0);
  std::vector<Fields> jobs = Entries(redis_.port(), kStream);
  ASSERT_EQ(jobs.size(), static_cast<size_t>(kTicks));
  std::set<std::string> jids;
  for (int i = 0; i < kTicks; ++i) {
    std::string tick = std::to_string(kFirst + i * 1000);
    EXPECT_EQ(jobs[i]["jid"], "periodic:tick:" + tick);
    EXPECT_EQ(jobs[i]["scheduled_at"], tick);
    EXPECT_EQ(jobs[i]["payload"], "p");
    EXPECT_EQ(jobs[i]["enqueued_at"], "42");
    jids.insert(jobs[i]["jid"]);
  }
  EXPECT_EQ(jids.size(), static_cast<size_t>(kTicks));
  EXPECT_EQ(HashValue(redis_.port(), "tick"),
            std::to_string(kFirst + (kTicks - 1) * 1000));
}

TEST_F(PeriodicScriptTest, AnOlderTickAfterANewerOneDoesNothing) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(Call(conn.get(), 2000000).kind, PeriodicRunner::Outcome::kEnqueued);
  PeriodicRunner::Outcome o = Call(conn.get(), 1000000);
  EXPECT_EQ(o.kind, PeriodicRunner::Outcome::kDone);
  EXPECT_EQ(o.detail, "2000000");
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kStream}), 1);
  EXPECT_EQ(HashValue(redis_.port(), "tick"), "2000000");
}

TEST_F(PeriodicScriptTest, ACatchUpRunsOnlyForAnEntryThatRanBefore) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(Call(conn.get(), 5000, true).kind, PeriodicRunner::Outcome::kFresh);
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", kStream, kHash}), 0)
      << "nothing written for an entry that never ran";
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"HSET", kHash, "tick", "1000"}}),
            1u);
  EXPECT_EQ(Call(conn.get(), 5000, true).kind,
            PeriodicRunner::Outcome::kEnqueued);
  EXPECT_EQ(Call(conn.get(), 5000, true).kind, PeriodicRunner::Outcome::kDone);
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kStream}), 1);
}

TEST_F(PeriodicScriptTest, AWrongTypedKeyRecordsNothing) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"SET", kStream, "x"}}), 1u);
  PeriodicRunner::Outcome o = Call(conn.get(), 1000);
  EXPECT_EQ(o.kind, PeriodicRunner::Outcome::kError);
  EXPECT_EQ(o.detail, std::string(kStream) + " holds a string, not a stream");
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", kHash}), 0);
  // Fixed: the same tick goes through.
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"DEL", kStream}}), 1u);
  EXPECT_EQ(Call(conn.get(), 1000).kind, PeriodicRunner::Outcome::kEnqueued);
  // The hash itself of another type: nothing written either.
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"DEL", kHash}, {"SET", kHash, "x"}}),
            2u);
  o = Call(conn.get(), 2000);
  EXPECT_EQ(o.kind, PeriodicRunner::Outcome::kError);
  EXPECT_EQ(o.detail, std::string(kHash) + " holds a string, not a hash");
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", kStream}), 1);
}

// --- Daemons ---

// A daemon config with site `s`: queue `ticks` (noop) and queue `dead`
// (testkit; a "fail" payload is dead-lettered with all its fields), and
// the periodic entries given (indented by 6).
std::string SiteYaml(const std::string& redis_url, const std::string& entries,
                     const std::string& daemon_extra = "",
                     const std::string& top_extra = "") {
  return "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
         "  shutdown_timeout: 5s\n  kill_grace: 500ms\n" +
         daemon_extra + "redis: " + redis_url +
         "\nplugins: { dir: " + PluginDir() + ", load: [testkit] }\n" +
         top_extra +
         "sites:\n  s:\n    queues:\n"
         "      ticks: { handler: noop }\n"
         "      dead: { handler: testkit }\n"
         "    periodic:\n" +
         entries;
}

class PeriodicDaemonTest : public ::testing::Test {
 protected:
  RedisServer redis_;
  TempDir dir_;
};

TEST_F(PeriodicDaemonTest, TwoDaemonsEnqueueEveryTickOnceThroughAKill) {
  std::string yaml = SiteYaml(
      redis_.url(), "      tick: { cron: '* * * * * *', queue: ticks }\n");
  Daemon d1(yaml, {"-i", "d1"});
  Daemon d2(yaml, {"-i", "d2"});
  // Both run the entry, so every tick before the kill is raced for.
  for (Daemon* d : {&d1, &d2}) {
    ASSERT_TRUE(d->WaitForWorkers(1, milliseconds(10000))) << d->Log();
    ASSERT_TRUE(d->WaitForLog("site s: periodic tick ('* * * * * *' in UTC"))
        << d->Log();
  }
  // Both answer the drain only once their control channel is up.
  CtlResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunQueuectl(dir_,
                        {"--redis", redis_.url(), "drain", "--site", "s"});
        return r.code == 0 && std::count(r.out.begin(), r.out.end(), '\n') == 2;
      },
      milliseconds(15000)))
      << r.out << r.err << d1.Log();
  auto length = [&] { return RedisInt(redis_.port(), {"XLEN", kStream}); };
  ASSERT_TRUE(WaitFor([&] { return length() >= 4; }, milliseconds(8000)))
      << d1.Log();
  int64_t killed_ms = NowMs();
  EXPECT_EQ(d1.Crash(), 1u);
  long long at_kill = length();
  ASSERT_TRUE(
      WaitFor([&] { return length() >= at_kill + 4; }, milliseconds(8000)))
      << d2.Log();

  std::vector<Fields> jobs = Entries(redis_.port(), kStream);
  std::vector<int64_t> ticks;
  for (Fields& job : jobs) {
    int64_t tick = std::stoll(job["scheduled_at"]);
    EXPECT_EQ(job["jid"], "periodic:tick:" + job["scheduled_at"]);
    EXPECT_EQ(tick % 1000, 0);
    ticks.push_back(tick);
  }
  std::sort(ticks.begin(), ticks.end());
  ASSERT_GE(ticks.size(), 8u);
  for (size_t i = 1; i < ticks.size(); ++i) {
    EXPECT_EQ(ticks[i] - ticks[i - 1], 1000)
        << "ticks " << ticks[i - 1] << " and " << ticks[i]
        << ": 0 is a tick enqueued twice, more is a tick missed";
  }
  EXPECT_LT(ticks.front(), killed_ms - 2000) << "ticks before the kill";
  EXPECT_GT(ticks.back(), killed_ms + 2000) << "ticks after the kill";
}

// Redis killed and started again 3 s later (its AOF keeps what was
// written): the ticks due meanwhile are each enqueued once, in order, when
// it is back, since the outage is shorter than the 10 s grace.
TEST(PeriodicRestartTest, ARedisRestartWithinTheGraceLosesNoTick) {
  RedisServer redis(/*aof=*/true);
  TempDir dir;
  Daemon d(SiteYaml(redis.url(),
                    "      tick: { cron: '* * * * * *', queue: ticks }\n"));
  ASSERT_TRUE(d.WaitForWorkers(1, milliseconds(10000))) << d.Log();
  CtlResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunQueuectl(dir, {"--redis", redis.url(), "drain", "--site", "s"});
        return r.code == 0;
      },
      milliseconds(15000)))
      << r.out << r.err << d.Log();
  auto length = [&] { return RedisInt(redis.port(), {"XLEN", kStream}); };
  ASSERT_TRUE(WaitFor([&] { return length() >= 3; }, milliseconds(8000)))
      << d.Log();
  redis.Kill();
  int64_t killed_ms = NowMs();
  // The outage itself (the scenario, not a wait for anything).
  std::this_thread::sleep_for(seconds(3));
  ASSERT_TRUE(redis.Start());
  auto last_tick = [&] {
    std::string v = HashValue(redis.port(), "tick");
    return v.empty() ? int64_t{0} : std::stoll(v);
  };
  ASSERT_TRUE(WaitFor([&] { return last_tick() >= killed_ms + 6000; },
                      milliseconds(15000)))
      << d.Log();

  std::vector<int64_t> ticks;
  for (Fields& job : Entries(redis.port(), kStream)) {
    ticks.push_back(std::stoll(job["scheduled_at"]));
  }
  std::sort(ticks.begin(), ticks.end());
  ASSERT_GE(ticks.size(), 8u);
  for (size_t i = 1; i < ticks.size(); ++i) {
    EXPECT_EQ(ticks[i] - ticks[i - 1], 1000)
        << "ticks " << ticks[i - 1] << " and " << ticks[i];
  }
  EXPECT_LT(ticks.front(), killed_ms);
  EXPECT_FALSE(Contains(d.Log(), "skipped")) << d.Log();
}

// An hourly entry whose last recorded tick is from yesterday: with
// run_once the start enqueues exactly the latest missed tick; with skip,
// nothing; and an entry that never ran starts fresh.
TEST_F(PeriodicDaemonTest, RunOnceEnqueuesTheLatestMissedTickOnceAtStart) {
  std::string cron = FarHourly();
  int64_t latest_ms = LastAtOrBefore(Cron(cron), Utc(), Sec(NowMs()))
                          .value()
                          .time_since_epoch()
                          .count() *
                      1000;
  std::string yesterday = std::to_string(latest_ms - 86400000);
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"HSET", kHash, "missed", yesterday,
                                           "skipped", yesterday}}),
            1u);
  int http = FreePort();
  std::string entries = "      missed: { cron: '" + cron +
                        "', queue: dead, payload: fail, missed: run_once }\n"
                        "      skipped: { cron: '" +
                        cron +
                        "', queue: dead, payload: fail }\n"
                        "      fresh: { cron: '" +
                        cron +
                        "', queue: dead, payload: fail, missed: run_once }\n";
  Daemon d(
      SiteYaml(redis_.url(), entries, "",
               "monitor: { http: 127.0.0.1:" + std::to_string(http) + " }\n"));
  ASSERT_TRUE(d.WaitForWorkers(1, milliseconds(10000))) << d.Log();
  auto dead = [&] { return Entries(redis_.port(), "qd:{s}:dead:dead"); };
  ASSERT_TRUE(WaitFor([&] { return !dead().empty(); }, milliseconds(10000)))
      << d.Log();
  EXPECT_FALSE(WaitFor([&] { return dead().size() > 1; }, milliseconds(1500)))
      << "one job, not one per missed tick or per entry";
  std::vector<Fields> jobs = dead();
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["jid"], "periodic:missed:" + std::to_string(latest_ms));
  EXPECT_EQ(jobs[0]["scheduled_at"], std::to_string(latest_ms));
  EXPECT_EQ(HashValue(redis_.port(), "missed"), std::to_string(latest_ms));
  EXPECT_EQ(HashValue(redis_.port(), "skipped"), yesterday);
  EXPECT_EQ(HashValue(redis_.port(), "fresh"), "");
  EXPECT_TRUE(
      Contains(d.Log(), "site s: periodic missed: enqueued periodic:missed:" +
                            std::to_string(latest_ms)))
      << d.Log();

  // /status and /metrics show the entries.
  std::string body;
  ASSERT_EQ(HttpGet(http, "/status", &body), 200);
  Json status = Json::parse(body);
  ASSERT_EQ(status["periodic"].size(), 3u) << body;
  for (const Json& p : status["periodic"]) {
    if (p["name"] != "missed") continue;
    EXPECT_EQ(p["last_tick"], latest_ms) << body;
    EXPECT_EQ(p["enqueued"], 1) << body;
    EXPECT_EQ(p["next"], latest_ms + 3600000) << body;
  }
  ASSERT_EQ(HttpGet(http, "/metrics", &body), 200);
  EXPECT_TRUE(Contains(body, "queuedaemon_periodic_entries 3\n")) << body;
  EXPECT_TRUE(Contains(
      body,
      "queuedaemon_periodic_enqueued_total{site=\"s\",entry=\"missed\"} 1\n"))
      << body;
}

TEST_F(PeriodicDaemonTest, AReloadAddsAndRemovesEntries) {
  auto entry = [](const std::string& name) {
    return "      " + name + ": { cron: '* * * * * *', queue: ticks }\n";
  };
  Daemon d(SiteYaml(redis_.url(), entry("a")));
  ASSERT_TRUE(d.WaitForWorkers(1, milliseconds(10000))) << d.Log();
  auto tick = [&](const std::string& name) -> int64_t {
    std::string v = HashValue(redis_.port(), name);
    return v.empty() ? 0 : std::stoll(v);
  };
  // `a` runs: its recorded tick moves on.
  ASSERT_TRUE(WaitFor([&] { return tick("a") > 0; }, milliseconds(5000)))
      << d.Log();
  int64_t first = tick("a");
  ASSERT_TRUE(WaitFor([&] { return tick("a") > first; }, milliseconds(5000)));

  d.WriteConfig(SiteYaml(redis_.url(), entry("b")));
  d.Signal(SIGHUP);
  ASSERT_TRUE(d.WaitForLog("site s: periodic a: removed from the config"))
      << d.Log();
  ASSERT_TRUE(WaitFor([&] { return tick("b") > 0; }, milliseconds(5000)))
      << d.Log();
  // Once b has moved on twice, a stays where it is.
  int64_t a_after = tick("a");
  int64_t b_now = tick("b");
  ASSERT_TRUE(
      WaitFor([&] { return tick("b") >= b_now + 2000; }, milliseconds(6000)))
      << d.Log();
  EXPECT_EQ(tick("a"), a_after) << "a removed entry is not run";
  EXPECT_EQ(d.Workers().size(), 1u);
}

TEST_F(PeriodicDaemonTest, QueuectlListsNextAndLastRuns) {
  std::string cron = FarHourly();
  dir_.Write("qd.yaml",
             "daemon: { run_dir: run }\nredis: " + redis_.url() +
                 "\nsites:\n  s:\n    queues: { ticks: { handler: noop } }\n"
                 "    periodic:\n"
                 "      ran: { cron: '" +
                 cron +
                 "', queue: ticks, timezone: Europe/Paris }\n"
                 "      never: { cron: '" +
                 cron + "', queue: ticks, missed: run_once }\n");
  int64_t last_ms = 1700000000000;
  ASSERT_EQ(RedisPipeline(redis_.port(),
                          {{"HSET", kHash, "ran", std::to_string(last_ms)}}),
            1u);
  const date::time_zone* paris = nullptr;
  ASSERT_TRUE(FindTimeZone("Europe/Paris", &paris).ok());
  date::sys_seconds next = NextAfter(Cron(cron), Utc(), Sec(NowMs())).value();

  CtlResult r = RunQueuectl(dir_, {"-c", "qd.yaml", "periodic"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = r.out.find('\n', at)) != std::string::npos;
       at = nl + 1) {
    lines.push_back(r.out.substr(at, nl - at));
  }
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0].rfind("SITE  ENTRY  CRON", 0), 0u) << r.out;
  // By name: never, then ran.
  EXPECT_TRUE(Contains(lines[1], "s     never  " + cron + "  UTC")) << r.out;
  EXPECT_TRUE(Contains(lines[1], FormatLocal(next, Utc()))) << r.out;
  EXPECT_EQ(lines[1].substr(lines[1].size() - 1), "-") << r.out;
  EXPECT_TRUE(Contains(lines[2], "Europe/Paris  ticks  " +
                                     FormatLocal(next, paris) + "  " +
                                     FormatLocal(Sec(last_ms), paris)))
      << r.out;

  r = RunQueuectl(dir_, {"-c", "qd.yaml", "periodic", "s", "--json"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  Json j = Json::parse(r.out);
  Json ran = j["sites"]["s"]["periodic"]["ran"];
  EXPECT_EQ(ran["cron"], cron);
  EXPECT_EQ(ran["timezone"], "Europe/Paris");
  EXPECT_EQ(ran["queue"], "ticks");
  EXPECT_EQ(ran["missed"], "skip");
  EXPECT_EQ(ran["next_ms"], next.time_since_epoch().count() * 1000);
  EXPECT_EQ(ran["last_ms"], last_ms);
  EXPECT_EQ(ran["last"], FormatLocal(Sec(last_ms), paris));
  Json never = j["sites"]["s"]["periodic"]["never"];
  EXPECT_TRUE(never["last_ms"].is_null()) << r.out;
  EXPECT_EQ(never["missed"], "run_once");

  // Redis down: the entries still show, the last runs as unknown, exit 1.
  redis_.Kill();
  r = RunQueuectl(dir_, {"-c", "qd.yaml", "periodic"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(Contains(r.err, "queuectl: site s: ")) << r.err;
  EXPECT_TRUE(Contains(r.out, FormatLocal(next, paris) + "  ?")) << r.out;
}

TEST_F(PeriodicDaemonTest, ConfigErrorsNameFileLineAndColumn) {
  auto check = [&](const std::string& entry) {
    std::string out;
    int code =
        CheckConfig(dir_, "bad.yaml",
                    SiteYaml(redis_.url(), "      r: " + entry + "\n"), &out);
    EXPECT_EQ(code, 1) << out;
    return out;
  };
  std::string path = dir_.File("bad.yaml");
  // Line 14 holds the entry; the expression starts at column 19.
  EXPECT_TRUE(Contains(check("{ cron: '0 30 25 * * *', queue: ticks }"),
                       path + ":14:24: sites.s.periodic.r.cron: hour 25 out "
                              "of range 0-23"));
  EXPECT_TRUE(Contains(
      check("{ cron: '* * * * *', queue: ticks, timezone: Mars/Olympus }"),
      path + ":14:55: sites.s.periodic.r.timezone: unknown time zone "
             "'Mars/Olympus'"));
  EXPECT_TRUE(Contains(check("{ cron: '* * * * *', queue: tick }"),
                       path + ":14:38: sites.s.periodic.r.queue: unknown "
                              "queue 'tick' of site s (did you mean "
                              "'ticks'?)"));
}

}  // namespace
}  // namespace qd::test
