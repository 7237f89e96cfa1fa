// The HTTP API /api/v1 end to end: the real daemon on a real redis-server,
// asked over HTTP on monitor.http (docs/api.md).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

using nlohmann::json;
constexpr const char* kToken = "s3cret-token-0123456789";

struct Reply {
  int status = -1;  // -1: no answer
  std::string head;
  json body;
};

// One request over HTTP/1.0; `extra` are header lines ("Name: value").
Reply Http(int port, const std::string& method, const std::string& path,
           const std::vector<std::string>& extra = {},
           const std::string& body = "",
           milliseconds deadline = milliseconds(8000)) {
  Reply reply;
  LineClient c = LineClient::Tcp(port, "\r\n");
  if (!c.connected()) return reply;
  std::string text = method + " " + path +
                     " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\n";
  for (const auto& h : extra) text += h + "\r\n";
  if (!body.empty() || method == "POST") {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  c.Send(text + "\r\n" + body);
  if (!c.WaitClosed(deadline)) return reply;
  const std::string& r = c.pending();
  size_t end = r.find("\r\n\r\n");
  if (r.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::atoi(r.c_str() + 9);
  reply.head = r.substr(0, end);
  reply.body = json::parse(r.substr(end + 4), nullptr, false);
  return reply;
}

Reply Post(int port, const std::string& path, const std::string& body = "",
           std::vector<std::string> extra = {}) {
  extra.push_back(std::string("Authorization: Bearer ") + kToken);
  return Http(port, "POST", path, extra, body);
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_dir_.Write("token", std::string(kToken) + "\n");
    chmod(token_dir_.File("token").c_str(), 0600);
    http_ = FreePort();
    Start(true);
  }

  void Start(bool with_token) {
    std::string monitor =
        "monitor: { http: 127.0.0.1:" + std::to_string(http_) +
        (with_token ? ", admin_token_file: " + token_dir_.File("token")
                    : std::string()) +
        " }\n";
    daemon_ = std::make_unique<Daemon>(
        "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
        "  shutdown_timeout: 5s\n"
        "redis: " +
        redis_.url() + "\nplugins: { dir: " + std::string(QD_BINARY_DIR) +
        "/../test-plugins, load: [testkit] }\n" + monitor +
        "sites:\n  a:\n    queues:\n"
        "      jobs: { handler: testkit, record: RUN_DIR/record.txt, "
        "max_attempts: 1 }\n"
        "      idle: { handler: testkit, record: RUN_DIR/record.txt }\n"
        "    periodic:\n"
        "      nightly: { cron: '0 3 * * *', queue: jobs, payload: night }\n");
    ASSERT_TRUE(daemon_->WaitForWorkers(1));
    ASSERT_TRUE(WaitFor(
        [&] { return Http(http_, "GET", "/api/v1/overview").status == 200; },
        milliseconds(5000)));
  }

  std::map<std::string, int> Record() const {
    return ReadRecord(daemon_->dir().File("record.txt"));
  }

  // `n` dead entries in a:idle's dead stream, payloads dead-0.. in order.
  void AddDead(int n) {
    std::vector<std::vector<std::string>> cmds;
    for (int i = 0; i < n; ++i) {
      cmds.push_back({"XADD", "qd:{a}:dead:jobs", "*", "payload",
                      "dead-" + std::to_string(i), "jid",
                      "j" + std::to_string(i), "error", "boom", "failed_at",
                      "1700000000000", "attempts", "3", "origin_queue", "jobs",
                      "origin_id", "1-" + std::to_string(i)});
    }
    ASSERT_EQ(RedisPipeline(redis_.port(), cmds), cmds.size());
  }

  long long DeadLen() {
    return RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:jobs"});
  }

  RedisServer redis_;
  TempDir token_dir_;
  int http_ = 0;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(ApiTest, ReadEndpointsAnswerJson) {
  Reply overview = Http(http_, "GET", "/api/v1/overview");
  ASSERT_EQ(overview.status, 200);
  EXPECT_NE(overview.head.find("Content-Type: application/json"),
            std::string::npos);
  EXPECT_NE(overview.head.find("Cache-Control: no-store"), std::string::npos);
  EXPECT_EQ(overview.body["daemon"]["pid"], daemon_->pid());
  EXPECT_EQ(overview.body["series"]["interval_ms"], 1000);
  EXPECT_TRUE(overview.body["series"]["points"].is_array());

  Reply workers = Http(http_, "GET", "/api/v1/workers");
  ASSERT_EQ(workers.status, 200);
  ASSERT_EQ(workers.body["workers"].size(), 1u);
  EXPECT_GT(workers.body["workers"][0]["pid"].get<int>(), 0);

  Reply sites;
  ASSERT_TRUE(WaitFor(
      [&] {
        sites = Http(http_, "GET", "/api/v1/sites");
        return sites.status == 200 && sites.body["sites"].size() == 1 &&
               sites.body["sites"][0]["queues"][0]["ready"].is_number();
      },
      milliseconds(5000)))
      << sites.body;
  EXPECT_EQ(sites.body["sites"][0]["name"], "a");
  EXPECT_EQ(sites.body["sites"][0]["paused"], false);
  EXPECT_EQ(sites.body["sites"][0]["queues"][1]["handler"], "testkit");

  Reply periodic = Http(http_, "GET", "/api/v1/periodic");
  ASSERT_EQ(periodic.status, 200);
  EXPECT_EQ(periodic.body["periodic"][0]["name"], "nightly");

  EXPECT_EQ(Http(http_, "GET", "/api/v1/listeners").status, 200);

  Reply daemons;
  ASSERT_TRUE(WaitFor(
      [&] {
        daemons = Http(http_, "GET", "/api/v1/daemons");
        return daemons.status == 200 && daemons.body["daemons"].size() == 1;
      },
      milliseconds(5000)));
  EXPECT_EQ(daemons.body["daemons"][0]["self"], true);
  EXPECT_EQ(daemons.body["daemons"][0]["pid"], daemon_->pid());
  EXPECT_EQ(daemons.body["daemons"][0]["workers"].size(), 1u);

  Reply summary = Http(http_, "GET", "/api/v1/summary");
  ASSERT_EQ(summary.status, 200);
  for (const char* part :
       {"overview", "sites", "daemons", "periodic", "listeners"}) {
    EXPECT_TRUE(summary.body.contains(part)) << part;
  }
  EXPECT_EQ(summary.body["daemons"]["daemons"].size(), 1u);

  Reply auth = Http(http_, "GET", "/api/v1/auth");
  EXPECT_EQ(auth.body["actions"], true);
  EXPECT_EQ(Http(http_, "GET", "/api/v1/auth",
                 {std::string("Authorization: Bearer ") + kToken})
                .body["token"],
            "ok");
  EXPECT_EQ(
      Http(http_, "GET", "/api/v1/auth", {"Authorization: Bearer no"}).status,
      401);
}

TEST_F(ApiTest, PagesThroughMoreThanAHundredDeadJobs) {
  AddDead(150);
  Reply first =
      Http(http_, "GET", "/api/v1/sites/a/queues/jobs/dead?count=100");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body["total"], 150);
  ASSERT_EQ(first.body["jobs"].size(), 100u);
  EXPECT_EQ(first.body["jobs"][0]["fields"]["payload"], "dead-149");  // newest
  EXPECT_EQ(first.body["jobs"][0]["error"], "boom");
  EXPECT_EQ(first.body["jobs"][0]["attempts"], 3);
  EXPECT_EQ(first.body["jobs"][0]["failed_at"], 1700000000000LL);
  ASSERT_TRUE(first.body["next"].is_string());
  Reply second = Http(http_, "GET",
                      "/api/v1/sites/a/queues/jobs/dead?count=100&cursor=" +
                          first.body["next"].get<std::string>());
  ASSERT_EQ(second.status, 200);
  ASSERT_EQ(second.body["jobs"].size(), 50u);
  EXPECT_EQ(second.body["jobs"][49]["fields"]["payload"], "dead-0");
  EXPECT_TRUE(second.body["next"].is_null());

  EXPECT_EQ(
      Http(http_, "GET", "/api/v1/sites/a/queues/jobs/dead?count=101").status,
      400);
  EXPECT_EQ(Http(http_, "GET", "/api/v1/sites/a/queues/jobs/dead?cursor=bogus")
                .status,
            400);
}

TEST_F(ApiTest, DeadActionsTakeEffect) {
  AddDead(5);
  Reply page = Http(http_, "GET", "/api/v1/sites/a/queues/jobs/dead");
  ASSERT_EQ(page.body["jobs"].size(), 5u);
  std::string newest = page.body["jobs"][0]["id"];  // dead-4
  std::string next = page.body["jobs"][1]["id"];    // dead-3

  Reply retry =
      Post(http_, "/api/v1/sites/a/queues/jobs/dead/" + newest + "/retry");
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(DeadLen(), 4);
  // Back in its queue, it runs.
  EXPECT_TRUE(
      WaitFor([&] { return Record()["dead-4"] == 1; }, milliseconds(5000)));
  EXPECT_EQ(Post(http_, "/api/v1/sites/a/queues/jobs/dead/" + newest + "/retry")
                .status,
            404);

  EXPECT_EQ(Post(http_, "/api/v1/sites/a/queues/jobs/dead/" + next + "/delete")
                .status,
            200);
  EXPECT_EQ(DeadLen(), 3);
  EXPECT_EQ(Record().count("dead-3"), 0u);

  Reply all = Post(http_, "/api/v1/sites/a/queues/jobs/dead/retry-all");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.body["count"], 3);
  EXPECT_EQ(all.body["more"], false);
  EXPECT_EQ(DeadLen(), 0);
  EXPECT_TRUE(
      WaitFor([&] { return Record()["dead-0"] == 1; }, milliseconds(5000)));

  AddDead(4);
  Reply purge = Post(http_, "/api/v1/sites/a/queues/jobs/dead/purge");
  ASSERT_EQ(purge.status, 200) << purge.body;
  EXPECT_EQ(purge.body["count"], 4);
  EXPECT_EQ(DeadLen(), 0);
}

TEST_F(ApiTest, OtherActionsTakeEffect) {
  // Drain first so that enqueued jobs stay ready to be listed and deleted.
  Reply drain = Post(http_, "/api/v1/sites/a/drain");
  ASSERT_EQ(drain.status, 200) << drain.body;
  EXPECT_EQ(drain.body["daemons"], 1);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Http(http_, "GET", "/api/v1/sites").body["sites"][0]["paused"] ==
               true;
      },
      milliseconds(5000)));
  // The worker's read that was blocked when the drain came ends within a
  // second (BLOCK 1000) and is not sent again: then jobs stay ready.
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisCommand("127.0.0.1", redis_.port(), "CLIENT LIST")
                   .find("flags=b ") == std::string::npos;
      },
      milliseconds(5000)));

  Reply enq = Post(http_, "/api/v1/sites/a/queues/jobs/jobs",
                   R"({"payload": "from-api", "fields": {"k": "v"}})");
  ASSERT_EQ(enq.status, 200) << enq.body;
  std::string id = enq.body["id"];
  Reply unique = Post(http_, "/api/v1/sites/a/queues/jobs/jobs",
                      R"({"payload": "u", "unique_key": "k1"})");
  EXPECT_EQ(unique.status, 200) << unique.body;
  EXPECT_EQ(Post(http_, "/api/v1/sites/a/queues/jobs/jobs",
                 R"({"payload": "u", "unique_key": "k1"})")
                .status,
            409);
  Reply later = Post(http_, "/api/v1/sites/a/queues/jobs/jobs",
                     R"({"payload": "later", "delay_ms": 600000})");
  EXPECT_EQ(later.status, 200) << later.body;
  Reply delayed = Http(http_, "GET", "/api/v1/sites/a/delayed");
  ASSERT_EQ(delayed.status, 200);
  EXPECT_EQ(delayed.body["total"], 1);
  EXPECT_EQ(delayed.body["jobs"][0]["queue"], "jobs");
  // The reply's jid is the member's: a new one, or the body's own.
  EXPECT_EQ(json::parse(delayed.body["jobs"][0]["member"].get<std::string>(),
                        nullptr, false)["jid"],
            later.body["jid"]);
  Reply mine = Post(
      http_, "/api/v1/sites/a/queues/jobs/jobs",
      R"({"payload": "mine", "delay_ms": 600000, "fields": {"jid": "my-jid"}})");
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body["jid"], "my-jid");

  Reply jobs = Http(http_, "GET", "/api/v1/sites/a/queues/jobs/jobs?count=1");
  ASSERT_EQ(jobs.status, 200) << jobs.body;
  ASSERT_EQ(jobs.body["jobs"].size(), 1u);
  EXPECT_EQ(jobs.body["jobs"][0]["id"], id);
  EXPECT_EQ(jobs.body["jobs"][0]["fields"]["k"], "v");
  // The ready jobs' age, from the master's next sample.
  json age;
  EXPECT_TRUE(WaitFor(
      [&] {
        json queues =
            Http(http_, "GET", "/api/v1/sites").body["sites"][0]["queues"];
        for (const json& q : queues) {
          if (q["name"] == "jobs") age = q["oldest_ready_age_ms"];
        }
        return age.is_number();
      },
      milliseconds(5000)))
      << age;
  if (age.is_number()) {
    EXPECT_GE(age.get<int64_t>(), 0);
    EXPECT_LT(age.get<int64_t>(), 60000);
  }
  ASSERT_TRUE(jobs.body["next"].is_string());
  Reply rest = Http(http_, "GET",
                    "/api/v1/sites/a/queues/jobs/jobs?cursor=" +
                        jobs.body["next"].get<std::string>());
  EXPECT_EQ(rest.body["jobs"].size(), 1u);  // the unique one

  EXPECT_EQ(
      Post(http_, "/api/v1/sites/a/queues/jobs/jobs/" + id + "/delete").status,
      200);
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:jobs"}), 1);

  Reply run = Post(http_, "/api/v1/sites/a/periodic/nightly/run");
  ASSERT_EQ(run.status, 200) << run.body;
  // A run by hand leaves the schedule's record alone.
  EXPECT_EQ(RedisInt(redis_.port(), {"HEXISTS", "qd:{a}:periodic", "nightly"}),
            0);

  ASSERT_EQ(Post(http_, "/api/v1/sites/a/resume").status, 200);
  EXPECT_TRUE(
      WaitFor([&] { return Record()["night"] == 1; }, milliseconds(5000)));
}

TEST_F(ApiTest, RefusesWhatItShould) {
  EXPECT_EQ(Http(http_, "GET", "/api/v1/nope").status, 404);
  EXPECT_EQ(Http(http_, "GET", "/api/v1/sites/zz/queues/jobs/dead").status,
            404);
  EXPECT_EQ(Http(http_, "GET", "/api/v1/sites/a/queues/zz/dead").status, 404);
  Reply wrong = Http(http_, "DELETE", "/api/v1/overview");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_NE(wrong.head.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_TRUE(wrong.body["error"].is_string());
  EXPECT_EQ(Http(http_, "POST", "/api/v1/sites/a/drain").status, 401);
  EXPECT_EQ(Http(http_, "POST", "/api/v1/sites/a/drain",
                 {"Authorization: Bearer wrong-token-0123456789"})
                .status,
            401);
  EXPECT_EQ(Post(http_, "/api/v1/sites/a/queues/jobs/jobs", "not json").status,
            400);
  EXPECT_EQ(Post(http_, "/api/v1/sites/a/queues/jobs/jobs",
                 std::string((1 << 20) + 1, 'x'))
                .status,
            413);
  EXPECT_EQ(Post(http_, "/api/v1/sites/a/queues/jobs/dead/bad-id/retry").status,
            404);
  // Cross-site: refused, reads included; the same origin passes.
  EXPECT_EQ(
      Http(http_, "GET", "/api/v1/overview", {"Origin: http://evil.example"})
          .status,
      403);
  EXPECT_EQ(
      Post(http_, "/api/v1/sites/a/drain", "", {"Origin: http://evil.example"})
          .status,
      403);
  EXPECT_EQ(Http(http_, "GET", "/api/v1/overview",
                 {"Origin: http://127.0.0.1:" + std::to_string(http_)})
                .status,
            200);
}

TEST_F(ApiTest, ActionsAreOffWithoutATokenFile) {
  daemon_.reset();
  Start(false);
  Reply r = Post(http_, "/api/v1/sites/a/drain");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body["error"].get<std::string>().find("admin_token_file"),
            std::string::npos);
  EXPECT_EQ(Http(http_, "GET", "/api/v1/auth").body["actions"], false);
}

TEST_F(ApiTest, RedisDownIs503Quickly) {
  redis_.Kill();
  // Once the master's client saw the loss, Redis reads fail at once.
  Reply r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = Http(http_, "GET", "/api/v1/sites/a/queues/jobs/dead");
        return r.status == 503;
      },
      milliseconds(8000)))
      << r.status;
  auto start = std::chrono::steady_clock::now();
  r = Http(http_, "GET", "/api/v1/sites/a/queues/jobs/dead");
  EXPECT_EQ(r.status, 503);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_TRUE(r.body["error"].is_string());
  // What the master holds is still served.
  EXPECT_EQ(Http(http_, "GET", "/api/v1/summary").status, 200);
}

}  // namespace
}  // namespace qd::test
