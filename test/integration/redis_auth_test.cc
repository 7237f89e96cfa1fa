// Redis AUTH end to end: a redis-server with requirepass (and one with an
// ACL user) and the real daemon logging in on every connection it makes
// (site consumers, the lease keeper, the master's client, the control
// channel), queuectl too. A refused login stops the start with one clear
// line; at run time it is a failed connect, logged once and retried. No
// log line, reply or page ever holds the password.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

// Strings that no log line holds by chance.
constexpr char kPassword[] = "s3cret-Pa55-for-qd";
constexpr char kAdminPassword[] = "adm1n-Pa55-for-qd";

class RedisAuthTest : public QueueTest {
 protected:
  // A password file only its owner may read, in secrets_.
  std::string PasswordFile(const std::string& text) {
    std::string path = secrets_.File("pw" + std::to_string(files_++));
    std::ofstream(path) << text;
    chmod(path.c_str(), 0600);
    return path;
  }
  // `redis` as a map with `credentials` ("password_file: ...").
  static std::string Redis(const RedisServer& redis,
                           const std::string& credentials) {
    return "{ url: '" + redis.url() + "', " + credentials + " }";
  }
  // What the daemon and queuectl printed must not hold `secret`.
  static void ExpectNoSecret(const std::string& text,
                             const std::string& secret = kPassword) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
  }

  TempDir secrets_;
  int files_ = 0;
};

TEST_F(RedisAuthTest, RunsJobsOnARedisWithRequirepass) {
  RedisServer redis({"--requirepass", kPassword}, kPassword);
  int http = FreePort();
  std::string config =
      QueueConfig(Redis(redis, "password_file: " +
                                   PasswordFile(std::string(kPassword) + "\n")),
                  2, ", visibility_timeout: 2s") +
      "monitor: { http: 127.0.0.1:" + std::to_string(http) + " }\n";
  Daemon d(config);
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  // A job longer than a quarter of visibility_timeout: the lease keeper's
  // own connection renews it.
  std::vector<std::string> jobs = Numbered("job", 20);
  jobs.push_back("sleep:1200");
  std::vector<std::vector<std::string>> xadds;
  for (const auto& p : jobs) {
    xadds.push_back({"XADD", "qd:{a}:q:jobs", "*", "payload", p});
  }
  ASSERT_EQ(RedisPipeline(redis.port(), xadds, kPassword), xadds.size());
  auto rec = WaitForAll(d, jobs, milliseconds(15000));
  for (const auto& p : jobs) EXPECT_EQ(rec[p], 1) << p << "\n" << d.Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis.port(), {"XLEN", "qd:{a}:q:jobs"}, kPassword) ==
               0;
      },
      milliseconds(5000)))
      << "acked and deleted";

  // queuectl with the daemon's config: its own connection, the master's
  // hash (status), the control channel (ps) and enqueue.
  CtlResult status = RunQueuectl(d.dir(), {"-c", d.config_path(), "status"});
  EXPECT_EQ(status.code, 0) << status.out << status.err;
  CtlResult ps = RunQueuectl(d.dir(), {"-c", d.config_path(), "ps"});
  EXPECT_EQ(ps.code, 0) << ps.out << ps.err;
  EXPECT_NE(ps.out.find("generic"), std::string::npos) << ps.out;
  CtlResult enqueue = RunQueuectl(
      d.dir(), {"-c", d.config_path(), "enqueue", "a", "jobs", "by-ctl"});
  EXPECT_EQ(enqueue.code, 0) << enqueue.out << enqueue.err;
  EXPECT_EQ(WaitForAll(d, {"by-ctl"}, milliseconds(5000))["by-ctl"], 1);
  CtlResult stats =
      RunQueuectl(d.dir(), {"-c", d.config_path(), "stats", "--json"});
  EXPECT_EQ(stats.code, 0) << stats.out << stats.err;
  std::string page;
  EXPECT_EQ(HttpGet(http, "/status", &page), 200);
  ExpectNoSecret(page);
  EXPECT_TRUE(WaitFor([&] { return HttpGet(http, "/healthz", &page) == 200; },
                      milliseconds(5000)))
      << page;
  EXPECT_EQ(HttpGet(http, "/metrics", &page), 200);
  ExpectNoSecret(page);

  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0);
  std::string log = d.Log();
  ExpectNoSecret(log);
  EXPECT_EQ(log.find("NOAUTH"), std::string::npos) << log;
  EXPECT_EQ(log.find("unavailable"), std::string::npos) << log;
  EXPECT_EQ(log.find("lease keeper"), std::string::npos) << log;
  for (const CtlResult& r : {status, ps, enqueue, stats}) {
    ExpectNoSecret(r.out + r.err);
  }
}

TEST_F(RedisAuthTest, LogsInAsAnAclUserOnEveryConnection) {
  RedisServer redis({"--requirepass", kAdminPassword, "--user", "qd", "on",
                     std::string(">") + kPassword, "~*", "&*", "+@all"},
                    kAdminPassword);
  Daemon d(QueueConfig(Redis(redis, "username: qd, password_env: QD_TEST_PW"),
                       2, ", visibility_timeout: 2s"),
           {}, {std::string("QD_TEST_PW=") + kPassword});
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::vector<std::string> jobs = Numbered("acl", 10);
  jobs.push_back("sleep:1200");
  std::vector<std::vector<std::string>> xadds;
  for (const auto& p : jobs) {
    xadds.push_back({"XADD", "qd:{a}:q:jobs", "*", "payload", p});
  }
  ASSERT_EQ(RedisPipeline(redis.port(), xadds, kAdminPassword), xadds.size());
  auto rec = WaitForAll(d, jobs, milliseconds(15000));
  for (const auto& p : jobs) EXPECT_EQ(rec[p], 1) << p << "\n" << d.Log();
  // Every connection but this one is the daemon's, logged in as qd: two
  // per worker, the master's, the control channel's (and the lease
  // keepers' once they renewed). A lease keeper may be caught between its
  // connect and its AUTH (user=default, cmd=NULL): looked at again until
  // none is.
  std::string list;
  int daemon_clients = 0, others = 0;
  auto count = [&] {
    std::vector<std::string> reply =
        RedisStrings(redis.port(), {"CLIENT", "LIST"}, kAdminPassword);
    list = reply.empty() ? "" : reply[0];
    daemon_clients = others = 0;
    std::istringstream lines(list);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(" cmd=client") != std::string::npos) continue;
      ++(line.find(" user=qd ") != std::string::npos ? daemon_clients : others);
    }
    return others == 0 && daemon_clients >= 6;
  };
  EXPECT_TRUE(WaitFor(count, milliseconds(5000))) << list;
  EXPECT_EQ(others, 0) << list;
  EXPECT_GE(daemon_clients, 6) << list;
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0);
  ExpectNoSecret(d.Log());
}

TEST_F(RedisAuthTest, AWrongPasswordStopsTheStart) {
  RedisServer redis({"--requirepass", kPassword}, kPassword);
  const std::string wrong = "not-the-Pa55-for-qd";
  std::string file = PasswordFile(wrong);
  Daemon d(QueueConfig(Redis(redis, "password_file: " + file), 2));
  EXPECT_EQ(d.WaitExit(), 1) << d.Log();
  std::string log = d.Log();
  std::string where = "redis 127.0.0.1:" + std::to_string(redis.port()) + "/0";
  EXPECT_NE(log.find(where + ": AUTH failed: WRONGPASS"), std::string::npos)
      << log;
  EXPECT_NE(log.find("(password from redis.password_file " + file + ")"),
            std::string::npos)
      << log;
  ExpectNoSecret(log, wrong);
  ExpectNoSecret(log);
  EXPECT_EQ(log.find("workers"), std::string::npos) << "no worker started";

  // queuectl with that config: a run-time error (1), one clear line.
  CtlResult r = RunQueuectl(d.dir(), {"-c", d.config_path(), "stats"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(where + ": AUTH failed: WRONGPASS"), std::string::npos)
      << r.err;
  ExpectNoSecret(r.out + r.err, wrong);
}

TEST_F(RedisAuthTest, NoPasswordForARedisThatWantsOneStopsTheStart) {
  RedisServer redis({"--requirepass", kPassword}, kPassword);
  Daemon d(QueueConfig(redis.url(), 1));
  EXPECT_EQ(d.WaitExit(), 1) << d.Log();
  std::string log = d.Log();
  EXPECT_NE(log.find("redis 127.0.0.1:" + std::to_string(redis.port()) +
                     "/0: PING: NOAUTH"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("no password configured: set password_file or "
                     "password_env"),
            std::string::npos)
      << log;
}

// At run time a refused login is a failed connect: each connection logs it
// once, retries with backoff, and says when it is back.
TEST_F(RedisAuthTest, APasswordChangedUnderTheDaemonIsRetried) {
  RedisServer redis({"--requirepass", kPassword}, kPassword);
  Daemon d(QueueConfig(
      Redis(redis, "password_file: " + PasswordFile(kPassword)), 1));
  ASSERT_TRUE(d.WaitForWorkers(1)) << d.Log();
  ASSERT_TRUE(d.WaitForLog("all 1 workers ready")) << d.Log();
  const std::string other = "an0ther-Pa55-for-qd";
  auto admin = [&](const std::string& pw, std::vector<std::string> cmd) {
    return RedisStrings(redis.port(), cmd, pw);
  };
  ASSERT_EQ(admin(kPassword, {"CONFIG", "SET", "requirepass", other}),
            std::vector<std::string>{"OK"});
  admin(other, {"CLIENT", "KILL", "TYPE", "normal"});
  admin(other, {"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(d.WaitForLog("AUTH failed: WRONGPASS", 1, milliseconds(5000)))
      << d.Log();
  // Wait until every connection has been refused again and again.
  auto refused = [&] {
    std::vector<std::string> info = admin(other, {"INFO", "stats"});
    std::string text = info.empty() ? "" : info[0];
    size_t at = text.find("total_connections_received:");
    return at == std::string::npos ? 0L : std::atol(text.c_str() + at + 27);
  };
  long before = refused();
  ASSERT_TRUE(
      WaitFor([&] { return refused() >= before + 12; }, milliseconds(10000)));
  size_t logged = d.LogCount("AUTH failed: WRONGPASS");
  // Four connections (the worker's reader and writer, the master's, the
  // control channel's): each says it once, however often it retried.
  EXPECT_LE(logged, 4u) << d.Log();
  ASSERT_EQ(admin(other, {"CONFIG", "SET", "requirepass", kPassword}),
            std::vector<std::string>{"OK"});
  EXPECT_TRUE(d.WaitForLog("reconnected to redis", logged, milliseconds(10000)))
      << d.Log();
  ASSERT_EQ(RedisPipeline(redis.port(),
                          {{"XADD", "qd:{a}:q:jobs", "*", "payload", "after"}},
                          kPassword),
            1u);
  EXPECT_EQ(WaitForAll(d, {"after"}, milliseconds(10000))["after"], 1)
      << d.Log();
  d.Signal(SIGTERM);
  EXPECT_EQ(d.WaitExit(), 0);
  ExpectNoSecret(d.Log());
  ExpectNoSecret(d.Log(), other);
}

}  // namespace
}  // namespace qd::test
