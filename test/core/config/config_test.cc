#include "core/config/config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>

namespace qd {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

// Loads `text` as "x.yaml"; fails the test when it does not load.
Config Load(const std::string& text) {
  Config config;
  Status s = Config::LoadString(text, "x.yaml", &config);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
  return config;
}

// Loads `text` as "x.yaml" and returns the error message ("" if it loaded).
std::string Error(const std::string& text) {
  Config config;
  Status s = Config::LoadString(text, "x.yaml", &config);
  EXPECT_FALSE(s.ok()) << "loaded:\n" << text;
  return s.ok() ? "" : s.message();
}

// Asserts that loading `text` fails with a message starting with `prefix`
// ("x.yaml:LINE:COL: key.path: ") and containing `what`.
void ExpectError(const std::string& text, const std::string& prefix,
                 const std::string& what = "") {
  std::string error = Error(text);
  EXPECT_EQ(error.substr(0, prefix.size()), prefix) << error;
  EXPECT_NE(error.find(what), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

std::string SourcePath(const std::string& relative) {
  return std::string(QD_SOURCE_DIR) + "/" + relative;
}

// --- Defaults and the shipped samples ---

TEST(ConfigTest, DefaultsHaveOneNoopSiteOnEmbeddedRedis) {
  Config c = Config::Defaults();
  EXPECT_EQ(c.file, "");
  EXPECT_EQ(c.daemon.id, "generic");
  EXPECT_EQ(c.daemon.threads, 0);
  EXPECT_EQ(c.daemon.memory_limit, 256 * kMiB);
  EXPECT_EQ(c.daemon.soft_limit_text, "90%");
  EXPECT_EQ(c.daemon.soft_limit, 256 * kMiB * 9 / 10);
  EXPECT_EQ(c.daemon.shutdown_timeout, Duration(25000));
  EXPECT_EQ(c.daemon.kill_grace, Duration(5000));
  EXPECT_EQ(c.daemon.heartbeat_timeout, Duration(60000));
  EXPECT_EQ(c.daemon.log.level, "info");
  EXPECT_EQ(c.daemon.log.file, "stderr");
  EXPECT_EQ(c.redis.url, "embedded");
  EXPECT_EQ(c.redis.server_binary, "redis-server");
  EXPECT_EQ(c.plugins.dir, "plugins");
  EXPECT_TRUE(c.plugins.load.empty());
  EXPECT_EQ(c.monitor.udp, "");
  EXPECT_EQ(c.monitor.http, "");
  ASSERT_EQ(c.sites.size(), 1u);
  const SiteConfig& site = c.sites.at("default");
  EXPECT_EQ(site.name, "default");
  EXPECT_EQ(site.prefix, "qd");
  EXPECT_EQ(site.mode, "listen");
  ASSERT_EQ(site.queues.size(), 1u);
  const QueueConfig& noop = site.queues.at("noop");
  EXPECT_EQ(noop.name, "noop");
  EXPECT_EQ(noop.handler, "noop");
  EXPECT_TRUE(noop.handler_options.IsMap());
  EXPECT_EQ(noop.handler_options.size(), 0u);
  EXPECT_TRUE(c.listeners.empty());
  EXPECT_TRUE(c.xmpp.empty());
}

TEST(ConfigTest, PidFileDefaultsToRunDirAndId) {
  Config c = Config::Defaults();
  EXPECT_EQ(c.PidFile(), "run/queuedaemon.generic.pid");
  c = Load("daemon: { id: mail-1, run_dir: /var/run/qd }\n");
  EXPECT_EQ(c.PidFile(), "/var/run/qd/queuedaemon.mail-1.pid");
  c = Load("daemon: { id: x, pidfile: /tmp/qd.pid }\n");
  EXPECT_EQ(c.PidFile(), "/tmp/qd.pid");
}

TEST(ConfigTest, SampleConfigLoads) {
  std::string path = SourcePath("etc/queuedaemon.yaml");
  Config c;
  Status s = Config::LoadFile(path, &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.daemon.threads, 0);
  EXPECT_EQ(c.daemon.run_dir, "run");
  EXPECT_EQ(c.daemon.log.file, "stderr");
  EXPECT_EQ(c.redis.url, "embedded");
  ASSERT_EQ(c.sites.count("default"), 1u);
  const SiteConfig& site = c.sites.at("default");
  EXPECT_EQ(site.queues.at("noop").handler, "noop");
  EXPECT_EQ(site.queues.at("log").handler, "log");
  EXPECT_GT(site.queues.at("noop").line, 1);
}

TEST(ConfigTest, MinimalConfigLoads) {
  Config c;
  Status s = Config::LoadFile(SourcePath("etc/minimal.yaml"), &c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.redis.url, "embedded");
  EXPECT_EQ(c.sites.at("default").queues.at("noop").handler, "noop");
  EXPECT_EQ(c.daemon.soft_limit, 256 * kMiB * 9 / 10);
}

// --- Files and documents ---

TEST(ConfigTest, MissingFileSaysCannotRead) {
  Config c;
  Status s = Config::LoadFile("/nonexistent/qd.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "/nonexistent/qd.yaml: cannot read: No such file or directory");
}

TEST(ConfigTest, DirectorySaysCannotRead) {
  Config c;
  Status s = Config::LoadFile("/", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "/: cannot read: Is a directory");
}

TEST(ConfigTest, FileErrorsNameThePath) {
  std::string path = ::testing::TempDir() + "qd_config_test.yaml";
  std::ofstream(path) << "daemon:\n  threads: many\n";
  Config c;
  Status s = Config::LoadFile(path, &c);
  std::remove(path.c_str());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), path +
                             ":2:12: daemon.threads: expected a whole number "
                             ">= 0, got 'many'");
}

TEST(ConfigTest, EmptyFileIsAnError) {
  ExpectError("", "x.yaml:1:1: ", "empty config");
  ExpectError("# only a comment\n\n", "x.yaml:1:1: ", "empty config");
}

TEST(ConfigTest, TopLevelMustBeAMap) {
  ExpectError("- daemon\n- sites\n", "x.yaml:1:1: ",
              "expected a map of sections at the top level, got a list");
  ExpectError("hello\n", "x.yaml:1:1: ", "got 'hello'");
}

TEST(ConfigTest, YamlSyntaxErrorHasPosition) {
  ExpectError("sites:\n  default: [a, b\n  other: 1\n",
              "x.yaml:3:", "YAML syntax: ");
  ExpectError("daemon:\n  threads: 1: 2\n", "x.yaml:2:", "YAML syntax: ");
}

TEST(ConfigTest, LeavesOutputUntouchedOnError) {
  Config c = Config::Defaults();
  c.daemon.id = "mine";
  EXPECT_FALSE(
      Config::LoadString("daemon: { id: ok, threads: x }\n", "x.yaml", &c)
          .ok());
  EXPECT_EQ(c.daemon.id, "mine");
  EXPECT_EQ(c.sites.size(), 1u);
  EXPECT_FALSE(Config::LoadFile("/nonexistent", &c).ok());
  EXPECT_EQ(c.daemon.id, "mine");
}

TEST(ConfigTest, FileWithoutSitesHasNoSites) {
  Config c = Load("daemon: { threads: 2 }\n");
  EXPECT_TRUE(c.sites.empty());
  EXPECT_EQ(c.file, "x.yaml");
  EXPECT_TRUE(c.listeners.empty());
  EXPECT_TRUE(c.xmpp.empty());
}

TEST(ConfigTest, EmptySectionsAreAllowed) {
  Config c = Load(
      "daemon:\nredis:\nplugins:\nmonitor:\nsites:\nlisteners:\n"
      "xmpp:\n");
  EXPECT_EQ(c.redis.url, "embedded");
  EXPECT_TRUE(c.sites.empty());
}

// --- Unknown keys ---

TEST(ConfigTest, UnknownKeyNamesLineAndSuggestion) {
  EXPECT_EQ(Error("daemon:\n  threads: 2\n  treads: 4\n"),
            "x.yaml:3:3: daemon.treads: unknown key (did you mean 'threads'?)");
}

TEST(ConfigTest, UnknownTopLevelKeySuggests) {
  EXPECT_EQ(Error("deamon: {}\n"),
            "x.yaml:1:1: deamon: unknown key (did you mean 'daemon'?)");
  EXPECT_EQ(Error("listener: {}\n"),
            "x.yaml:1:1: listener: unknown key (did you mean 'listeners'?)");
}

TEST(ConfigTest, UnknownKeySuggestsIgnoringCase) {
  ExpectError(
      "daemon:\n  MEMORY_LIMIT: 1G\n",
      "x.yaml:2:3: daemon.MEMORY_LIMIT: ", "did you mean 'memory_limit'?");
  ExpectError("daemon:\n  thraeds: 1\n",
              "x.yaml:2:3: daemon.thraeds: ", "did you mean 'threads'?");
}

TEST(ConfigTest, UnknownKeyWithoutSuggestionListsKnownKeys) {
  EXPECT_EQ(Error("monitor:\n  statsd: 1.2.3.4:5\n"),
            "x.yaml:2:3: monitor.statsd: unknown key (expected one of: udp, "
            "prefix, interval, tags, http, http_public, admin_token_file)");
  ExpectError("daemon:\n  xx: 1\n",
              "x.yaml:2:3: daemon.xx: ", "expected one of: id, threads");
}

TEST(ConfigTest, UnknownKeyDeepInsideSites) {
  ExpectError("sites:\n  a:\n    queus: {}\n",
              "x.yaml:3:5: sites.a.queus: ", "did you mean 'queues'?");
  ExpectError("daemon:\n  log:\n    lvl: info\n",
              "x.yaml:3:5: daemon.log.lvl: ", "did you mean 'level'?");
}

TEST(ConfigTest, DuplicateKeyIsAnError) {
  EXPECT_EQ(Error("daemon:\n  threads: 1\n  threads: 2\n"),
            "x.yaml:3:3: daemon.threads: duplicate key (first at line 2)");
  ExpectError("sites:\n  a: {}\n  a: {}\n",
              "x.yaml:3:3: sites.a: ", "duplicate key");
}

TEST(ConfigTest, ComplexKeyIsAnError) {
  ExpectError("? [a, b]\n: 1\n", "x.yaml:1:3: ", "expected a plain key");
}

// --- daemon ---

TEST(ConfigTest, DaemonReadsEveryKey) {
  Config c = Load(R"(daemon:
  id: mail.host-1
  threads: 8
  memory_limit: 1GiB
  soft_limit: 75%
  shutdown_timeout: 1m
  kill_grace: 1500ms
  heartbeat_timeout: 2m
  run_dir: /var/lib/qd
  pidfile: /run/qd.pid
  log: { level: debug, file: /var/log/qd.log }
)");
  EXPECT_EQ(c.daemon.id, "mail.host-1");
  EXPECT_EQ(c.daemon.threads, 8);
  EXPECT_EQ(c.daemon.memory_limit, 1024 * kMiB);
  EXPECT_EQ(c.daemon.soft_limit_text, "75%");
  EXPECT_EQ(c.daemon.soft_limit, 768 * kMiB);
  EXPECT_EQ(c.daemon.shutdown_timeout, Duration(60000));
  EXPECT_EQ(c.daemon.kill_grace, Duration(1500));
  EXPECT_EQ(c.daemon.heartbeat_timeout, Duration(120000));
  EXPECT_EQ(c.daemon.run_dir, "/var/lib/qd");
  EXPECT_EQ(c.daemon.pidfile, "/run/qd.pid");
  EXPECT_EQ(c.daemon.log.level, "debug");
  EXPECT_EQ(c.daemon.log.file, "/var/log/qd.log");
}

TEST(ConfigTest, ThreadsMustBeAWholeNumber) {
  EXPECT_EQ(Error("daemon:\n  threads: many\n"),
            "x.yaml:2:12: daemon.threads: expected a whole number >= 0, got "
            "'many'");
  ExpectError("daemon:\n  threads: -1\n", "x.yaml:2:12: daemon.threads: ",
              "expected a whole number >= 0, got '-1'");
  ExpectError("daemon:\n  threads: 1.5\n",
              "x.yaml:2:12: daemon.threads: ", "got '1.5'");
  ExpectError("daemon:\n  threads: 99999999999999999999\n",
              "x.yaml:2:12: daemon.threads: ", "expected a whole number");
  ExpectError("daemon:\n  threads: [1]\n", "x.yaml:2:12: daemon.threads: ",
              "expected a whole number >= 0, got a list");
}

TEST(ConfigTest, ThreadsHasAnUpperBound) {
  EXPECT_EQ(Load("daemon: { threads: 1024 }\n").daemon.threads, 1024);
  ExpectError("daemon:\n  threads: 1025\n", "x.yaml:2:12: daemon.threads: ",
              "expected a whole number <= 1024, got '1025'");
}

TEST(ConfigTest, EmptyValuePointsAtItsKey) {
  EXPECT_EQ(Error("daemon:\n  threads:\n  id: x\n"),
            "x.yaml:2:3: daemon.threads: expected a whole number >= 0, got "
            "nothing");
  ExpectError("daemon:\n  pidfile:\n",
              "x.yaml:2:3: daemon.pidfile: ", "expected a string, got nothing");
}

TEST(ConfigTest, DaemonIdIsAPlainName) {
  ExpectError("daemon:\n  id: a/b\n", "x.yaml:2:7: daemon.id: ",
              "expected letters, digits and _ . - only, got 'a/b'");
  ExpectError("daemon:\n  id: ''\n",
              "x.yaml:2:7: daemon.id: ", "expected a non-empty string");
  ExpectError("daemon:\n  id: {a: 1}\n",
              "x.yaml:2:7: daemon.id: ", "expected a string, got a map");
}

TEST(ConfigTest, StringsMustBeScalarsAndNonEmpty) {
  ExpectError("daemon:\n  run_dir: [a]\n",
              "x.yaml:2:12: daemon.run_dir: ", "expected a string, got a list");
  ExpectError("daemon:\n  run_dir: \"\"\n",
              "x.yaml:2:12: daemon.run_dir: ", "non-empty");
  ExpectError("daemon:\n  log: { file: [] }\n",
              "x.yaml:2:16: daemon.log.file: ", "expected a string");
}

TEST(ConfigTest, MemoryLimitIsAPositiveSize) {
  EXPECT_EQ(Load("daemon: { memory_limit: 512MB }\n").daemon.memory_limit,
            512000000u);
  ExpectError(
      "daemon:\n  memory_limit: 0\n",
      "x.yaml:2:17: daemon.memory_limit: ", "expected a size > 0, got '0'");
  ExpectError("daemon:\n  memory_limit: lots\n",
              "x.yaml:2:17: daemon.memory_limit: ",
              "'lots' is not a size (use e.g. 512k, 256MiB, 1G)");
  ExpectError("daemon:\n  memory_limit: -1G\n",
              "x.yaml:2:17: daemon.memory_limit: ", "is negative");
}

TEST(ConfigTest, SoftLimitResolvesAfterMemoryLimitInAnyOrder) {
  Config c = Load("daemon:\n  soft_limit: 50%\n  memory_limit: 1G\n");
  EXPECT_EQ(c.daemon.soft_limit, 512 * kMiB);
  c = Load("daemon:\n  memory_limit: 1G\n  soft_limit: 50%\n");
  EXPECT_EQ(c.daemon.soft_limit, 512 * kMiB);
  c = Load("daemon:\n  memory_limit: 100MB\n");
  EXPECT_EQ(c.daemon.soft_limit_text, "90%");
  EXPECT_EQ(c.daemon.soft_limit, 90000000u);
}

TEST(ConfigTest, SoftLimitAsSize) {
  Config c = Load("daemon: { soft_limit: 200MiB }\n");
  EXPECT_EQ(c.daemon.soft_limit, 200 * kMiB);
  EXPECT_EQ(c.daemon.soft_limit_text, "200MiB");
}

TEST(ConfigTest, SoftLimitAboveMemoryLimitIsAnError) {
  EXPECT_EQ(Error("daemon:\n  soft_limit: 300MiB\n"),
            "x.yaml:2:15: daemon.soft_limit: soft limit 300.0MiB is above "
            "memory_limit 256.0MiB");
  ExpectError("daemon:\n  soft_limit: 2G\n  memory_limit: 1G\n",
              "x.yaml:2:15: daemon.soft_limit: ", "is above memory_limit");
}

TEST(ConfigTest, TinyMemoryLimitErrorPointsAtMemoryLimit) {
  ExpectError(
      "daemon:\n  id: x\n  memory_limit: 1\n",
      "x.yaml:3:17: daemon.memory_limit: ", "expected at least 16.0MiB");
}

TEST(ConfigTest, SoftLimitMustParse) {
  ExpectError("daemon:\n  soft_limit: 90\n", "x.yaml:2:15: daemon.soft_limit: ",
              "'90' is ambiguous: write 90% for a percent");
  ExpectError("daemon:\n  soft_limit: 120%\n",
              "x.yaml:2:15: daemon.soft_limit: ", "'120%' is not a soft limit");
  ExpectError("daemon:\n  soft_limit: 0%\n",
              "x.yaml:2:15: daemon.soft_limit: ", "is not a soft limit");
  ExpectError("daemon:\n  soft_limit: [90%]\n",
              "x.yaml:2:15: daemon.soft_limit: ", "got a list");
}

TEST(ConfigTest, DurationsMustParse) {
  ExpectError("daemon:\n  shutdown_timeout: soon\n",
              "x.yaml:2:21: daemon.shutdown_timeout: ",
              "'soon' is not a duration (use e.g. 250ms, 5s, 2m, 1h)");
  ExpectError("daemon:\n  kill_grace: -5s\n",
              "x.yaml:2:15: daemon.kill_grace: ", "is negative");
  ExpectError("daemon:\n  kill_grace: {}\n", "x.yaml:2:15: daemon.kill_grace: ",
              "expected a duration such as 5s, got a map");
  EXPECT_EQ(Load("daemon: { shutdown_timeout: 0 }\n").daemon.shutdown_timeout,
            Duration(0));
}

TEST(ConfigTest, LogLevelIsOneOfTheLevels) {
  for (const char* level :
       {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(Load(std::string("daemon: { log: { level: ") + level + " } }\n")
                  .daemon.log.level,
              level);
  }
  EXPECT_EQ(Error("daemon:\n  log:\n    level: verbose\n"),
            "x.yaml:3:12: daemon.log.level: expected one of "
            "trace|debug|info|warn|error|critical|off, got 'verbose'");
}

TEST(ConfigTest, SectionOfWrongTypeNamesItsKey) {
  EXPECT_EQ(Error("daemon:\n  - threads: 1\n"),
            "x.yaml:2:3: daemon: expected a map, got a list");
  ExpectError("daemon:\n  log: stderr\n",
              "x.yaml:2:8: daemon.log: ", "expected a map, got 'stderr'");
  ExpectError("plugins: [a]\n", "x.yaml:1:10: plugins: ", "expected a map");
  ExpectError("monitor: on\n", "x.yaml:1:10: monitor: ", "expected a map");
  ExpectError("sites: [default]\n",
              "x.yaml:1:8: sites: ", "expected a map, got a list");
}

// --- redis ---

TEST(ConfigTest, RedisAsString) {
  EXPECT_EQ(Load("redis: redis://10.0.0.1:6379/2\n").redis.url,
            "redis://10.0.0.1:6379/2");
  EXPECT_EQ(Load("redis: unix:///run/redis.sock\n").redis.url,
            "unix:///run/redis.sock");
  EXPECT_EQ(Load("redis: embedded\n").redis.url, "embedded");
}

TEST(ConfigTest, RedisAsMap) {
  Config c =
      Load("redis:\n  url: embedded\n  server_binary: /opt/redis-server\n");
  EXPECT_EQ(c.redis.url, "embedded");
  EXPECT_EQ(c.redis.server_binary, "/opt/redis-server");
}

TEST(ConfigTest, RedisUrlMustBeKnown) {
  EXPECT_EQ(Error("redis: localhost:6379\n"),
            "x.yaml:1:8: redis: expected 'embedded', redis://host:port/db or "
            "unix:///path.sock, got 'localhost:6379'");
  ExpectError("redis:\n  url: rediss://x\n",
              "x.yaml:2:8: redis.url: ", "expected 'embedded'");
  ExpectError("redis: redis://\n", "x.yaml:1:8: redis: ", "got 'redis://'");
  ExpectError("redis: Embedded\n",
              "x.yaml:1:8: redis: ", "expected 'embedded'");
  ExpectError("redis: [a]\n", "x.yaml:1:8: redis: ",
              "expected a url or a map with 'url', got a list");
  ExpectError("redis:\n  uri: embedded\n",
              "x.yaml:2:3: redis.uri: ", "did you mean 'url'?");
}

// --- plugins and monitor ---

TEST(ConfigTest, PluginsReadsDirAndLoad) {
  Config c = Load("plugins:\n  dir: /usr/lib/qd\n  load: [example, mail]\n");
  EXPECT_EQ(c.plugins.dir, "/usr/lib/qd");
  EXPECT_EQ(c.plugins.load, (std::vector<std::string>{"example", "mail"}));
  EXPECT_TRUE(Load("plugins: { load: [] }\n").plugins.load.empty());
}

TEST(ConfigTest, PluginsLoadMustBeAListOfStrings) {
  ExpectError("plugins:\n  load: example\n", "x.yaml:2:9: plugins.load: ",
              "expected a list of strings, got 'example'");
  ExpectError("plugins:\n  load: [a, {b: 1}]\n",
              "x.yaml:2:13: plugins.load[1]: ", "expected a string, got a map");
  ExpectError("plugins:\n  load:\n    - a\n    - ''\n",
              "x.yaml:4:7: plugins.load[1]: ", "non-empty");
}

TEST(ConfigTest, MonitorAddresses) {
  Config c = Load("monitor:\n  udp: 127.0.0.1:8125\n  http: '[::1]:9187'\n");
  EXPECT_EQ(c.monitor.udp, "127.0.0.1:8125");
  EXPECT_EQ(c.monitor.http, "[::1]:9187");
  EXPECT_EQ(Load("monitor: { http: localhost:65535 }\n").monitor.http,
            "localhost:65535");
}

TEST(ConfigTest, MonitorStatsdSettings) {
  Config d = Load("monitor: { udp: 127.0.0.1:8125 }\n");
  EXPECT_EQ(d.monitor.prefix, "qd");
  EXPECT_EQ(d.monitor.interval, Duration(1000));
  EXPECT_EQ(d.monitor.tags, "dogstatsd");
  Config c = Load(
      "monitor: { udp: 127.0.0.1:8125, prefix: app.qd, interval: 10s, "
      "tags: plain }\n");
  EXPECT_EQ(c.monitor.prefix, "app.qd");
  EXPECT_EQ(c.monitor.interval, Duration(10000));
  EXPECT_EQ(c.monitor.tags, "plain");
  ExpectError("monitor: { tags: influx }\n", "x.yaml:1:18: monitor.tags: ",
              "expected one of dogstatsd|plain, got 'influx'");
  ExpectError("monitor: { prefix: 'a b' }\n", "x.yaml:1:20: monitor.prefix: ",
              "letters, digits and _ . - only");
  ExpectError("monitor: { interval: 0s }\n",
              "x.yaml:1:22: monitor.interval: ", "expected a duration > 0");
}

TEST(ConfigTest, MonitorHttpBeyondLoopbackNeedsHttpPublic) {
  ExpectError("monitor:\n  http: 0.0.0.0:9187\n", "x.yaml:2:9: monitor.http: ",
              "not a loopback address and /metrics, /status have no "
              "authentication; set monitor.http_public: true");
  Config c = Load("monitor:\n  http: 0.0.0.0:9187\n  http_public: yes\n");
  EXPECT_EQ(c.monitor.http, "0.0.0.0:9187");
  EXPECT_TRUE(c.monitor.http_public);
  EXPECT_FALSE(Load("monitor: { http: '127.0.0.2:1' }\n").monitor.http_public);
  ExpectError("monitor: { http_public: maybe }\n",
              "x.yaml:1:25: monitor.http_public: ",
              "expected true or false, got 'maybe'");
}

TEST(ConfigTest, MonitorAddressMustBeHostPort) {
  for (const char* bad : {"localhost", ":80", "host:0", "host:65536", "::1:80",
                          "host:", "host:http", "[]:80", "a b:80", "h:-1"}) {
    ExpectError(std::string("monitor:\n  udp: '") + bad + "'\n",
                "x.yaml:2:8: monitor.udp: ",
                std::string("expected host:port such as 127.0.0.1:9187 or "
                            "[::1]:9187, got '") +
                    bad + "'");
  }
}

// --- sites and queues ---

TEST(ConfigTest, SiteReadsEveryKey) {
  Config c = Load(R"(sites:
  shop:
    redis: redis://10.0.0.5:6379/2
    prefix: jobs
    mode: poll
    poll_interval: 250ms
    weight: 3
    queues:
      mail:
        handler: exec
        command: [/usr/bin/send-mail, -q]
        max_attempts: 3
        timeout: 60s
        visibility_timeout: 10m
        retry_base: 2s
        retry_max: 5m
        weight: 4
        max_payload: 1MiB
)");
  const SiteConfig& site = c.sites.at("shop");
  EXPECT_EQ(site.name, "shop");
  EXPECT_EQ(site.redis.url, "redis://10.0.0.5:6379/2");
  EXPECT_EQ(site.prefix, "jobs");
  EXPECT_EQ(site.mode, "poll");
  EXPECT_EQ(site.poll_interval, Duration(250));
  EXPECT_EQ(site.weight, 3);
  const QueueConfig& q = site.queues.at("mail");
  EXPECT_EQ(q.name, "mail");
  EXPECT_EQ(q.handler, "exec");
  EXPECT_EQ(q.max_attempts, 3);
  EXPECT_EQ(q.timeout, Duration(60000));
  EXPECT_EQ(q.visibility_timeout, Duration(600000));
  EXPECT_EQ(q.retry_base, Duration(2000));
  EXPECT_EQ(q.retry_max, Duration(300000));
  EXPECT_EQ(q.weight, 4);
  EXPECT_EQ(q.max_payload, 1u << 20);
  EXPECT_EQ(q.line, 9);
}

TEST(ConfigTest, QueueDefaults) {
  Config c = Load("sites:\n  a:\n    queues: { noop: { handler: noop } }\n");
  const SiteConfig& site = c.sites.at("a");
  EXPECT_EQ(site.redis.url, "");
  EXPECT_EQ(site.prefix, "qd");
  EXPECT_EQ(site.mode, "listen");
  EXPECT_EQ(site.poll_interval, Duration(1000));
  EXPECT_EQ(site.weight, 1);
  const QueueConfig& q = site.queues.at("noop");
  EXPECT_EQ(q.handler, "noop");
  EXPECT_EQ(q.max_attempts, 10);
  EXPECT_EQ(q.timeout, Duration(0));
  EXPECT_EQ(q.visibility_timeout, Duration(300000));
  EXPECT_EQ(q.retry_base, Duration(1000));
  EXPECT_EQ(q.retry_max, Duration(3600000));
  EXPECT_EQ(q.weight, 1);
  EXPECT_EQ(q.max_payload, 16u << 20);
  EXPECT_EQ(q.line, 3);
  EXPECT_TRUE(q.handler_options.IsMap());
  EXPECT_EQ(q.handler_options.size(), 0u);
}

TEST(ConfigTest, OtherQueueKeysAreHandlerOptions) {
  Config c = Load(R"(sites:
  a:
    queues:
      mail:
        handler: exec
        command: [/bin/cat]
        env: { LANG: C }
        max_attempts: 2
)");
  const QueueConfig& q = c.sites.at("a").queues.at("mail");
  ASSERT_TRUE(q.handler_options.IsMap());
  EXPECT_EQ(q.handler_options.size(), 2u);
  EXPECT_EQ(q.handler_options["command"][0].as<std::string>(), "/bin/cat");
  EXPECT_EQ(q.handler_options["env"]["LANG"].as<std::string>(), "C");
  EXPECT_FALSE(q.handler_options["max_attempts"].IsDefined());
  // Positions survive, so the handler can report "x.yaml:6:18: ...".
  EXPECT_EQ(q.handler_options["command"].Mark().line + 1, 6);
  EXPECT_EQ(q.handler_options["command"].Mark().column + 1, 18);
}

TEST(ConfigTest, SiteWithoutQueuesIsAllowed) {
  Config c = Load("sites:\n  a:\n  b: { queues: {} }\n  c: { prefix: x }\n");
  EXPECT_EQ(c.sites.size(), 3u);
  EXPECT_EQ(c.sites.at("a").name, "a");
  EXPECT_TRUE(c.sites.at("a").queues.empty());
  EXPECT_TRUE(c.sites.at("b").queues.empty());
}

TEST(ConfigTest, ManySitesAndQueues) {
  Config c = Load(R"(sites:
  default:
    queues: { noop: { handler: noop }, log: { handler: log } }
  shop.eu:
    redis: unix:///run/shop.sock
    queues:
      "orders:v2": { handler: log }
)");
  EXPECT_EQ(c.sites.size(), 2u);
  EXPECT_EQ(c.sites.at("default").queues.size(), 2u);
  EXPECT_EQ(c.sites.at("shop.eu").queues.at("orders:v2").handler, "log");
}

TEST(ConfigTest, QueueNeedsAHandler) {
  EXPECT_EQ(Error("sites:\n  a:\n    queues:\n      mail: { timeout: 5s }\n"),
            "x.yaml:4:7: sites.a.queues.mail: missing required key 'handler'");
  ExpectError(
      "sites:\n  a:\n    queues:\n      mail:\n",
      "x.yaml:4:7: sites.a.queues.mail: ", "missing required key 'handler'");
  ExpectError("sites:\n  a:\n    queues:\n      mail: { handler: '' }\n",
              "x.yaml:4:24: sites.a.queues.mail.handler: ", "non-empty");
}

TEST(ConfigTest, QueueMustBeAMap) {
  EXPECT_EQ(Error("sites:\n  a:\n    queues:\n      noop: noop\n"),
            "x.yaml:4:13: sites.a.queues.noop: expected a map such as { "
            "handler: noop }, got 'noop'");
  ExpectError(
      "sites:\n  a:\n    queues:\n      noop: [noop]\n",
      "x.yaml:4:13: sites.a.queues.noop: ", "expected a map, got a list");
  ExpectError("sites:\n  a:\n    queues: [noop]\n",
              "x.yaml:3:13: sites.a.queues: ", "expected a map, got a list");
}

TEST(ConfigTest, QueueNumbersHaveLowerBounds) {
  ExpectError(
      "sites:\n  a:\n    queues:\n      q: { handler: x, max_attempts: 0 }\n",
      "x.yaml:4:38: sites.a.queues.q.max_attempts: ",
      "expected a whole number >= 1, got '0'");
  ExpectError(
      "sites:\n  a:\n    queues:\n      q: { handler: x, weight: -2 }\n",
      "x.yaml:4:32: sites.a.queues.q.weight: ",
      "expected a whole number >= 1, got '-2'");
  ExpectError(
      "sites:\n  a:\n    queues:\n      q: { handler: x, max_payload: 0 }\n",
      "x.yaml:4:37: sites.a.queues.q.max_payload: ",
      "expected a size > 0, got '0'");
}

TEST(ConfigTest, QueueDurationsMustParse) {
  ExpectError(
      "sites:\n  a:\n    queues:\n      q: { handler: x, timeout: 5x }\n",
      "x.yaml:4:33: sites.a.queues.q.timeout: ", "'5x' is not a duration");
  ExpectError(
      "sites:\n  a:\n    queues:\n      q: { handler: x, visibility_timeout: 0 "
      "}\n",
      "x.yaml:4:44: sites.a.queues.q.visibility_timeout: ",
      "expected a duration > 0, got '0'");
  ExpectError(
      "sites:\n  a:\n    queues:\n      q:\n        handler: x\n"
      "        retry_base: 1m\n        retry_max: 10s\n",
      "x.yaml:4:7: sites.a.queues.q: ", "retry_max 10s is below retry_base 1m");
}

TEST(ConfigTest, UniqueUntilIsDoneOrStart) {
  Config c = Load(
      "sites:\n  a:\n    queues:\n      q: { handler: x }\n"
      "      r: { handler: x, unique_until: start }\n");
  EXPECT_EQ(c.sites.at("a").queues.at("q").unique_until, "done");
  EXPECT_EQ(c.sites.at("a").queues.at("r").unique_until, "start");
  ExpectError(
      "sites:\n  a:\n    queues:\n      q: { handler: x, unique_until: later "
      "}\n",
      "x.yaml:4:38: sites.a.queues.q.unique_until: ",
      "expected one of done|start, got 'later'");
}

TEST(ConfigTest, SiteAndQueueNamesAreChecked) {
  EXPECT_EQ(Error("sites:\n  a{b}:\n    queues: {}\n"),
            "x.yaml:2:3: sites.a{b}: a site name may only hold letters, digits "
            "and _ . : -");
  ExpectError("sites:\n  a:\n    queues:\n      'my queue': { handler: x }\n",
              "x.yaml:4:7: sites.a.queues.my queue: ", "a queue name may only");
  ExpectError("sites:\n  a:\n    queues:\n      'q}': { handler: x }\n",
              "x.yaml:4:7: sites.a.queues.q}: ", "a queue name may only");
  ExpectError("sites:\n  '': {}\n", "x.yaml:2:3: sites.: ", "a site name");
}

TEST(ConfigTest, SiteKeysAreChecked) {
  ExpectError("sites:\n  a:\n    mode: push\n", "x.yaml:3:11: sites.a.mode: ",
              "expected one of listen|poll, got 'push'");
  ExpectError("sites:\n  a:\n    redis: mysql://x\n",
              "x.yaml:3:12: sites.a.redis: ", "expected 'embedded'");
  ExpectError("sites:\n  a:\n    redis: [a]\n",
              "x.yaml:3:12: sites.a.redis: ", "expected a url or a map");
  ExpectError("sites:\n  a:\n    prefix: 'q{d}'\n",
              "x.yaml:3:13: sites.a.prefix: ",
              "expected letters, digits and _ . : - only");
  ExpectError(
      "sites:\n  a:\n    poll_interval: 0s\n",
      "x.yaml:3:20: sites.a.poll_interval: ", "expected a duration > 0");
  ExpectError("sites:\n  a: [1]\n",
              "x.yaml:2:6: sites.a: ", "expected a map, got a list");
}

TEST(ConfigTest, SiteWeightIsOneToAThousand) {
  EXPECT_EQ(Load("sites:\n  a:\n    weight: 1000\n").sites.at("a").weight,
            1000);
  EXPECT_EQ(Error("sites:\n  a:\n    weight: 0\n"),
            "x.yaml:3:13: sites.a.weight: expected a whole number >= 1, got "
            "'0'");
  EXPECT_EQ(Error("sites:\n  a:\n    weight: 1001\n"),
            "x.yaml:3:13: sites.a.weight: expected a whole number <= 1000, got "
            "'1001'");
  ExpectError("sites:\n  a:\n    weight: heavy\n",
              "x.yaml:3:13: sites.a.weight: ",
              "expected a whole number >= 1, got 'heavy'");
  ExpectError("sites:\n  a:\n    weight: 2.5\n",
              "x.yaml:3:13: sites.a.weight: ", "expected a whole number");
}

// --- listeners ---

// A listener with its two required keys; tests append keys from line 5 on.
constexpr char kListener[] =
    "listeners:\n  l:\n    listen: 127.0.0.1:6001\n    handler: h\n";

TEST(ConfigTest, ListenerReadsEveryKey) {
  Config c = Load(R"(sites: { shop: {}, lib: {} }
listeners:
  sip:
    listen: 127.0.0.1:6001
    personality: fork
    handler: example-line
    terminator: "\r\n"
    reply_terminator: "\n"
    max_frame: 1MiB
    max_concurrent: 16
    max_connections: 500
    worker_keepalive: 2s
    fence_timeout: 10s
    idle_timeout: 0
    session_ttl: 1h
    login: required
    site: shop
    prefix: sip
    sites: { lib: { worker_keepalive: 0 } }
    greeting: hello
)");
  const ListenerConfig& l = c.listeners.at("sip");
  EXPECT_EQ(l.name, "sip");
  EXPECT_EQ(l.line, 3);
  EXPECT_EQ(l.listen, "127.0.0.1:6001");
  EXPECT_EQ(l.personality, "fork");
  EXPECT_EQ(l.handler, "example-line");
  EXPECT_EQ(l.terminator, "\r\n");
  EXPECT_EQ(l.ReplyTerminator(), "\n");
  EXPECT_EQ(l.max_frame, 1 * kMiB);
  EXPECT_EQ(l.max_concurrent, 16);
  EXPECT_EQ(l.max_connections, 500);
  EXPECT_EQ(l.worker_keepalive, Duration(2000));
  EXPECT_EQ(l.fence_timeout, Duration(10000));
  EXPECT_EQ(l.idle_timeout, Duration(0));
  EXPECT_EQ(l.session_ttl, Duration(3600000));
  EXPECT_EQ(l.login, "required");
  EXPECT_EQ(l.site, "shop");
  EXPECT_EQ(l.prefix, "sip");
  EXPECT_EQ(l.site_keepalive,
            (std::map<std::string, Duration>{{"lib", Duration(0)}}));
  EXPECT_EQ(l.handler_options.size(), 1u);
  EXPECT_EQ(l.handler_options["greeting"].as<std::string>(), "hello");
}

TEST(ConfigTest, ListenerDefaults) {
  Config c = Load(kListener);
  const ListenerConfig& l = c.listeners.at("l");
  EXPECT_EQ(l.personality, "multiplex");
  EXPECT_EQ(l.terminator, "\r");
  EXPECT_EQ(l.reply_terminator, "");
  EXPECT_EQ(l.ReplyTerminator(), "\r");
  EXPECT_EQ(l.max_frame, 64u << 10);
  EXPECT_EQ(l.max_concurrent, 256);
  EXPECT_EQ(l.max_connections, 10000);
  EXPECT_EQ(l.worker_keepalive, Duration(5000));
  EXPECT_EQ(l.fence_timeout, Duration(30000));
  EXPECT_EQ(l.idle_timeout, Duration(600000));
  EXPECT_EQ(l.session_ttl, Duration(86400000));
  EXPECT_EQ(l.login, "none");
  EXPECT_EQ(l.site, "");
  EXPECT_EQ(l.prefix, "qd");
  EXPECT_TRUE(l.site_keepalive.empty());
  EXPECT_TRUE(l.account_keepalive.empty());
  EXPECT_TRUE(l.handler_options.IsMap());
  EXPECT_EQ(l.handler_options.size(), 0u);
}

TEST(ConfigTest, ListenerTerminatorEscapes) {
  auto terminator = [](const std::string& yaml) {
    return Load(kListener + ("    terminator: " + yaml + "\n"))
        .listeners.at("l")
        .terminator;
  };
  EXPECT_EQ(terminator(R"("\r")"), "\r");
  EXPECT_EQ(terminator(R"("\n")"), "\n");
  EXPECT_EQ(terminator(R"("\r\n")"), "\r\n");
  EXPECT_EQ(terminator(R"("\x1e")"), "\x1e");
  EXPECT_EQ(terminator("12345678"), "12345678");
  ExpectError(std::string(kListener) + "    terminator: 123456789\n",
              "x.yaml:5:17: listeners.l.terminator: ", "got 9 bytes");
  ExpectError(std::string(kListener) + "    terminator: ''\n",
              "x.yaml:5:17: listeners.l.terminator: ", "got 0 bytes");
  ExpectError(std::string(kListener) + "    terminator: \\r\n",
              "x.yaml:5:17: listeners.l.terminator: ",
              "'\\r' here is a backslash and a letter");
  ExpectError(std::string(kListener) + "    reply_terminator: '\\r\\n'\n",
              "x.yaml:5:23: listeners.l.reply_terminator: ",
              "write escapes in double quotes");
}

TEST(ConfigTest, ListenerOnAUnixSocket) {
  EXPECT_EQ(Load("listeners:\n  l: { listen: 'unix:/run/qd/l.sock', handler: "
                 "h }\n")
                .listeners.at("l")
                .listen,
            "unix:/run/qd/l.sock");
  EXPECT_EQ(Load("listeners:\n  l: { listen: 'unix:" + std::string(107, 'a') +
                 "', handler: h }\n")
                .listeners.at("l")
                .listen.size(),
            112u);
  ExpectError("listeners:\n  l: { listen: 'unix:" + std::string(108, 'a') +
                  "', handler: h }\n",
              "x.yaml:2:16: listeners.l.listen: ",
              "the socket path is 108 bytes long, at most 107 fit");
  ExpectError("listeners:\n  l: { listen: 'unix:', handler: h }\n",
              "x.yaml:2:16: listeners.l.listen: ",
              "expected a socket path after 'unix:'");
}

TEST(ConfigTest, ListenerListenMustBeHostPortOrUnix) {
  for (const char* bad :
       {"6001", "localhost", "host:0", ":6001", "http://host:80", "unix"}) {
    ExpectError(std::string("listeners:\n  l:\n    listen: '") + bad + "'\n",
                "x.yaml:3:13: listeners.l.listen: ",
                std::string("expected host:port such as 127.0.0.1:6001 or "
                            "[::1]:6001, or unix:PATH, got '") +
                    bad + "'");
  }
}

TEST(ConfigTest, ListenerNeedsListenAndHandler) {
  EXPECT_EQ(Error("listeners:\n  l: { listen: 127.0.0.1:6001 }\n"),
            "x.yaml:2:3: listeners.l: missing required key 'handler'");
  ExpectError("listeners:\n  l: { handler: h }\n",
              "x.yaml:2:3: listeners.l: ", "missing required key 'listen'");
  ExpectError("listeners:\n  l:\n",
              "x.yaml:2:3: listeners.l: ", "missing required key 'listen'");
}

TEST(ConfigTest, ListenerKeysAreChecked) {
  auto expect = [](const std::string& line, const std::string& prefix,
                   const std::string& what) {
    ExpectError(kListener + ("    " + line + "\n"), prefix, what);
  };
  expect("personality: prefork", "x.yaml:5:18: listeners.l.personality: ",
         "expected one of multiplex|fork");
  expect("login: optional",
         "x.yaml:5:12: listeners.l.login: ", "expected one of required|none");
  expect("max_frame: 65MiB",
         "x.yaml:5:16: listeners.l.max_frame: ", "expected at most 64.0MiB");
  expect("max_concurrent: 65537",
         "x.yaml:5:21: listeners.l.max_concurrent: ", "<= 65536");
  expect("max_connections: 0",
         "x.yaml:5:22: listeners.l.max_connections: ", ">= 1");
  expect("fence_timeout: 0s",
         "x.yaml:5:20: listeners.l.fence_timeout: ", "expected a duration > 0");
  expect("session_ttl: 0",
         "x.yaml:5:18: listeners.l.session_ttl: ", "expected a duration > 0");
  expect("prefix: 'q{d}'",
         "x.yaml:5:13: listeners.l.prefix: ", "expected letters, digits and");
  expect("sites: { a: { keepalive: 1s } }",
         "x.yaml:5:19: listeners.l.sites.a.keepalive: ",
         "(expected one of: worker_keepalive)");
  ExpectError("listeners:\n  'l b': { listen: 127.0.0.1:1, handler: h }\n",
              "x.yaml:2:3: listeners.l b: ", "a listener name may only");
}

TEST(ConfigTest, ListenerSitesMustBeConfigured) {
  // Sites may come after the listeners that name them.
  EXPECT_EQ(Error(kListener + std::string("    site: shpo\nsites:\n  shop:\n")),
            "x.yaml:5:11: listeners.l.site: unknown site 'shpo' (did you mean "
            "'shop'?)");
  EXPECT_EQ(Error(kListener + std::string("    sites:\n      shpo: {}\n"
                                          "sites:\n  shop:\n")),
            "x.yaml:6:7: listeners.l.sites.shpo: unknown site 'shpo' (did you "
            "mean 'shop'?)");
  ExpectError(kListener + std::string("    site: x\nsites:\n  a:\n  b:\n"),
              "x.yaml:5:11: listeners.l.site: ",
              "unknown site 'x' (configured sites: a, b)");
  ExpectError(kListener + std::string("    site: x\n"),
              "x.yaml:5:11: listeners.l.site: ", "(no sites are configured)");
  EXPECT_EQ(Load(kListener + std::string("    site:\n")).listeners.at("l").site,
            "");
}

TEST(ConfigTest, AccountKeepaliveIsNotAHandlerOption) {
  Config c = Load(kListener + std::string(R"(    accounts:
      alice: { password: secret, worker_keepalive: 0s }
      bob: { password: hunter2 }
)"));
  const ListenerConfig& l = c.listeners.at("l");
  EXPECT_EQ(l.account_keepalive,
            (std::map<std::string, Duration>{{"alice", Duration(0)}}));
  YAML::Node accounts = l.handler_options["accounts"];
  ASSERT_TRUE(accounts.IsMap());
  EXPECT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts["alice"].size(), 1u);
  EXPECT_EQ(accounts["alice"]["password"].as<std::string>(), "secret");
  EXPECT_FALSE(accounts["alice"]["worker_keepalive"].IsDefined());
  EXPECT_EQ(accounts["bob"]["password"].as<std::string>(), "hunter2");
  EXPECT_EQ(accounts["bob"]["password"].Mark().line + 1, 7);
}

TEST(ConfigTest, AccountMustBeAMap) {
  ExpectError(kListener + std::string("    accounts:\n      alice: secret\n"),
              "x.yaml:6:14: listeners.l.accounts.alice: ",
              "expected a map, got 'secret'");
  ExpectError(
      kListener + std::string("    accounts: { a: { worker_keepalive: x } }\n"),
      "x.yaml:5:40: listeners.l.accounts.a.worker_keepalive: ",
      "'x' is not a duration");
}

TEST(ConfigTest, KeepaliveForPrefersAccountThenSite) {
  ListenerConfig l;
  l.worker_keepalive = Duration(5000);
  l.site_keepalive["shop"] = Duration(1000);
  l.account_keepalive["alice"] = Duration(0);
  EXPECT_EQ(l.KeepaliveFor("", ""), Duration(5000));
  EXPECT_EQ(l.KeepaliveFor("lib", "bob"), Duration(5000));
  EXPECT_EQ(l.KeepaliveFor("shop", ""), Duration(1000));
  EXPECT_EQ(l.KeepaliveFor("shop", "bob"), Duration(1000));
  EXPECT_EQ(l.KeepaliveFor("shop", "alice"), Duration(0));
  EXPECT_EQ(l.KeepaliveFor("", "alice"), Duration(0));
}

TEST(ConfigTest, TwoListenersCannotShareAnAddress) {
  EXPECT_EQ(Error("listeners:\n  a: { listen: 127.0.0.1:6001, handler: h }\n"
                  "  b: { listen: 127.0.0.1:6001, handler: h }\n"),
            "x.yaml:3:3: listeners.b: listen 127.0.0.1:6001 is already used by "
            "listener 'a' (line 2)");
  Config c = Load(
      "listeners:\n  a: { listen: 127.0.0.1:6001, handler: h }\n"
      "  b: { listen: 127.0.0.1:6002, handler: h }\n");
  EXPECT_EQ(c.listeners.size(), 2u);
}

// --- xmpp ---

TEST(ConfigTest, XmppAccountsAreReadAndChecked) {
  Config c = Load(
      "sites: { default: { queues: { q: { handler: noop } } } }\n"
      "xmpp:\n  alerts: { jid: bot@example.org/qd, password: s3cret, site: "
      "default, tls: starttls-if-offered, ping_interval: 5s, ping_timeout: "
      "2s, port: 5223 }\n");
  ASSERT_EQ(c.xmpp.count("alerts"), 1u);
  const XmppAccount& a = c.xmpp.at("alerts");
  EXPECT_EQ(a.name, "alerts");
  EXPECT_EQ(a.jid.Bare(), "bot@example.org");
  EXPECT_EQ(a.jid.resource, "qd");
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(a.site, "default");
  EXPECT_EQ(a.tls, "starttls-if-offered");
  EXPECT_EQ(a.port, 5223);
  EXPECT_EQ(a.ping_interval, Duration(5000));
  EXPECT_EQ(a.ping_timeout, Duration(2000));
  EXPECT_EQ(a.whitespace_interval, Duration(60000));
}

// A new file under /tmp holding `text`, mode 0600 (mkstemp's); its path.
std::string TempFileWith(const std::string& text) {
  char path[] = "/tmp/qd-config-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

// An XMPP password file gets the checks of every secret file: a file its
// group or others may read is refused, as a Redis password file is.
TEST(ConfigTest, XmppPasswordFileReadableByOthersIsRefused) {
  std::string path = TempFileWith("secret\n");
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  std::string yaml =
      std::string("xmpp:\n  a: { jid: u@d, password_file: ") + path + " }\n";
  ExpectError(yaml,
              "x.yaml:2:33: xmpp.a.password_file: ", "readable by others");
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  EXPECT_EQ(Load(yaml).xmpp.at("a").password, "secret");
  unlink(path.c_str());
}

TEST(ConfigTest, XmppPasswordFileAndErrorsNeverShowThePassword) {
  std::string path = TempFileWith("from-file\nignored\n");
  Config c = Load(std::string("xmpp:\n  a: { jid: u@d, password_file: ") +
                  path + " }\n");
  EXPECT_EQ(c.xmpp.at("a").password, "from-file");
  std::string both = Error(std::string("xmpp:\n  a: { jid: u@d, password: "
                                       "hunter2, password_file: ") +
                           path + " }\n");
  EXPECT_NE(both.find("not both"), std::string::npos) << both;
  EXPECT_EQ(both.find("hunter2"), std::string::npos) << both;
  unlink(path.c_str());
  ExpectError(
      std::string("xmpp:\n  a: { jid: u@d, password_file: ") + path + " }\n",
      "x.yaml:2:33: xmpp.a.password_file: ", "cannot read");
  ExpectError("xmpp:\n  a: { password: x }\n",
              "x.yaml:2:3: xmpp.a: ", "jid is missing");
  ExpectError("xmpp:\n  a: { jid: u@d }\n",
              "x.yaml:2:3: xmpp.a: ", "password or password_file is missing");
  ExpectError("xmpp:\n  a: { jid: 'u@d e', password: x }\n",
              "x.yaml:2:13: xmpp.a.jid: ", "bad JID");
  ExpectError("xmpp:\n  a: { jid: d.org, password: x }\n",
              "x.yaml:2:13: xmpp.a.jid: ", "expected user@domain");
  ExpectError("xmpp:\n  a: { jid: u@d, password: x, tls: maybe }\n",
              "x.yaml:2:36: xmpp.a.tls: ", "required|starttls-if-offered|off");
  ExpectError("xmpp:\n  a: { jid: u@d, password: x, site: nope }\n",
              "x.yaml:2:37: xmpp.a.site: ", "unknown site 'nope'");
}

TEST(ConfigTest, XmppQueuesAreTiedToTheirAccount) {
  // One account for a site: an implicit `xmpp` queue that sends with it.
  Config c = Load(
      "sites: { a: { queues: { q: { handler: noop } } }, b: {} }\n"
      "xmpp:\n  alerts: { jid: bot@example.org, password: x, site: a,\n"
      "    reconnect_min: 2s, reconnect_max: 10s, confirm_interval: 0 }\n");
  ASSERT_EQ(c.sites.at("a").queues.count("xmpp"), 1u);
  const QueueConfig& q = c.sites.at("a").queues.at("xmpp");
  EXPECT_EQ(q.handler, "xmpp");
  EXPECT_EQ(q.handler_options["account"].Scalar(), "alerts");
  EXPECT_EQ(q.line, 3);  // the account's line
  EXPECT_EQ(c.sites.at("b").queues.count("xmpp"), 0u);
  EXPECT_EQ(c.xmpp.at("alerts").reconnect_min, Duration(2000));
  EXPECT_EQ(c.xmpp.at("alerts").reconnect_max, Duration(10000));
  EXPECT_EQ(c.xmpp.at("alerts").confirm_interval, Duration(0));

  // A queue of its own keeps its settings and gets the account filled in.
  c = Load(
      "sites: { a: { queues: { xmpp: { handler: xmpp, max_attempts: 50 } } } "
      "}\nxmpp:\n  alerts: { jid: bot@example.org, password: x, site: a }\n");
  EXPECT_EQ(c.sites.at("a").queues.at("xmpp").max_attempts, 50);
  EXPECT_EQ(
      c.sites.at("a").queues.at("xmpp").handler_options["account"].Scalar(),
      "alerts");

  ExpectError("sites: { a: { queues: { chat: { handler: xmpp } } } }\n",
              "x.yaml:1:25: sites.a.queues.chat: ",
              "handler xmpp needs an xmpp account with site: a");
  ExpectError(
      "sites: { a: { queues: { chat: { handler: xmpp, account: nope } } }, "
      "b: {} }\nxmpp:\n  nope: { jid: u@d, password: x, site: b }\n",
      "x.yaml:1:57: sites.a.queues.chat.account: ",
      "no xmpp account 'nope' with site: a");
  ExpectError(
      "sites: { a: { queues: { chat: { handler: xmpp } } } }\nxmpp:\n"
      "  one: { jid: u@d, password: x, site: a }\n"
      "  two: { jid: v@d, password: x, site: a }\n",
      "x.yaml:1:25: sites.a.queues.chat: ", "several xmpp accounts");
  ExpectError(
      "sites: { a: { queues: { xmpp: { handler: xmpp, visibility_timeout: "
      "20s } } } }\nxmpp:\n  one: { jid: u@d, password: x, site: a }\n",
      "x.yaml:1:25: sites.a.queues.xmpp: ",
      "visibility_timeout 20s must be longer than the ping_timeout 30s of "
      "xmpp account one");
  ExpectError(
      "xmpp:\n  a: { jid: u@d, password: x, reconnect_min: 5s, "
      "reconnect_max: 1s }\n",
      "x.yaml:2:3: xmpp.a: ", "reconnect_max 1s is below reconnect_min 5s");
}

TEST(ConfigTest, XmppInboundNamesAQueueOfASite) {
  const std::string sites =
      "sites:\n  a: { queues: { chat: { handler: log } } }\n"
      "  b: { queues: { inbox: { handler: noop } } }\n";
  // A queue of the account's own site.
  Config c = Load(sites +
                  "xmpp:\n  bot: { jid: bot@example.org, password: x, "
                  "site: a, inbound: chat }\n");
  const XmppAccount& a = c.xmpp.at("bot");
  EXPECT_TRUE(a.receives());
  EXPECT_EQ(a.inbound_site, "a");
  EXPECT_EQ(a.inbound_queue, "chat");
  EXPECT_TRUE(a.inbound_from.empty());
  // A queue of another site, from some senders only.
  c = Load(sites +
           "xmpp:\n  bot: { jid: bot@example.org, password: x, site: a,\n"
           "    inbound: { site: b, queue: inbox },\n"
           "    inbound_from: [Alice@example.org, example.net] }\n");
  EXPECT_EQ(c.xmpp.at("bot").inbound_site, "b");
  EXPECT_EQ(c.xmpp.at("bot").inbound_queue, "inbox");
  EXPECT_EQ(c.xmpp.at("bot").inbound_from,
            (std::vector<std::string>{"Alice@example.org", "example.net"}));
  // Without a site of its own the account names one.
  c = Load(sites +
           "xmpp:\n  bot: { jid: bot@example.org, password: x,\n"
           "    inbound: { site: b, queue: inbox } }\n");
  EXPECT_EQ(c.xmpp.at("bot").inbound_site, "b");
  EXPECT_FALSE(Load(sites + "xmpp:\n  bot: { jid: u@d, password: x }\n")
                   .xmpp.at("bot")
                   .receives());
}

TEST(ConfigTest, XmppInboundErrorsSayWhereAndWhy) {
  const std::string sites =
      "sites:\n  a: { queues: { chat: { handler: log } } }\n  b: {}\n";
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, site: a, "
                  "inbound: chta }\n",
              "x.yaml:5:51: xmpp.bot.inbound: ",
              "site a has no queue 'chta' (did you mean 'chat'?)");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, site: a, "
                  "inbound: zzzzzz }\n",
              "x.yaml:5:51: xmpp.bot.inbound: ",
              "site a has no queue 'zzzzzz' (its queues: chat, xmpp)");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x,\n"
                  "    inbound: { site: b, queue: chat } }\n",
              "x.yaml:6:32: xmpp.bot.inbound: ",
              "site b has no queue 'chat' (it has no queues)");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x,\n"
                  "    inbound: { site: c, queue: chat } }\n",
              "x.yaml:6:22: xmpp.bot.inbound.site: ", "unknown site 'c'");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x,\n"
                  "    inbound: { site: a } }\n",
              "x.yaml:6:14: xmpp.bot.inbound: ", "queue is missing");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x,\n"
                  "    inbound: { site: a, queue: chat, qeue: x } }\n",
              "x.yaml:6:38: xmpp.bot.inbound.qeue: ", "did you mean 'queue'");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, inbound: chat "
                  "}\n",
              "x.yaml:5:42: xmpp.bot.inbound: ",
              "the account has no site: add `site: SITE`, or write inbound: "
              "{ site: SITE, queue: chat }");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, site: a, "
                  "inbound: 'q{x}' }\n",
              "x.yaml:5:51: xmpp.bot.inbound: ",
              "expected letters, digits and _ . : - only");
  // Its own `xmpp` queue: every message received would be sent out again.
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, site: a, "
                  "inbound: xmpp }\n",
              "x.yaml:5:51: xmpp.bot.inbound: ",
              "queue xmpp of site a sends xmpp messages");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, site: a,\n"
                  "    inbound: chat, inbound_from: [ok@d, 'u@d/phone'] "
                  "}\n",
              "x.yaml:6:41: xmpp.bot.inbound_from[1]: ",
              "expected a bare JID (user@domain), got 'u@d/phone'");
  ExpectError(sites +
                  "xmpp:\n  bot: { jid: u@d, password: x, site: a,\n"
                  "    inbound: chat, inbound_from: ['a b@d'] }\n",
              "x.yaml:6:35: xmpp.bot.inbound_from[0]: ", "bad JID");
  ExpectError(
      sites +
          "xmpp:\n  bot: { jid: u@d, password: x, site: a,\n"
          "    inbound_from: [ok@d] }\n",
      "x.yaml:6:5: xmpp.bot.inbound_from: ", "inbound_from without inbound");
  ExpectError(
      sites +
          "xmpp:\n  bot: { jid: u@d, password: x, site: a,\n"
          "    inbound: chat, inbound_from: ok@d }\n",
      "x.yaml:6:34: xmpp.bot.inbound_from: ", "expected a list of strings");
}

TEST(ConfigTest, ListenersAndXmppMustBeMapsOfMaps) {
  EXPECT_EQ(Error("listeners:\n  sip: 127.0.0.1:6001\n"),
            "x.yaml:2:8: listeners.sip: expected a map, got '127.0.0.1:6001'");
  ExpectError("listeners: [sip]\n",
              "x.yaml:1:12: listeners: ", "expected a map, got a list");
  ExpectError("xmpp:\n  alerts: [a]\n",
              "x.yaml:2:11: xmpp.alerts: ", "expected a map, got a list");
  ExpectError("xmpp:\n  alerts:\n",
              "x.yaml:2:3: xmpp.alerts: ", "jid is missing");
  ExpectError("xmpp: bot@example.org\n",
              "x.yaml:1:7: xmpp: ", "expected a map");
}

// --- messages ---

TEST(ConfigTest, MessagesStayOnOneLine) {
  std::string error = Error("daemon:\n  id: \"a\\nb\"\n");
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(error.substr(0, 22), "x.yaml:2:7: daemon.id:");
}

TEST(ConfigTest, LongValuesAreShortenedInMessages) {
  std::string error =
      Error("daemon:\n  threads: " + std::string(500, '9') + "x\n");
  EXPECT_LT(error.size(), 200u) << error;
  EXPECT_NE(error.find("...'"), std::string::npos) << error;
}

TEST(ConfigTest, FirstErrorWins) {
  EXPECT_EQ(Error("daemon:\n  threads: x\n  id: 'a b'\n"),
            "x.yaml:2:12: daemon.threads: expected a whole number >= 0, got "
            "'x'");
}

}  // namespace
}  // namespace qd

namespace qd {
namespace {

TEST(ConfigTest, MemoryLimitBelowTheMinimumIsRefused) {
  Config c;
  Status s = Config::LoadString("daemon:\n  memory_limit: 512\n", "t.yaml", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      s.message().find("t.yaml:2:17: daemon.memory_limit: expected at least"),
      std::string::npos)
      << s.message();
}

TEST(ConfigTest, DefaultConstructedDaemonConfigHasTheDefaultSoftLimit) {
  DaemonConfig d;
  EXPECT_EQ(d.soft_limit, Config::Defaults().daemon.soft_limit);
}

}  // namespace
}  // namespace qd

namespace qd {
namespace {

TEST(ConfigTest, ControlIsOnWithoutASecretByDefault) {
  Config c = Load("sites: {}\n");
  EXPECT_TRUE(c.control.enabled);
  EXPECT_EQ(c.control.secret, "");
  EXPECT_FALSE(Load("control: { enabled: false }\n").control.enabled);
}

TEST(ConfigTest, ControlSecretFileIsReadAndChecked) {
  char path[] = "/tmp/qd-secret-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "0123456789abcdef-secret\n", 24), 24);
  close(fd);
  chmod(path, 0600);
  std::string yaml = std::string("control:\n  secret_file: ") + path + "\n";
  Config c = Load(yaml);
  EXPECT_EQ(c.control.secret, "0123456789abcdef-secret");
  EXPECT_EQ(c.control.secret_file, path);
  chmod(path, 0644);
  ExpectError(yaml, "x.yaml:2:16: control.secret_file: ",
              "readable by others; chmod 600 it");
  unlink(path);
  ExpectError(yaml, "x.yaml:2:16: control.secret_file: ", "cannot read it");
}

TEST(ConfigTest, AdminTokenFileIsReadAndChecked) {
  EXPECT_EQ(Load("sites: {}\n").monitor.admin_token, "");
  char path[] = "/tmp/qd-token-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "0123456789abcdef-token\n", 23), 23);
  close(fd);
  chmod(path, 0600);
  std::string yaml =
      std::string("monitor:\n  admin_token_file: ") + path + "\n";
  Config c = Load(yaml);
  EXPECT_EQ(c.monitor.admin_token, "0123456789abcdef-token");
  EXPECT_EQ(c.monitor.admin_token_file, path);
  chmod(path, 0644);
  ExpectError(yaml, "x.yaml:2:21: monitor.admin_token_file: ",
              "readable by others; chmod 600 it");
  fd = open(path, O_WRONLY | O_TRUNC);
  ASSERT_EQ(write(fd, "short\n", 6), 6);
  close(fd);
  chmod(path, 0600);
  ExpectError(yaml, "x.yaml:2:21: monitor.admin_token_file: ",
              "the token must be at least 16 bytes");
  unlink(path);
  ExpectError(yaml,
              "x.yaml:2:21: monitor.admin_token_file: ", "cannot read it");
}

}  // namespace
}  // namespace qd
