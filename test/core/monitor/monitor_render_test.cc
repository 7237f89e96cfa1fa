#include "core/monitor/monitor_render.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/monitor/prometheus_render.h"

namespace qd {
namespace {

constexpr int64_t kNow = 1700000100000;  // epoch ms

// Two sites, three queues (one depth unknown), two streams no queue serves
// (site alpha; beta not looked through yet), three workers in different
// states, a listener with a name that needs escaping.
MonitorSnapshot RichSnapshot() {
  MonitorSnapshot s;
  s.pid = 4242;
  s.host = "box1";
  s.id = "main";
  s.config_file = "/etc/queuedaemon/queuedaemon.yaml";
  s.version = "0.1.0";
  s.started_ms = kNow - 100000;
  s.now_ms = kNow;
  s.threads = 3;
  s.master_rss = 12345678;
  s.workers = {
      {0, 101, "ready", 2000000, kNow - 60000, 17, 2, "", 0, 1},
      {1, 102, "starting", 1000000, kNow - 500, 0, 0, "", 0, 3},
      {2, 103, "ready", 3000000, kNow - 90000, 5, 0, "alpha/mail J-7",
       kNow - 1500, 0},
  };
  SiteSnapshot alpha{"alpha", "127.0.0.1:6379", 4, {}, kNow - 1000};
  alpha.queues = {{"mail", 10, 2, 1}, {"sms", -1, 0, 0}};
  // Streams no queue serves; the second key holds what a label must not.
  alpha.unserved_checked_ms = kNow - 2000;
  alpha.unserved = {{"qd:{alpha}:q:typo", 5},
                    {"qd:{alpha}:q:x\x1b\xff\"\\\n", 2}};
  SiteSnapshot beta{"beta", "127.0.0.1:6380", -1, {}, 0};
  beta.queues = {{"push", 0, 0, 3}};
  s.sites = {alpha, beta};
  s.counters = {
      {"jobs.handled", 22}, {"jobs.failed", 2}, {"workers.respawned", 4}};
  ListenerStats sip;
  sip.name = "sip \"edge\"\\1";
  sip.connections = 2;
  sip.workers = 1;
  sip.busy = 1;
  sip.accepted = 9;
  sip.requests = 30;
  sip.forks = 3;
  s.listeners = {sip};
  s.redis_ok = true;
  return s;
}

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// Runs `promtool check metrics` on `text`; returns its exit code and puts
// its output (problems, if any) in *output.
int Promtool(const std::string& text, std::string* output) {
  char path[] = "/tmp/qd_metrics_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  close(fd);
  std::ofstream(path) << text;
  std::string command =
      std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  int status = pclose(pipe);
  unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(MonitorRenderTest, PrometheusHasKeyLines) {
  std::string text = RenderPrometheus(RichSnapshot());
  for (const char* line : {
           "# TYPE queuedaemon_jobs_handled_total counter",
           "queuedaemon_build_info{version=\"0.1.0\"} 1",
           "queuedaemon_start_time_seconds 1700000000.000",
           "queuedaemon_up 1",
           "queuedaemon_redis_up 1",
           "queuedaemon_master_rss_bytes 12345678",
           "queuedaemon_workers_configured 3",
           "queuedaemon_workers{state=\"ready\"} 2",
           "queuedaemon_workers{state=\"starting\"} 1",
           "queuedaemon_workers{state=\"backoff\"} 0",
           "queuedaemon_worker_rss_bytes{slot=\"2\"} 3000000",
           "queuedaemon_worker_jobs_total{slot=\"0\"} 17",
           "queuedaemon_worker_restarts_total{slot=\"1\"} 3",
           "queuedaemon_jobs_handled_total 22",
           "queuedaemon_jobs_failed_total 2",
           "queuedaemon_workers_respawned_total 4",
           "queuedaemon_workers_crashed_total 0",
           "queuedaemon_queue_ready{site=\"alpha\",queue=\"mail\"} 10",
           "queuedaemon_queue_pending{site=\"alpha\",queue=\"sms\"} 0",
           "queuedaemon_queue_dead{site=\"beta\",queue=\"push\"} 3",
           "queuedaemon_site_delayed{site=\"alpha\"} 4",
           "queuedaemon_listener_connections{listener=\"sip "
           "\\\"edge\\\"\\\\1\"} "
           "2",
           "queuedaemon_listener_requests_total{listener=\"sip "
           "\\\"edge\\\"\\\\1\"} 30",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line << "\n" << text;
  }
  // Unknown values are left out, not reported as -1.
  EXPECT_EQ(text.find("queue_ready{site=\"alpha\",queue=\"sms\"}"),
            std::string::npos);
  EXPECT_EQ(text.find("site_delayed{site=\"beta\"}"), std::string::npos);
  EXPECT_EQ(text.find(" -1\n"), std::string::npos);
}

TEST(MonitorRenderTest, PrometheusEscapesNewlineInLabel) {
  MonitorSnapshot s = RichSnapshot();
  s.version = "1.0\nbeta";
  std::string text = RenderPrometheus(s);
  EXPECT_TRUE(HasLine(text, "queuedaemon_build_info{version=\"1.0\\nbeta\"} 1"))
      << text;
}

TEST(MonitorRenderTest, PrometheusListsUnservedStreams) {
  std::string text = RenderPrometheus(RichSnapshot());
  for (const char* line : {
           "# TYPE queuedaemon_unserved_streams gauge",
           "queuedaemon_unserved_streams{site=\"alpha\"} 2",
           "# TYPE queuedaemon_unserved_stream_length gauge",
           "queuedaemon_unserved_stream_length{site=\"alpha\","
           "stream=\"qd:{alpha}:q:typo\"} 5",
           // Bytes outside printable ASCII as \xNN, then the label escapes.
           "queuedaemon_unserved_stream_length{site=\"alpha\","
           "stream=\"qd:{alpha}:q:x\\\\x1b\\\\xff\\\"\\\\\\\\x0a\"} 2",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line << "\n" << text;
  }
  // Not looked through yet: no count, rather than 0.
  EXPECT_EQ(text.find("unserved_streams{site=\"beta\"}"), std::string::npos);
}

TEST(MonitorRenderTest, PromtoolAcceptsMetrics) {
  std::string output;
  EXPECT_EQ(Promtool(RenderPrometheus(RichSnapshot()), &output), 0) << output;
  MonitorSnapshot empty;  // no workers, sites or listeners: empty families
  output.clear();
  EXPECT_EQ(Promtool(RenderPrometheus(empty), &output), 0) << output;
}

TEST(MonitorRenderTest, StatusHasFields) {
  nlohmann::json j = RenderStatus(RichSnapshot());
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["host"], "box1");
  EXPECT_EQ(j["id"], "main");
  EXPECT_EQ(j["version"], "0.1.0");
  EXPECT_EQ(j["uptime_s"], 100);
  EXPECT_EQ(j["config_file"], "/etc/queuedaemon/queuedaemon.yaml");
  EXPECT_EQ(j["shutting_down"], false);
  EXPECT_EQ(j["redis"]["ok"], true);
  EXPECT_TRUE(j["redis"]["error"].is_null());

  ASSERT_EQ(j["workers"].size(), 3u);
  const nlohmann::json& w0 = j["workers"][0];
  EXPECT_EQ(w0["slot"], 0);
  EXPECT_EQ(w0["pid"], 101);
  EXPECT_EQ(w0["state"], "ready");
  EXPECT_EQ(w0["rss"], 2000000);
  EXPECT_EQ(w0["started"], kNow - 60000);
  EXPECT_EQ(w0["age_s"], 60);
  EXPECT_EQ(w0["jobs"], 17);
  EXPECT_EQ(w0["failed"], 2);
  EXPECT_EQ(w0["restarts"], 1);
  EXPECT_TRUE(w0["job"].is_null());
  EXPECT_EQ(j["workers"][2]["job"]["name"], "alpha/mail J-7");
  EXPECT_EQ(j["workers"][2]["job"]["age_ms"], 1500);

  ASSERT_EQ(j["sites"].size(), 2u);
  const nlohmann::json& alpha = j["sites"][0];
  EXPECT_EQ(alpha["name"], "alpha");
  EXPECT_EQ(alpha["redis"], "127.0.0.1:6379");
  EXPECT_EQ(alpha["delayed"], 4);
  ASSERT_EQ(alpha["queues"].size(), 2u);
  EXPECT_EQ(alpha["queues"][0]["name"], "mail");
  EXPECT_EQ(alpha["queues"][0]["ready"], 10);
  EXPECT_EQ(alpha["queues"][0]["pending"], 2);
  EXPECT_EQ(alpha["queues"][0]["dead"], 1);
  EXPECT_TRUE(alpha["queues"][1]["ready"].is_null());
  EXPECT_TRUE(j["sites"][1]["delayed"].is_null());

  ASSERT_EQ(j["listeners"].size(), 1u);
  EXPECT_EQ(j["listeners"][0]["name"], "sip \"edge\"\\1");
  EXPECT_EQ(j["listeners"][0]["accepted"], 9);
  EXPECT_EQ(j["listeners"][0]["busy"], 1);
  EXPECT_EQ(j["counters"]["jobs.handled"], 22);
}

TEST(MonitorRenderTest, StatusListsUnservedStreams) {
  nlohmann::json j = RenderStatus(RichSnapshot());
  nlohmann::json alpha = j["sites"][0]["unserved"];
  EXPECT_EQ(alpha["checked"], kNow - 2000);
  EXPECT_EQ(alpha["more"], false);
  ASSERT_EQ(alpha["streams"].size(), 2u);
  EXPECT_EQ(alpha["streams"][0],
            nlohmann::json({{"stream", "qd:{alpha}:q:typo"}, {"length", 5}}));
  EXPECT_TRUE(j["sites"][1]["unserved"].is_null());
}

TEST(MonitorRenderTest, StatusShowsEmptySlotAndRedisError) {
  MonitorSnapshot s = RichSnapshot();
  s.workers[1] = {1, 0, "backoff", 0, 0, 0, 0, "", 0, 5};
  s.redis_ok = false;
  s.redis_error = "Connection refused";
  nlohmann::json j = RenderStatus(s);
  EXPECT_TRUE(j["workers"][1]["pid"].is_null());
  EXPECT_TRUE(j["workers"][1]["started"].is_null());
  EXPECT_TRUE(j["workers"][1]["age_s"].is_null());
  EXPECT_EQ(j["redis"]["ok"], false);
  EXPECT_EQ(j["redis"]["error"], "Connection refused");
}

TEST(MonitorRenderTest, HealthyWhenAllSlotsLiveAndRedisAnswers) {
  Health h = CheckHealth(RichSnapshot());
  EXPECT_TRUE(h.ok);
  EXPECT_EQ(h.reason, "");
}

TEST(MonitorRenderTest, UnhealthyNamesSlotWithoutWorker) {
  MonitorSnapshot s = RichSnapshot();
  s.workers[1] = {1, 0, "backoff", 0, 0, 0, 0, "", 0, 5};
  s.workers.pop_back();  // slot 2 not reported at all
  Health h = CheckHealth(s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.reason, "slot 1: no worker (backoff); slot 2: no worker");
}

TEST(MonitorRenderTest, UnhealthyWhenRedisDown) {
  MonitorSnapshot s = RichSnapshot();
  s.redis_ok = false;
  s.redis_error = "Connection refused";
  EXPECT_EQ(CheckHealth(s).reason, "redis: Connection refused");
  s.workers[0].pid = 0;
  s.workers[0].state = "backoff";
  Health h = CheckHealth(s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.reason, "slot 0: no worker (backoff); redis: Connection refused");
  EXPECT_TRUE(HasLine(RenderPrometheus(s), "queuedaemon_redis_up 0"));
}

TEST(MonitorRenderTest, UnhealthyWhileShuttingDown) {
  MonitorSnapshot s = RichSnapshot();
  s.shutting_down = true;
  Health h = CheckHealth(s);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.reason, "shutting down");
  EXPECT_TRUE(HasLine(RenderPrometheus(s), "queuedaemon_up 0"));
}

}  // namespace
}  // namespace qd
