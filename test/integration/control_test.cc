// The control channel end to end (docs/control.md): queuectl reload,
// restart, drain, resume, stop and ps against real redis-servers.
//
// QueuectlControlTest checks queuectl alone: FakeDaemon stands in for a
// daemon's control side (a hash, a subscriber on qd:control, answers as
// told), so output, selection, timeouts and exit codes are exact.
// ControlTest runs two real queuedaemons with different ids on one Redis.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "core/control/control_message.h"
#include "core/os/process.h"
#include "core/redis/argv_of.h"
#include "core/util/units.h"
#include "daemon_harness.h"
#include "queue_harness.h"

namespace qd::test {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

constexpr const char* kSecret = "a-shared-secret-of-32-bytes-long";

std::string PluginDir() {
  return std::string(QD_BINARY_DIR) + "/../test-plugins";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// One command over hiredis, arguments binary-safe.
Reply Command(int port, const std::vector<std::string>& args) {
  timeval tv = {2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  Reply r;
  if (c != nullptr && c->err == 0) {
    ArgvOf command(args);
    r.reset(static_cast<redisReply*>(redisCommandArgv(
        c, command.argc(), command.argv.data(), command.lens.data())));
  }
  if (c != nullptr) redisFree(c);
  return r;
}

// How many clients subscribe to qd:control.
long long Subscribers(int port) {
  Reply r = Command(port, {"PUBSUB", "NUMSUB", kControlChannel});
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
    return -1;
  }
  return r->element[1]->integer;
}

// Runs `queuectl --redis URL ARGS` in `dir`.
CtlResult Ctl(const TempDir& dir, const std::string& redis_url,
              const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--redis", redis_url};
  all.insert(all.end(), args.begin(), args.end());
  return RunQueuectl(dir, all);
}

// A stand-in for a daemon's control side, on its own thread: its hash
// qd:{qd}:daemon:HOST:ID (unless `with_hash` is false: a daemon that started
// after queuectl listed them), a subscriber on qd:control, and an answer
// to every command that selects it. `answer` may change the reply (ok,
// message, data) and returns false to stay silent.
class FakeDaemon {
 public:
  using Answer = std::function<bool(const ControlCommand&, ControlReply*)>;

  FakeDaemon(int port, std::string host, std::string id, int64_t pid,
             bool with_hash = true, Answer answer = nullptr,
             std::string secret = "")
      : port_(port),
        host_(std::move(host)),
        id_(std::move(id)),
        pid_(pid),
        answer_(std::move(answer)),
        secret_(std::move(secret)) {
    if (with_hash) {
      Command(port_, {"HSET", "qd:{qd}:daemon:" + Name(), "host", host_, "id",
                      id_, "pid", std::to_string(pid_)});
    }
    std::promise<void> subscribed;
    auto ready = subscribed.get_future();
    thread_ = std::thread([this, &subscribed] { Run(&subscribed); });
    ready.wait();  // Run() sets it, connected or not (2 s timeouts)
  }
  ~FakeDaemon() {
    Command(port_, {"PUBLISH", kControlChannel, "quit " + Name()});
    thread_.join();
  }

  std::string Name() const { return host_ + ":" + id_; }
  int answered() const { return answered_; }
  // The commands received (selecting this daemon or not), and their raw
  // payloads.
  std::vector<ControlCommand> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  std::vector<std::string> payloads() const {
    std::lock_guard<std::mutex> lock(mu_);
    return payloads_;
  }

 private:
  void Run(std::promise<void>* subscribed) {
    timeval tv = {2, 0};
    redisContext* sub = redisConnectWithTimeout("127.0.0.1", port_, tv);
    redisContext* out = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ok = sub != nullptr && sub->err == 0 && out != nullptr &&
              out->err == 0 && redisSetTimeout(sub, {60, 0}) == REDIS_OK;
    if (ok) {
      Reply r(static_cast<redisReply*>(
          redisCommand(sub, "SUBSCRIBE %s", kControlChannel)));
      ok = r != nullptr;
    }
    subscribed->set_value();
    while (ok) {
      void* raw = nullptr;
      if (redisGetReply(sub, &raw) != REDIS_OK) break;
      Reply m(static_cast<redisReply*>(raw));
      if (m->type != REDIS_REPLY_ARRAY || m->elements != 3) continue;
      std::string payload(m->element[2]->str, m->element[2]->len);
      if (payload == "quit " + Name()) break;
      Handle(out, payload);
    }
    if (sub != nullptr) redisFree(sub);
    if (out != nullptr) redisFree(out);
  }

  void Handle(redisContext* out, const std::string& payload) {
    std::string json;
    ControlCommand cmd;
    if (!OpenControl(payload, secret_, &json).ok() ||
        !ControlCommand::Decode(json, &cmd).ok()) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(cmd);
      payloads_.push_back(payload);
    }
    if (!cmd.Selects(host_, id_)) return;
    ControlReply reply;
    reply.req = cmd.req;
    reply.host = host_;
    reply.id = id_;
    reply.pid = pid_;
    reply.ok = true;
    reply.message = cmd.cmd + " done";
    if (answer_ && !answer_(cmd, &reply)) return;
    std::string text = reply.Encode();
    Reply r(static_cast<redisReply*>(redisCommand(
        out, "RPUSH %s %b", cmd.reply_to.c_str(), text.data(), text.size())));
    Reply e(static_cast<redisReply*>(
        redisCommand(out, "EXPIRE %s 60", cmd.reply_to.c_str())));
    ++answered_;
  }

  int port_;
  std::string host_;
  std::string id_;
  int64_t pid_;
  Answer answer_;
  std::string secret_;
  std::thread thread_;
  std::atomic<int> answered_{0};
  mutable std::mutex mu_;
  std::vector<ControlCommand> received_;
  std::vector<std::string> payloads_;
};

class QueuectlControlTest : public ::testing::Test {
 protected:
  CtlResult Ctl(const std::vector<std::string>& args) {
    return test::Ctl(dir_, redis_.url(), args);
  }
  std::string SecretFile(const std::string& name, const std::string& text) {
    dir_.Write(name, text + "\n");
    EXPECT_EQ(chmod(dir_.File(name).c_str(), 0600), 0);
    return dir_.File(name);
  }

  RedisServer redis_;
  TempDir dir_;
};

TEST_F(QueuectlControlTest, EveryDaemonAnsweringOkPrintsALineEachAndExitsZero) {
  FakeDaemon a(redis_.port(), "h1", "a", 101);
  FakeDaemon b(redis_.port(), "h1", "b", 102, true,
               [](const ControlCommand&, ControlReply* r) {
                 r->message = "reloaded site a";
                 return true;
               });
  CtlResult r = Ctl({"reload", "--site", "a"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "h1:a pid 101: ok - reload done\n"
            "h1:b pid 102: ok - reloaded site a\n");
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(a.received().size(), 1u);
  ControlCommand got = a.received()[0];
  EXPECT_EQ(got.cmd, "reload");
  EXPECT_EQ(got.site, "a");
  EXPECT_EQ(got.host, "");
  EXPECT_EQ(got.id, "") << "no -i: every daemon, not the config's daemon.id";
  EXPECT_EQ(Command(redis_.port(), {"EXISTS", got.reply_to})->integer, 0)
      << "queuectl removes its reply key";
}

TEST_F(QueuectlControlTest, AFailedAnswerIsPrintedWithItsReasonAndExitsOne) {
  FakeDaemon a(redis_.port(), "h1", "a", 101);
  FakeDaemon b(redis_.port(), "h1", "b", 102, true,
               [](const ControlCommand&, ControlReply* r) {
                 r->ok = false;
                 r->message = "no site 'z' (sites: a, b)";
                 return true;
               });
  CtlResult r = Ctl({"drain", "--site", "z"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "h1:a pid 101: ok - drain done\n"
            "h1:b pid 102: FAILED - no site 'z' (sites: a, b)\n");
}

TEST_F(QueuectlControlTest, ASilentDaemonIsReportedWhenTheTimeoutPasses) {
  FakeDaemon a(redis_.port(), "h1", "a", 101);
  FakeDaemon mute(redis_.port(), "h1", "mute", 103, true,
                  [](const ControlCommand&, ControlReply*) { return false; });
  CtlResult r = Ctl({"restart", "--timeout", "700ms"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "h1:a pid 101: ok - restart done\n"
            "h1:mute: no answer within 700ms\n");
  EXPECT_GE(r.took.count(), 700);
  EXPECT_LT(r.took.count(), 4000);
}

TEST_F(QueuectlControlTest, DoesNotWaitOnceEveryDaemonAnswered) {
  FakeDaemon a(redis_.port(), "h1", "a", 101);
  CtlResult r = Ctl({"stop", "--timeout", "20s"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_LT(r.took.count(), 5000);
}

TEST_F(QueuectlControlTest, IdAndHostSelectDaemons) {
  FakeDaemon h1a(redis_.port(), "h1", "a", 101);
  FakeDaemon h1b(redis_.port(), "h1", "b", 102);
  FakeDaemon h2a(redis_.port(), "h2", "a", 201);
  CtlResult r = Ctl({"stop", "-i", "a"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "h1:a pid 101: ok - stop done\nh2:a pid 201: ok - stop done\n");
  ASSERT_TRUE(
      WaitFor([&] { return h1b.received().size() == 1; }, milliseconds(5000)));
  EXPECT_EQ(h1b.received()[0].id, "a");
  EXPECT_EQ(h1b.answered(), 0);

  r = Ctl({"resume", "--host", "h1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "h1:a pid 101: ok - resume done\nh1:b pid 102: ok - resume done\n");

  r = Ctl({"-i", "b", "reload", "--host", "h1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "h1:b pid 102: ok - reload done\n");
}

TEST_F(QueuectlControlTest, NoMatchingLiveDaemonIsAnError) {
  CtlResult r = Ctl({"ps"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Contains(r.err, "no live daemon")) << r.err;
  EXPECT_TRUE(Contains(r.err, "(live: none)")) << r.err;

  FakeDaemon a(redis_.port(), "h1", "a", 101);
  r = Ctl({"reload", "-i", "zz", "--host", "h9"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Contains(r.err, "no live daemon with id zz on host h9")) << r.err;
  EXPECT_TRUE(Contains(r.err, "(live: h1:a)")) << r.err;
  EXPECT_TRUE(a.received().empty()) << "nothing is sent";
}

TEST_F(QueuectlControlTest, ADaemonThatWasNotListedIsPrintedToo) {
  FakeDaemon fresh(redis_.port(), "h1", "new", 300, /*with_hash=*/false);
  // The listed daemon answers after the unlisted one, so both are in.
  FakeDaemon a(redis_.port(), "h1", "a", 101, true,
               [&](const ControlCommand&, ControlReply*) {
                 return WaitFor([&] { return fresh.answered() > 0; },
                                milliseconds(5000));
               });
  CtlResult r = Ctl({"reload"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "h1:a pid 101: ok - reload done\n"
            "h1:new pid 300: ok - reload done\n");
}

TEST_F(QueuectlControlTest, ALiveHashWithNobodySubscribedSaysSo) {
  Command(redis_.port(),
          {"HSET", "qd:{qd}:daemon:h1:off", "host", "h1", "id", "off"});
  CtlResult r = Ctl({"reload"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Contains(r.out, "h1:off: no answer (nothing subscribes"))
      << r.out;
  EXPECT_LT(r.took.count(), 4000) << "no waiting for nobody";
}

TEST_F(QueuectlControlTest, UsageErrorsExitTwo) {
  FakeDaemon a(redis_.port(), "h1", "a", 101);
  EXPECT_EQ(Ctl({"reload", "--timeout", "soon"}).code, 2);
  EXPECT_EQ(Ctl({"ps", "--timeout", "0s"}).code, 2);
  EXPECT_EQ(Ctl({"restart", "--site", "a"}).code, 2) << "restart takes no site";
  EXPECT_EQ(Ctl({"stop", "--json"}).code, 2);
  CtlResult r = Ctl({"ps", "--secret-file", dir_.File("missing")});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(Contains(r.err, dir_.File("missing"))) << r.err;
  dir_.Write("short", "short\n");
  chmod(dir_.File("short").c_str(), 0600);
  EXPECT_EQ(Ctl({"ps", "--secret-file", dir_.File("short")}).code, 2);
  EXPECT_TRUE(a.received().empty());
}

TEST_F(QueuectlControlTest, PsPrintsATableOfTheAnswersData) {
  auto data = [](const char* id, int64_t pid) {
    return Json{{"host", "h1"},
                {"id", id},
                {"pid", pid},
                {"uptime_s", 3725},
                {"sites", {"a", "b"}},
                {"workers", 2},
                {"ready", 2},
                {"threads", 4},
                {"rss", 10 * 1048576},
                {"jobs_per_s", 12.5},
                {"paused", Json::array()}};
  };
  FakeDaemon a(redis_.port(), "h1", "a", 101, true,
               [&](const ControlCommand&, ControlReply* r) {
                 r->data = data("a", 101);
                 return true;
               });
  FakeDaemon b(redis_.port(), "h1", "bb", 102, true,
               [&](const ControlCommand&, ControlReply* r) {
                 r->data = data("bb", 102);
                 r->data["paused"] = {"*"};
                 r->data["uptime_s"] = 42;
                 return true;
               });
  CtlResult r = Ctl({"ps"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0].rfind("HOST  ID  PID  UPTIME  SITES  WORKERS  RSS", 0), 0u)
      << lines[0];
  EXPECT_EQ(lines[1],
            "h1    a   101  1h02m   a,b    2/4      10.0MiB  12.5    -");
  EXPECT_EQ(lines[2],
            "h1    bb  102  42s     a,b    2/4      10.0MiB  12.5    *");

  r = Ctl({"ps", "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(Json::parse(lines[0]), data("a", 101));
  EXPECT_EQ(Json::parse(lines[1])["paused"], Json({"*"}));
}

TEST_F(QueuectlControlTest, PsReportsASilentDaemonOnStderr) {
  FakeDaemon a(redis_.port(), "h1", "a", 101, true,
               [&](const ControlCommand&, ControlReply* r) {
                 r->data = {{"sites", {"a"}}};
                 return true;
               });
  FakeDaemon mute(redis_.port(), "h1", "mute", 103, true,
                  [](const ControlCommand&, ControlReply*) { return false; });
  CtlResult r = Ctl({"ps", "--json", "--timeout", "300ms"});
  EXPECT_EQ(r.code, 1);
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  Json j = Json::parse(lines[0]);
  EXPECT_EQ(j["host"], "h1") << "filled in from the reply";
  EXPECT_EQ(j["pid"], 101);
  EXPECT_EQ(r.err, "queuectl: h1:mute: no answer within 300ms\n");
}

TEST_F(QueuectlControlTest, SignsWithTheSecretFile) {
  std::string secret = SecretFile("secret", kSecret);
  FakeDaemon a(redis_.port(), "h1", "a", 101, true, nullptr, kSecret);
  CtlResult r = Ctl({"ps", "--secret-file", secret});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(a.payloads().size(), 1u);
  EXPECT_EQ(a.payloads()[0].rfind("v1:", 0), 0u) << a.payloads()[0];

  // Unsigned, or signed with another secret: the daemon says nothing.
  EXPECT_EQ(Ctl({"ps", "--timeout", "300ms"}).code, 1);
  std::string other = SecretFile("other", "another-secret-16-bytes");
  EXPECT_EQ(Ctl({"ps", "--timeout", "300ms", "--secret-file", other}).code, 1);
  EXPECT_EQ(a.answered(), 1);

  // The config's control.secret_file is the default.
  dir_.Write("ctl.yaml", "control: { secret_file: " + secret +
                             " }\nsites: { a: { queues: { jobs: { handler: "
                             "noop } } } }\n");
  r = Ctl({"-c", "ctl.yaml", "ps"});
  EXPECT_EQ(r.code, 0) << r.err;
  // The fake counts after its RPUSH, which queuectl may read first.
  EXPECT_TRUE(WaitFor([&] { return a.answered() == 2; }, milliseconds(2000)));
}

// Two real daemons (ids d1 and d2, two workers each) on one Redis, sites a
// and b with queue `jobs` run by testkit into RUN_DIR/record.txt.
class ControlTest : public ::testing::Test {
 protected:
  static std::string DaemonYaml(const std::string& redis_url,
                                const std::string& top_extra,
                                const std::string& record_a = "record.txt",
                                const std::string& record_b = "record.txt") {
    auto queue = [](const std::string& record) {
      return "      jobs: { handler: testkit, record: RUN_DIR/" + record +
             ", max_attempts: 3, retry_base: 50ms }\n";
    };
    return "daemon:\n  threads: 2\n  run_dir: RUN_DIR/run\n"
           "  shutdown_timeout: 5s\n  kill_grace: 500ms\n"
           "redis: " +
           redis_url + "\nplugins: { dir: " + PluginDir() +
           ", load: [testkit] }\n" + top_extra + "sites:\n  a:\n    queues:\n" +
           queue(record_a) + "  b:\n    queues:\n" + queue(record_b);
  }

  // Starts daemons d1..dN and waits until they serve and listen.
  void Start(int n, const std::string& top_extra = "") {
    for (int i = 1; i <= n; ++i) {
      daemons_.push_back(std::make_unique<Daemon>(
          DaemonYaml(redis_.url(), top_extra),
          std::vector<std::string>{"-i", "d" + std::to_string(i)}));
    }
    for (int i = 0; i < n; ++i) {
      Daemon& d = *daemons_[i];
      ASSERT_TRUE(d.WaitForWorkers(2)) << d.Log();
      std::string key =
          "qd:{qd}:daemon:" + host_ + ":d" + std::to_string(i + 1);
      ASSERT_TRUE(WaitFor(
          [&] {
            return RedisInt(redis_.port(), {"EXISTS", key}) == 1;
          },
          milliseconds(10000)))
          << key << "\n"
          << d.Log();
    }
    ASSERT_TRUE(WaitFor([&] { return Subscribers(redis_.port()) >= n; },
                        milliseconds(10000)))
        << "every master subscribes to qd:control; "
        << Subscribers(redis_.port()) << " do\n"
        << daemons_[0]->Log();
  }

  Daemon& d(int i) { return *daemons_[i - 1]; }
  CtlResult Ctl(const std::vector<std::string>& args) {
    return test::Ctl(dir_, redis_.url(), args);
  }
  // The answer line of daemon dI in queuectl's output, "" if none.
  std::string LineOf(const CtlResult& r, int i) {
    std::string prefix = host_ + ":d" + std::to_string(i) + " ";
    for (const auto& line : Lines(r.out)) {
      if (line.rfind(prefix, 0) == 0) return line;
    }
    return "";
  }
  // Whether some line of the log holds every one of `words`.
  static bool LogLineWith(const Daemon& d,
                          const std::vector<std::string>& words) {
    for (const auto& line : Lines(d.Log())) {
      bool all = true;
      for (const auto& w : words) all = all && Contains(line, w);
      if (all) return true;
    }
    return false;
  }
  // Whether `d` runs two workers and none of them is in `before`.
  static bool AllWorkersReplaced(const Daemon& d,
                                 const std::set<pid_t>& before) {
    auto now = d.Workers();
    if (now.size() != 2) return false;
    for (const auto& [slot, pid] : now) {
      if (before.count(pid) != 0) return false;
    }
    return true;
  }
  void Enqueue(const std::string& site, const std::vector<std::string>& p) {
    std::vector<std::vector<std::string>> cmds;
    for (const auto& payload : p) {
      cmds.push_back(
          {"XADD", "qd:{" + site + "}:q:jobs", "*", "payload", payload});
    }
    ASSERT_EQ(RedisPipeline(redis_.port(), cmds), cmds.size());
  }
  static std::vector<std::string> Numbered(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
    return out;
  }
  // Payload -> runs, over every daemon's record file `name`.
  std::map<std::string, int> Record(const std::string& name = "record.txt") {
    std::map<std::string, int> all;
    for (const auto& d : daemons_) {
      for (const auto& [p, n] : ReadRecord(d->dir().File(name))) {
        all[p] += n;
      }
    }
    return all;
  }
  long long Len(const std::string& site) {
    return RedisInt(redis_.port(), {"XLEN", "qd:{" + site + "}:q:jobs"});
  }
  // The jobs of `site` not acked: pending or not yet delivered. Unlike
  // XLEN, a job a paused worker gave back counts once (its acked original
  // stays in the stream until a trim).
  long long Owed(const std::string& site) {
    std::string key = "qd:{" + site + "}:q:jobs";
    return Pending(redis_.port(), key) + Undelivered(redis_, key);
  }
  std::string Logs() {
    std::string out;
    for (const auto& d : daemons_) out += d->Log() + "----\n";
    return out;
  }

  RedisServer redis_;
  TempDir dir_;
  std::string host_ = Process::HostName();
  std::vector<std::unique_ptr<Daemon>> daemons_;
};

TEST_F(ControlTest, PsListsBothDaemons) {
  Start(2);
  CtlResult r = Ctl({"ps"});
  ASSERT_EQ(r.code, 0) << r.out << r.err << Logs();
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (int i = 1; i <= 2; ++i) {
    bool found = false;
    for (const auto& line : lines) {
      found = found || (line.rfind(host_ + " ", 0) == 0 &&
                        Contains(line, " d" + std::to_string(i) + " ") &&
                        Contains(line, " " + std::to_string(d(i).pid()) + " "));
    }
    EXPECT_TRUE(found) << "d" << i << "\n" << r.out;
  }

  r = Ctl({"ps", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  std::set<std::string> ids;
  for (const auto& line : lines) {
    Json j = Json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    ids.insert(j.value("id", ""));
    int i = j.value("id", "") == "d1" ? 1 : 2;
    EXPECT_EQ(j.value("host", ""), host_) << line;
    EXPECT_EQ(j.value("pid", 0), d(i).pid()) << line;
    EXPECT_EQ(j["sites"], Json({"a", "b"})) << line;
    EXPECT_EQ(j.value("workers", -1), 2) << line;
    EXPECT_EQ(j.value("threads", -1), 2) << line;
    EXPECT_GT(j.value("rss", 0), 0) << line;
    EXPECT_TRUE(j.contains("uptime_s") && j.contains("jobs_per_s")) << line;
    EXPECT_EQ(j["paused"], Json::array()) << line;
  }
  EXPECT_EQ(ids, (std::set<std::string>{"d1", "d2"}));

  r = Ctl({"ps", "-i", "d2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 2u) << r.out;
}

TEST_F(ControlTest, ReloadOfOneSiteReloadsOnlyThatSiteOnBoth) {
  Start(2);
  // Both sites of the new config record elsewhere; only site a's change
  // may take effect.
  std::set<pid_t> before;
  for (int i = 1; i <= 2; ++i) {
    std::string text =
        DaemonYaml(redis_.url(), "", "record-new.txt", "record-new.txt");
    for (size_t at; (at = text.find("RUN_DIR")) != std::string::npos;) {
      text.replace(at, 7, d(i).dir().path());
    }
    d(i).dir().Write("qd.yaml", text);
    for (const auto& [slot, pid] : d(i).Workers()) before.insert(pid);
  }
  CtlResult r = Ctl({"reload", "--site", "a"});
  EXPECT_EQ(r.code, 0) << r.out << r.err << Logs();
  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(Contains(LineOf(r, i), ": ok - ")) << r.out;
    EXPECT_TRUE(WaitFor(
        [&] {
          return LogLineWith(d(i), {"reload", "site a"});
        },
        milliseconds(5000)))
        << d(i).Log();
    EXPECT_FALSE(LogLineWith(d(i), {"reload", "site b"})) << d(i).Log();
    // The reply says the workers roll over: wait for the new ones.
    EXPECT_TRUE(WaitFor([&] { return AllWorkersReplaced(d(i), before); },
                        milliseconds(15000)))
        << d(i).Log();
  }
  auto after_a = Numbered("after-a", 20);
  auto after_b = Numbered("after-b", 20);
  Enqueue("a", after_a);
  Enqueue("b", after_b);
  std::map<std::string, int> old_rec, new_rec;
  EXPECT_TRUE(WaitFor(
      [&] {
        old_rec = Record("record.txt");
        new_rec = Record("record-new.txt");
        for (const auto& p : after_a) {
          if (!old_rec.count(p) && !new_rec.count(p)) return false;
        }
        for (const auto& p : after_b) {
          if (!old_rec.count(p) && !new_rec.count(p)) return false;
        }
        return true;
      },
      milliseconds(10000)))
      << Logs();
  for (const auto& p : after_a) {
    EXPECT_EQ(new_rec.count(p), 1u) << p << ": site a runs its new config";
  }
  for (const auto& p : after_b) {
    EXPECT_EQ(old_rec.count(p), 1u) << p << ": site b keeps its old config";
  }
}

TEST_F(ControlTest, ADaemonToldWhatItCannotDoAnswersWhy) {
  Start(2);
  CtlResult r = Ctl({"reload", "--site", "nope"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  for (int i = 1; i <= 2; ++i) {
    std::string line = LineOf(r, i);
    EXPECT_TRUE(Contains(line, ": FAILED - ")) << r.out;
    EXPECT_TRUE(Contains(line, "nope")) << "names the site: " << line;
  }
  EXPECT_TRUE(Alive(d(1).pid()) && Alive(d(2).pid()));
}

TEST_F(ControlTest, RestartDuringARunLosesNothingAndRenewsEverySlot) {
  Start(2);
  std::set<pid_t> before;
  for (int i = 1; i <= 2; ++i) {
    for (const auto& [slot, pid] : d(i).Workers()) before.insert(pid);
  }
  ASSERT_EQ(before.size(), 4u);
  // 1 ms each: 20,000 jobs take 4 workers at least 5 s, so the restart
  // lands mid-run.
  auto payloads = Numbered("sleep:1#", 20000);
  Enqueue("a", payloads);
  ASSERT_TRUE(
      WaitFor([&] { return Record().size() > 1000; }, milliseconds(20000)))
      << Logs();
  CtlResult r = Ctl({"restart", "--timeout", "30s"});
  size_t done_at_restart = Record().size();
  EXPECT_EQ(r.code, 0) << r.out << r.err << Logs();
  EXPECT_TRUE(Contains(LineOf(r, 1), ": ok - ")) << r.out;
  EXPECT_TRUE(Contains(LineOf(r, 2), ": ok - ")) << r.out;
  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(WaitFor([&] { return AllWorkersReplaced(d(i), before); },
                        milliseconds(30000)))
        << "every slot of d" << i << " has a new pid\n"
        << d(i).Log();
  }
  std::map<std::string, int> rec;
  WaitFor(
      [&] {
        rec = Record();
        for (const auto& p : payloads) {
          if (rec.count(p) == 0) return false;
        }
        return true;
      },
      milliseconds(60000));
  size_t lost = 0, duplicates = 0;
  for (const auto& p : payloads) {
    lost += rec.count(p) == 0;
    if (rec.count(p)) duplicates += rec[p] - 1;
  }
  EXPECT_EQ(lost, 0u) << Logs();
  std::printf("restart after %zu of 20000 jobs: lost %zu, duplicates %zu\n",
              done_at_restart, lost, duplicates);
  EXPECT_LT(done_at_restart, payloads.size()) << "restarted mid-run";
}

TEST_F(ControlTest, DrainStopsConsumptionAndResumeRestartsIt) {
  Start(2);
  CtlResult r = Ctl({"drain"});
  ASSERT_EQ(r.code, 0) << r.out << r.err << Logs();
  auto payloads = Numbered("held", 200);
  Enqueue("a", payloads);
  Enqueue("b", {"held-b"});
  // Nothing is fetched while drained: the streams keep every entry.
  EXPECT_FALSE(WaitFor([&] { return Len("a") < 200 || Len("b") < 1; },
                       milliseconds(1500)))
      << Logs();
  EXPECT_TRUE(Record().empty());
  Enqueue("a", {"held-more"});
  EXPECT_EQ(Owed("a"), 201) << "the stream grows";
  r = Ctl({"ps", "--json"});
  for (const auto& line : Lines(r.out)) {
    Json paused = Json::parse(line)["paused"];
    EXPECT_TRUE(paused == Json({"*"}) || paused == Json({"a", "b"})) << line;
  }

  r = Ctl({"resume"});
  ASSERT_EQ(r.code, 0) << r.out << r.err << Logs();
  EXPECT_TRUE(WaitFor([&] { return Len("a") == 0 && Len("b") == 0; },
                      milliseconds(20000)))
      << Logs();
  auto rec = Record();
  for (const auto& p : payloads) EXPECT_EQ(rec.count(p), 1u) << p;
  EXPECT_EQ(rec.count("held-b"), 1u);
}

TEST_F(ControlTest, DrainingOneSiteLeavesTheOtherServed) {
  Start(2);
  CtlResult r = Ctl({"drain", "--site", "a"});
  ASSERT_EQ(r.code, 0) << r.out << r.err << Logs();
  Enqueue("a", Numbered("held", 100));
  Enqueue("b", Numbered("served", 100));
  ASSERT_TRUE(WaitFor([&] { return Len("b") == 0; }, milliseconds(10000)))
      << Logs();
  EXPECT_EQ(Owed("a"), 100) << "site a is drained while b ran";
  r = Ctl({"ps", "--json"});
  for (const auto& line : Lines(r.out)) {
    EXPECT_EQ(Json::parse(line)["paused"], Json({"a"})) << line;
  }
  r = Ctl({"resume", "--site", "a"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(WaitFor([&] { return Len("a") == 0; }, milliseconds(10000)))
      << Logs();
}

TEST_F(ControlTest, StopOfOneIdStopsThatDaemonOnly) {
  Start(2);
  CtlResult r = Ctl({"stop", "-i", "d1"});
  EXPECT_EQ(r.code, 0) << r.out << r.err << Logs();
  EXPECT_EQ(Lines(r.out).size(), 1u) << r.out;
  EXPECT_TRUE(Contains(LineOf(r, 1), ": ok - ")) << r.out;
  EXPECT_EQ(d(1).WaitExit(milliseconds(15000)), 0) << d(1).Log();
  EXPECT_TRUE(Alive(d(2).pid()));
  EXPECT_EQ(d(2).Workers().size(), 2u);
  r = Ctl({"ps", "-i", "d2"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  Enqueue("a", {"after-stop"});
  EXPECT_TRUE(WaitFor(
      [&] {
        return ReadRecord(d(2).dir().File("record.txt")).count("after-stop");
      },
      milliseconds(10000)))
      << d(2).Log();
}

// Without a secret a command's clock is not checked (it could be forged
// anyway): a host whose clock is minutes off is still answered.
TEST_F(ControlTest, WithoutASecretASkewedClockIsAnswered) {
  Start(1, "");
  ControlCommand ps = ControlCommand::Make("ps");
  ps.ts_ms -= 10 * ControlCommand::kMaxSkewMs;
  Command(redis_.port(), {"PUBLISH", kControlChannel, ps.Encode()});
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"LLEN", ps.reply_to}) == 1;
      },
      milliseconds(5000)))
      << d(1).Log();
  EXPECT_EQ(d(1).LogCount("refused"), 0u) << d(1).Log();

  // The same request id again is refused, signed or not: no second answer.
  Command(redis_.port(), {"PUBLISH", kControlChannel, ps.Encode()});
  EXPECT_TRUE(d(1).WaitForLog("refused: replayed command ps (" + ps.req + ")"))
      << d(1).Log();
  EXPECT_EQ(RedisInt(redis_.port(), {"LLEN", ps.reply_to}), 1);
}

TEST_F(ControlTest, WithASecretUnsignedCommandsAreRefused) {
  dir_.Write("secret", std::string(kSecret) + "\n");
  ASSERT_EQ(chmod(dir_.File("secret").c_str(), 0600), 0);
  Start(2, "control: { secret_file: " + dir_.File("secret") + " }\n");

  // An unsigned stop, as redis-cli would send it.
  ControlCommand stop = ControlCommand::Make("stop");
  stop.req = "unsigned1";
  stop.reply_to = "qd:{qd}:control:reply:unsigned1";
  std::string sent = RedisCommand("127.0.0.1", redis_.port(),
                                  "PUBLISH qd:control " + stop.Encode());
  EXPECT_EQ(sent, "2") << "both daemons received it";
  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(d(i).WaitForLog("refused")) << d(i).Log();
  }
  // A signed one from long ago (replayed) is refused too.
  ControlCommand stale = ControlCommand::Make("stop");
  stale.ts_ms -= 10 * ControlCommand::kMaxSkewMs;
  Command(redis_.port(),
          {"PUBLISH", kControlChannel, SealControl(stale.Encode(), kSecret)});

  // Without the secret queuectl gets no answer; with it, it does. The
  // daemons handle messages in order, so they answer after refusing both.
  CtlResult r = Ctl({"ps", "--timeout", "1s"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Contains(r.err, "no answer")) << r.err;
  r = Ctl({"ps", "--secret-file", dir_.File("secret")});
  EXPECT_EQ(r.code, 0) << r.out << r.err << Logs();
  dir_.Write("ctl.yaml", "control: { secret_file: " + dir_.File("secret") +
                             " }\nsites: { a: { queues: { jobs: { handler: "
                             "noop } } } }\n");
  r = Ctl({"-c", "ctl.yaml", "ps"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  for (int i = 1; i <= 2; ++i) {
    EXPECT_TRUE(Alive(d(i).pid())) << d(i).Log();
    // Refusals are logged at most once a second: one line at least.
    EXPECT_GE(d(i).LogCount("refused"), 1u) << d(i).Log();
  }
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", stop.reply_to}), 0)
      << "nobody answered the unsigned command";
  EXPECT_EQ(RedisInt(redis_.port(), {"EXISTS", stale.reply_to}), 0);
}

}  // namespace
}  // namespace qd::test
