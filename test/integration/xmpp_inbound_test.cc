// Receiving XMPP messages end to end: the real daemon holds the link of
// alice (with `inbound: chat`) on a real prosody, and bob and carol
// (XmppTestClient) send to her. Checked: chat and normal messages become
// jobs with their fields, and a handler answers through the `xmpp` queue;
// offline messages arrive at login; inbound_from drops and counts others;
// no message is lost while Redis is down or refuses the writes; a draining
// worker leaves new messages to the server's offline storage.
//
// The chat queue's handler is exec running record.sh, which appends each
// payload (one JSON line) to a file: what the handler saw, in order.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/util/units.h"
#include "daemon_harness.h"
#include "prosody_server.h"

namespace qd::test {
namespace {

constexpr char kAlicePassword[] = "alice-daemon-pw";
constexpr char kBobPassword[] = "bob-pw";
constexpr char kCarolPassword[] = "carol-pw";

// $1: the record file; $2 = fail: exit 1 after recording (the job goes to
// the dead stream with all its fields). A body "slow" takes 3 s.
constexpr char kRecordScript[] = R"sh(p=$(cat)
printf '%s\n' "$p" >> "$1"
case "$p" in *'"body":"slow"'*) sleep 3 ;; esac
[ "$2" != fail ]
)sh";

// The `xmpp` queue's answer to each message: "echo: BODY" to its sender,
// with jq and queuectl as docs/xmpp.md shows. $1: the daemon's config.
constexpr char kEchoScript[] =
    R"sh(jq -c '{to: .from, body: ("echo: " + .body)}' |
  "$QUEUECTL" -c "$1" enqueue a xmpp - >/dev/null
)sh";

class XmppInboundTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(prosody_.Register("alice", kAlicePassword));
    ASSERT_TRUE(prosody_.Register("bob", kBobPassword));
    ASSERT_TRUE(prosody_.Register("carol", kCarolPassword));
    scripts_.Write("record.sh", kRecordScript);
    scripts_.Write("echo.sh", kEchoScript);
  }

  // Site `a` with the queue `chat` (`chat` is its YAML flow map) and the
  // account alerts (alice) receiving into it; `extra` goes into the
  // account's map, `top` after everything.
  std::string Config(const std::string& chat, const std::string& extra = "",
                     const std::string& top = "") const {
    return "daemon:\n  threads: 1\n  run_dir: RUN_DIR/run\n"
           "  shutdown_timeout: 10s\nredis: " +
           redis_.url() + "\nsites:\n  a:\n    queues:\n      chat: " + chat +
           "\nxmpp:\n  alerts:\n    jid: " + prosody_.Jid("alice") +
           "\n    password: " + kAlicePassword +
           "\n    host: 127.0.0.1\n    port: " +
           std::to_string(prosody_.port()) +
           "\n    ca_file: " + prosody_.cert_file() +
           "\n    site: a\n    connect_timeout: 3s\n    inbound: chat\n" +
           extra + top;
  }

  // The exec queue that records every payload into RUN_DIR/got.jsonl.
  std::string Recording(bool fail = false) const {
    return "{ handler: exec, command: [sh, " + scripts_.File("record.sh") +
           ", RUN_DIR/got.jsonl" + (fail ? ", fail" : "") + "] }";
  }

  // The payloads the handler ran, parsed, in order.
  static std::vector<nlohmann::json> Got(const Daemon& daemon) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(ReadFileText(daemon.dir().File("got.jsonl")));
    for (std::string line; std::getline(lines, line);) {
      out.push_back(nlohmann::json::parse(line, nullptr, false));
    }
    return out;
  }
  // How often each body was run.
  static std::map<std::string, int> Bodies(const Daemon& daemon) {
    std::map<std::string, int> out;
    for (const auto& j : Got(daemon)) {
      if (j.is_object() && j.contains("body")) ++out[j["body"]];
    }
    return out;
  }
  // Waits until every one of `want` was run at least once.
  static bool WaitForBodies(const Daemon& daemon,
                            const std::set<std::string>& want,
                            milliseconds deadline) {
    return WaitFor(
        [&] {
          auto got = Bodies(daemon);
          for (const auto& body : want) {
            if (got.count(body) == 0) return false;
          }
          return true;
        },
        deadline);
  }

  std::unique_ptr<XmppTestClient> Login(const std::string& user,
                                        const std::string& password) {
    auto client = std::make_unique<XmppTestClient>(
        prosody_.port(), prosody_.domain(), user, password);
    EXPECT_TRUE(client->ok()) << client->error();
    return client;
  }

  // Sends "PREFIX 0" .. "PREFIX n-1" to alice; returns the bodies.
  std::set<std::string> SendNumbered(XmppTestClient& from,
                                     const std::string& prefix, int n) {
    std::set<std::string> bodies;
    for (int i = 0; i < n; ++i) {
      std::string body = prefix + " " + std::to_string(i);
      EXPECT_TRUE(from.SendMessage(prosody_.Jid("alice"), body));
      bodies.insert(body);
    }
    return bodies;
  }

  static bool WaitReady(Daemon& daemon, size_t count = 1) {
    return daemon.WaitForLog("xmpp alerts: ready as", count,
                             milliseconds(10000));
  }

  // Every entry of the stream `key`, oldest first, as field -> value.
  std::vector<std::map<std::string, std::string>> Entries(
      const std::string& key) const {
    std::vector<std::map<std::string, std::string>> out;
    std::string after = "-";
    for (;;) {
      auto flat = RedisStrings(redis_.port(),
                               {"XRANGE", key, after, "+", "COUNT", "1"});
      if (flat.empty()) return out;
      std::map<std::string, std::string> entry;
      for (size_t i = 1; i + 1 < flat.size(); i += 2) {
        entry[flat[i]] = flat[i + 1];
      }
      out.push_back(entry);
      after = "(" + flat[0];
    }
  }

  ProsodyServer prosody_;
  RedisServer redis_{/*aof=*/true};  // restarted with its data in one test
  TempDir scripts_;
};

TEST_F(XmppInboundTest, ChatAndNormalMessagesBecomeJobsWithTheirFields) {
  // The handler records and fails, so the dead stream keeps every job with
  // all its fields (a job that succeeds is deleted once acked).
  Daemon daemon(Config(Recording(/*fail=*/true)));
  ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
  ASSERT_TRUE(daemon.WaitForLog(
      "xmpp alerts: received messages go to queue chat of site a"));
  auto bob = Login("bob", kBobPassword);
  ASSERT_TRUE(bob->ok());
  int64_t before = EpochMs();
  // What is no job comes first: were it one, it would be there first.
  const std::string to = "to='" + prosody_.Jid("alice") + "'";
  ASSERT_TRUE(bob->SendRaw("<message " + to +
                           " type='headline'><body>news</body></message>"));
  ASSERT_TRUE(
      bob->SendRaw("<message " + to +
                   " type='chat'><composing xmlns='http://jabber.org/protocol/"
                   "chatstates'/></message>"));
  ASSERT_TRUE(bob->SendRaw("<message " + to +
                           " type='chat' id='c-1'><body>hello &lt;b&gt; "
                           "&amp; 'q'</body></message>"));
  ASSERT_TRUE(bob->SendRaw("<message " + to +
                           " type='normal' id='n-1'><body>second</body>"
                           "</message>"));
  ASSERT_TRUE(bob->SendRaw("<message " + to + "><body>third</body></message>"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:chat"}) >= 3;
      },
      milliseconds(10000)))
      << daemon.Log();
  int64_t after = EpochMs();

  auto dead = Entries("qd:{a}:dead:chat");
  ASSERT_EQ(dead.size(), 3u) << daemon.Log();
  struct Want {
    std::string body, type, id;
  };
  std::vector<Want> want = {{"hello <b> & 'q'", "chat", "c-1"},
                            {"second", "normal", "n-1"},
                            {"third", "normal", ""}};
  for (size_t i = 0; i < want.size(); ++i) {
    auto& job = dead[i];
    SCOPED_TRACE(want[i].body);
    EXPECT_EQ(job["body"], want[i].body);
    EXPECT_EQ(job["type"], want[i].type);
    EXPECT_EQ(job.count("id") ? job["id"] : "(none)",
              want[i].id.empty() ? "(none)" : want[i].id);
    EXPECT_EQ(job["from"], bob->jid());  // the full JID, as prosody stamps
    EXPECT_EQ(job["to"], prosody_.Jid("alice"));
    int64_t received = std::stoll(job["received_at"]);
    EXPECT_GE(received, before);
    EXPECT_LE(received, after);
    EXPECT_EQ(job["enqueued_at"], job["received_at"]);
    EXPECT_EQ(job.count("delay"), 0u);  // delivered live
    EXPECT_EQ(job["origin_queue"], "chat");
    // The payload says the same, for handlers that see only it.
    auto payload = nlohmann::json::parse(job["payload"]);
    EXPECT_EQ(payload["from"], job["from"]);
    EXPECT_EQ(payload["to"], job["to"]);
    EXPECT_EQ(payload["body"], job["body"]);
    EXPECT_EQ(payload["type"], job["type"]);
    EXPECT_EQ(payload.value("id", ""), want[i].id);
    EXPECT_EQ(payload["received_at"], received);
  }
  // The handler ran each once, with that payload.
  auto got = Got(daemon);
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], nlohmann::json::parse(dead[i]["payload"]));
  }
  EXPECT_EQ(daemon.Log().find(kAlicePassword), std::string::npos);
}

TEST_F(XmppInboundTest, HandlerAnswersThroughTheXmppQueue) {
  Daemon daemon(Config(
      "{ handler: exec, command: [sh, " + scripts_.File("echo.sh") +
      ", RUN_DIR/qd.yaml], env: { QUEUECTL: " + std::string(QD_BINARY_DIR) +
      "/queuectl } }"));
  ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
  auto bob = Login("bob", kBobPassword);
  ASSERT_TRUE(bob->ok());
  ASSERT_TRUE(bob->SendMessage(prosody_.Jid("alice"), "ping & <pong>"));
  auto answer = bob->WaitForMessageBody(milliseconds(15000));
  ASSERT_TRUE(answer.has_value()) << daemon.Log();
  EXPECT_EQ(*answer, "echo: ping & <pong>");
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:chat"}) == 0 &&
               RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:xmpp"}) == 0;
      },
      milliseconds(5000)));
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:chat"}), 0);
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:xmpp"}), 0);
}

TEST_F(XmppInboundTest, OfflineMessagesBecomeJobsAtLogin) {
  std::set<std::string> want;
  {
    // Alice is not logged in: prosody stores them. Closing bob's stream
    // waits for the server, which handles the messages before it.
    auto bob = Login("bob", kBobPassword);
    ASSERT_TRUE(bob->ok());
    want = SendNumbered(*bob, "while away", 3);
  }
  Daemon daemon(Config(Recording()));
  ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
  ASSERT_TRUE(WaitForBodies(daemon, want, milliseconds(10000))) << daemon.Log();
  for (const auto& job : Got(daemon)) {
    // Stored offline: the stamp of when the server took it.
    EXPECT_TRUE(job.contains("delay")) << job.dump();
    EXPECT_EQ(job["type"], "chat");
  }
  EXPECT_EQ(Got(daemon).size(), 3u);
}

// The sums of the statsd counters the daemon sent to `udp` (prefix qd),
// by name, until `done(sums)` holds.
bool WaitForCounters(
    UdpReceiver& udp,
    const std::function<bool(const std::map<std::string, double>&)>& done,
    std::map<std::string, double>* sums, milliseconds deadline) {
  return WaitFor(
      [&] {
        for (const auto& datagram : udp.Receive(milliseconds(50))) {
          std::istringstream lines(datagram);
          for (std::string line; std::getline(lines, line);) {
            size_t colon = line.find(':');
            if (line.rfind("qd.", 0) != 0 || colon == std::string::npos ||
                line.find("|c") == std::string::npos) {
              continue;
            }
            (*sums)[line.substr(3, colon - 3)] +=
                std::stod(line.substr(colon + 1));
          }
        }
        return done(*sums);
      },
      deadline);
}

TEST_F(XmppInboundTest, InboundFromDropsAndCountsOtherSenders) {
  UdpReceiver udp;
  Daemon daemon(
      Config(Recording(), "    inbound_from: [Bob@localhost]\n",
             "monitor: { udp: 127.0.0.1:" + std::to_string(udp.port()) +
                 ", interval: 100ms }\n"));
  ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
  auto carol = Login("carol", kCarolPassword);
  auto bob = Login("bob", kBobPassword);
  ASSERT_TRUE(carol->ok() && bob->ok());
  SendNumbered(*carol, "from carol", 20);
  // Carol's went first: once bob's job ran, hers were all handled.
  ASSERT_TRUE(bob->SendMessage(prosody_.Jid("alice"), "from bob"));
  ASSERT_TRUE(WaitForBodies(daemon, {"from bob"}, milliseconds(10000)))
      << daemon.Log();
  EXPECT_EQ(Bodies(daemon), (std::map<std::string, int>{{"from bob", 1}}));
  std::map<std::string, double> counts;
  EXPECT_TRUE(WaitForCounters(
      udp,
      [](const std::map<std::string, double>& c) {
        return c.count("xmpp.inbound.dropped") != 0 &&
               c.at("xmpp.inbound.dropped") >= 20 &&
               c.count("xmpp.inbound.written") != 0;
      },
      &counts, milliseconds(5000)));
  EXPECT_EQ(counts["xmpp.inbound.dropped"], 20);
  EXPECT_EQ(counts["xmpp.inbound.received"], 1);
  EXPECT_EQ(counts["xmpp.inbound.written"], 1);
  // Logged with the sender, a burst at most.
  size_t lines = daemon.LogCount("dropped: the sender is not in inbound_from");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 5u) << daemon.Log();
  EXPECT_NE(daemon.Log().find("message from '" + carol->jid() + "' dropped"),
            std::string::npos)
      << daemon.Log();
}

TEST_F(XmppInboundTest, NoMessageIsLostWhileRedisIsDown) {
  // A held link whose pings were awaited would be declared dead within a
  // second: it must not be.
  Daemon daemon(Config(Recording(),
                       "    ping_interval: 300ms\n    ping_timeout: 700ms\n"));
  ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
  auto bob = Login("bob", kBobPassword);
  ASSERT_TRUE(bob->ok());
  ASSERT_TRUE(WaitForBodies(daemon, SendNumbered(*bob, "before", 5),
                            milliseconds(10000)))
      << daemon.Log();

  redis_.Kill();
  // More than the window of 32: the link stops reading, the rest waits in
  // the sockets.
  std::set<std::string> want = SendNumbered(*bob, "while down", 100);
  ASSERT_TRUE(daemon.WaitForLog("received messages wait for qd:{a}:q:chat", 1,
                                milliseconds(10000)))
      << daemon.Log();
  EXPECT_FALSE(daemon.WaitForLog("no answer to a ping", 1, milliseconds(2500)))
      << daemon.Log();
  ASSERT_TRUE(redis_.Start());
  ASSERT_TRUE(WaitForBodies(daemon, want, milliseconds(30000)))
      << Bodies(daemon).size() << " bodies\n"
      << daemon.Log();
  EXPECT_TRUE(daemon.WaitForLog("reading again", 1, milliseconds(5000)));
  EXPECT_EQ(daemon.LogCount("xmpp alerts (alice@localhost via"), 0u)
      << daemon.Log();  // the link never failed
  size_t twice = 0;
  for (const auto& [body, runs] : Bodies(daemon)) twice += runs > 1;
  // At least once is the promise; none is expected here (no XADD was in
  // flight when Redis died).
  std::cout << "[ report   ] " << twice << " of " << want.size() + 5
            << " messages became two jobs\n";
  EXPECT_EQ(twice, 0u);
}

// XADD calls Redis has run (INFO commandstats), -1 if unknown.
long long XaddCalls(int port) {
  std::string info = RedisCommand("127.0.0.1", port, "INFO commandstats");
  size_t at = info.find("cmdstat_xadd:calls=");
  if (at == std::string::npos) return info.empty() ? -1 : 0;
  return std::stoll(info.substr(at + 19));
}

TEST_F(XmppInboundTest, RefusedWritesAreSentAgainWithBackoff) {
  Daemon daemon(Config(Recording()));
  ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
  // Another program wrote a string where the queue's stream belongs.
  ASSERT_EQ(RedisPipeline(redis_.port(), {{"DEL", "qd:{a}:q:chat"},
                                          {"SET", "qd:{a}:q:chat", "x"}}),
            2u);
  auto bob = Login("bob", kBobPassword);
  ASSERT_TRUE(bob->ok());
  std::set<std::string> want = SendNumbered(*bob, "refused", 3);
  ASSERT_TRUE(daemon.WaitForLog("XADD qd:{a}:q:chat: WRONGTYPE", 1,
                                milliseconds(10000)))
      << daemon.Log();
  // Sent again after 100 ms doubling to 5 s: a handful of tries, never a
  // spin; logged once.
  long long calls = XaddCalls(redis_.port());
  ASSERT_GE(calls, 1);
  EXPECT_FALSE(WaitFor([&] { return XaddCalls(redis_.port()) > calls + 30; },
                       milliseconds(2000)));
  EXPECT_EQ(daemon.LogCount("XADD qd:{a}:q:chat: WRONGTYPE"), 1u);
  EXPECT_TRUE(Got(daemon).empty());
  // Fixed: every message arrives.
  ASSERT_EQ(RedisInt(redis_.port(), {"DEL", "qd:{a}:q:chat"}), 1);
  ASSERT_TRUE(WaitForBodies(daemon, want, milliseconds(15000))) << daemon.Log();
}

TEST_F(XmppInboundTest, DrainingWorkerLeavesNewMessagesToOfflineStorage) {
  const std::string config = Config(Recording());
  {
    Daemon daemon(config);
    ASSERT_TRUE(WaitReady(daemon)) << daemon.Log();
    auto bob = Login("bob", kBobPassword);
    ASSERT_TRUE(bob->ok());
    // A 3 s job keeps the worker draining.
    ASSERT_TRUE(bob->SendMessage(prosody_.Jid("alice"), "slow"));
    ASSERT_TRUE(WaitForBodies(daemon, {"slow"}, milliseconds(10000)))
        << daemon.Log();
    daemon.Signal(SIGTERM);
    ASSERT_TRUE(daemon.WaitForLog("unavailable; new messages wait offline", 1,
                                  milliseconds(5000)))
        << daemon.Log();
    // Sent after the unavailable presence: for the next login, not for a
    // worker on its way out.
    SendNumbered(*bob, "during drain", 5);
    EXPECT_EQ(daemon.WaitExit(milliseconds(15000)), 0) << daemon.Log();
    EXPECT_EQ(Bodies(daemon), (std::map<std::string, int>{{"slow", 1}}));
  }
  Daemon next(config);
  ASSERT_TRUE(WaitReady(next)) << next.Log();
  std::set<std::string> want;
  for (int i = 0; i < 5; ++i) want.insert("during drain " + std::to_string(i));
  ASSERT_TRUE(WaitForBodies(next, want, milliseconds(10000))) << next.Log();
  for (const auto& job : Got(next)) {
    EXPECT_TRUE(job.contains("delay")) << job.dump();
  }
}

}  // namespace
}  // namespace qd::test
