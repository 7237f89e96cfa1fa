// The dashboard end to end: a real redis-server and queuedaemon, seeded
// with sites, queues and dead jobs, and the page in Debian's Chromium
// (test/browser/dashboard.mjs, playwright-core). The browser side checks
// what the page shows and clicks "Retry" on a dead row with the token typed
// into "Token"; this side checks that the job left the dead stream and ran.
// Skipped when /usr/bin/chromium or node is missing (scripts/setup installs
// both).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace qd::test {
namespace {

using Json = nlohmann::json;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kToken = "dashboard-test-token";
constexpr const char* kXss = "<img src=x onerror=\"window.__xss=1\">";
// Queues of the drained site `held`: enough to see the page keep up.
constexpr int kHeldQueues = 100;
constexpr int kManyDead = 100000;

bool HaveNode() { return std::system("command -v node >/dev/null 2>&1") == 0; }

std::string QueueName(int i) {
  char name[8];
  std::snprintf(name, sizeof(name), "q%03d", i);
  return name;
}

// Site `a`: queue mail (testkit, recorded); site `held`: kHeldQueues
// queues and "q:x", drained by the test so what it enqueues stays ready.
std::string DashboardConfig(const std::string& redis_url, int port,
                            const std::string& token_file) {
  std::string held;
  for (int i = 0; i < kHeldQueues; ++i) {
    held += "      " + QueueName(i) + ": { handler: noop }\n";
  }
  return "daemon:\n  threads: 2\n  run_dir: RUN_DIR/run\n"
         "  shutdown_timeout: 5s\n"
         "redis: " +
         redis_url + "\nplugins: { dir: " + QD_BINARY_DIR +
         "/../test-plugins, load: [testkit] }\n"
         "monitor: { http: 127.0.0.1:" +
         std::to_string(port) + ", admin_token_file: " + token_file +
         " }\n"
         "sites:\n  a:\n    queues:\n"
         "      mail: { handler: testkit, record: RUN_DIR/record.txt, "
         "max_attempts: 1 }\n"
         "  held:\n    queues:\n      \"q:x\": { handler: noop }\n" +
         held;
}

// XADDs a dead entry of a/mail; returns its id.
std::string AddDead(int redis_port, const std::string& payload,
                    const std::string& error) {
  auto reply = RedisStrings(
      redis_port, {"XADD", "qd:{a}:dead:mail", "*", "payload", payload, "error",
                   error, "failed_at", "1700000000000", "attempts", "1",
                   "origin_queue", "mail", "origin_id", "1-0"});
  return reply.empty() ? "" : reply[0];
}

// Runs the browser script; its JSON result, or a skip/failure reason.
struct BrowserRun {
  int code = -1;
  Json result;
  std::string output;
};

BrowserRun RunBrowser(const TempDir& dir, int port, const std::string& out) {
  std::string cmd =
      "cd " + ShellQuote(dir.path()) + " && TMPDIR=" + ShellQuote(dir.path()) +
      " timeout 180 node " +
      ShellQuote(std::string(QD_SOURCE_DIR) + "/test/browser/dashboard.mjs") +
      " --url http://127.0.0.1:" + std::to_string(port) +
      "/ --expect expect.json --out " + ShellQuote(out) + " --profile " +
      ShellQuote(dir.File("profile")) + " >browser.out 2>browser.err";
  int status = std::system(cmd.c_str());
  BrowserRun run;
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.output = ReadFileText(dir.File("browser.out")) +
               ReadFileText(dir.File("browser.err"));
  std::string out_text = ReadFileText(dir.File("browser.out"));
  size_t last = out_text.rfind('{');
  while (last != std::string::npos && last > 0 && out_text[last - 1] != '\n') {
    last = out_text.rfind('{', last - 1);
  }
  if (last != std::string::npos) {
    run.result = Json::parse(out_text.substr(last), nullptr, false);
  }
  return run;
}

TEST(DashboardTest, ShowsQueuesAndRetriesADeadJobInChromium) {
  if (access(kChromium, X_OK) != 0 || !HaveNode()) {
    GTEST_SKIP() << kChromium << " or node is missing: scripts/setup "
                 << "installs them";
  }
  TempDir dir;
  dir.Write("token", std::string(kToken) + "\n");
  ASSERT_EQ(chmod(dir.File("token").c_str(), 0600), 0);
  RedisServer redis;
  int port = FreePort();
  std::string config = DashboardConfig(redis.url(), port, dir.File("token"));
  Daemon d(config);
  ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
  std::string body;
  ASSERT_TRUE(WaitFor([&] { return HttpGet(port, "/healthz", &body) == 200; },
                      milliseconds(10000)))
      << d.Log();

  // held is drained, so its entries stay ready: q001 holds 5, q:x 7.
  CtlResult ctl =
      RunQueuectl(dir, {"--redis", redis.url(), "drain", "--site", "held"});
  ASSERT_EQ(ctl.code, 0) << ctl.out << ctl.err << d.Log();
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < 5; ++i) {
    cmds.push_back({"XADD", "qd:{held}:q:q001", "*", "payload", "wait"});
  }
  for (int i = 0; i < 7; ++i) {
    cmds.push_back({"XADD", "qd:{held}:q:q:x", "*", "payload", "wait"});
  }
  // Jobs that run, for the processed/s chart.
  for (int i = 0; i < 50; ++i) {
    cmds.push_back({"XADD", "qd:{a}:q:mail", "*", "payload", "warm-up"});
  }
  for (int i = 0; i < kManyDead; ++i) {
    cmds.push_back({"XADD", "qd:{held}:dead:q042", "*", "payload",
                    "dead " + std::to_string(i), "error", "exit 1", "failed_at",
                    "1700000000000", "attempts", "1"});
  }
  ASSERT_EQ(RedisPipeline(redis.port(), cmds), cmds.size());
  std::string retry_id = AddDead(redis.port(), "retry-me", "smtp 550");
  std::string xss_id = AddDead(redis.port(), kXss, "<script>x</script>");
  ASSERT_FALSE(retry_id.empty());
  ASSERT_FALSE(xss_id.empty());

  Json expect = {
      {"token", kToken},
      {"queues",
       {{{"site", "a"}, {"queue", "mail"}, {"ready", 0}, {"dead", 2}},
        {{"site", "held"}, {"queue", "q001"}, {"ready", 5}, {"dead", 0}},
        {{"site", "held"}, {"queue", "q:x"}, {"ready", 7}, {"dead", 0}},
        {{"site", "held"},
         {"queue", "q042"},
         {"ready", 0},
         {"dead", kManyDead}}}},
      {"retry", {{"site", "a"}, {"queue", "mail"}, {"id", retry_id}}},
      {"xss", {{"site", "a"}, {"queue", "mail"}, {"id", xss_id}}},
      {"paged", {{"site", "held"}, {"queue", "q042"}}}};
  dir.Write("expect.json", expect.dump());

  std::string out = std::string(QD_BINARY_DIR) + "/../test-output/dashboard";
  BrowserRun run = RunBrowser(dir, port, out);
  if (run.code == 77) GTEST_SKIP() << run.output;
  ASSERT_TRUE(run.result.is_object()) << run.output;
  for (const auto& [name, c] : run.result["checks"].items()) {
    EXPECT_TRUE(c["ok"].get<bool>()) << name << ": " << c.dump();
  }
  EXPECT_EQ(run.code, 0) << run.output;
  std::printf("DASHBOARD load %s ms, bundle %s bytes (%s gzipped)\n",
              run.result["loadMs"].dump().c_str(),
              run.result["bundle"]["raw"].dump().c_str(),
              run.result["bundle"]["gzip"].dump().c_str());

  // The retried job left the dead stream, went back to mail and ran; the
  // XSS job is still dead.
  EXPECT_TRUE(WaitFor(
      [&] { return ReadRecord(d.dir().File("record.txt"))["retry-me"] == 1; },
      milliseconds(10000)))
      << d.Log();
  EXPECT_EQ(RedisInt(redis.port(), {"XLEN", "qd:{a}:dead:mail"}), 1);
  auto left =
      RedisStrings(redis.port(), {"XRANGE", "qd:{a}:dead:mail", "-", "+"});
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left[0], xss_id);
}

}  // namespace
}  // namespace qd::test
