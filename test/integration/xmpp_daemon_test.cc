// XMPP end to end: the real daemon holds the link of an account on a real
// prosody and sends the jobs of its site's `xmpp` queue; a second account
// (XmppTestClient) receives them. Also: a stopped and a restarted server
// lose no message, a wrong password keeps the jobs waiting, 1,200 other
// descriptors in the worker, the confirmation poller.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/util/units.h"
#include "core/xmpp/xmpp_manager.h"
#include "daemon_harness.h"
#include "prosody_server.h"

namespace qd::test {
namespace {

constexpr char kAlicePassword[] = "alice-daemon-pw";
constexpr char kBobPassword[] = "bob-pw";

class XmppDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(prosody_.Register("alice", kAlicePassword));
    ASSERT_TRUE(prosody_.Register("bob", kBobPassword));
  }

  // Site `a` with one account (so its `xmpp` queue is implicit); `extra`
  // goes into the account's map.
  std::string Config(int threads, const std::string& extra = "",
                     const std::string& password = kAlicePassword) const {
    return "daemon:\n  threads: " + std::to_string(threads) +
           "\n  run_dir: RUN_DIR/run\n  shutdown_timeout: 5s\n"
           "redis: " +
           redis_.url() +
           "\nsites:\n  a:\n    queues:\n      noop: { handler: noop }\n"
           "xmpp:\n  alerts:\n    jid: " +
           prosody_.Jid("alice") + "\n    password: " + password +
           "\n    host: 127.0.0.1\n    port: " +
           std::to_string(prosody_.port()) +
           "\n    ca_file: " + prosody_.cert_file() +
           "\n    site: a\n    connect_timeout: 3s\n" + extra;
  }

  std::string Payload(const std::string& body) const {
    return nlohmann::json{{"to", prosody_.Jid("bob")}, {"body", body}}.dump();
  }

  void Enqueue(const std::vector<std::string>& payloads) {
    std::vector<std::vector<std::string>> cmds;
    for (const auto& p : payloads) {
      cmds.push_back({"XADD", "qd:{a}:q:xmpp", "*", "payload", p});
    }
    ASSERT_EQ(RedisPipeline(redis_.port(), cmds), cmds.size());
  }

  // Enqueues `n` messages "PREFIX 0" .. "PREFIX n-1"; returns the bodies.
  std::set<std::string> EnqueueNumbered(const std::string& prefix, int n) {
    std::set<std::string> bodies;
    std::vector<std::string> payloads;
    for (int i = 0; i < n; ++i) {
      bodies.insert(prefix + " " + std::to_string(i));
      payloads.push_back(Payload(prefix + " " + std::to_string(i)));
    }
    Enqueue(payloads);
    return bodies;
  }

  // Logs bob in and expects every one of `want` to arrive at him.
  void ExpectBobReceives(const std::set<std::string>& want,
                         const Daemon& daemon) {
    XmppTestClient bob(prosody_.port(), prosody_.domain(), "bob", kBobPassword);
    ASSERT_TRUE(bob.ok()) << bob.error();
    std::set<std::string> got;
    EXPECT_TRUE(Receive(bob, want, milliseconds(15000), &got))
        << got.size() << " of " << want.size() << "\n"
        << daemon.Log();
  }

  // Collects message bodies at `bob` until every one of `want` arrived.
  static bool Receive(XmppTestClient& bob, std::set<std::string> want,
                      milliseconds deadline, std::set<std::string>* got) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!want.empty() && std::chrono::steady_clock::now() < end) {
      auto body = bob.WaitForMessageBody(milliseconds(200));
      if (!body) continue;
      got->insert(*body);
      want.erase(*body);
    }
    return want.empty();
  }

  // Every xmpp job acked and deleted: nothing in the stream or pending.
  bool WaitDrained(milliseconds deadline) {
    return WaitFor(
        [&] {
          return RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:xmpp"}) == 0 &&
                 RedisInt(redis_.port(), {"ZCARD", "qd:{a}:delayed"}) == 0;
        },
        deadline);
  }

  ProsodyServer prosody_;
  RedisServer redis_;
};

TEST_F(XmppDaemonTest, MessageOnTheQueueArrivesAtASecondAccount) {
  Daemon daemon(Config(2));
  ASSERT_TRUE(daemon.WaitForWorkers(2));
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 1, milliseconds(10000)))
      << daemon.Log();
  // One link in the whole daemon, in the slot the name hashes to.
  int slot = XmppManager::SlotOf("alerts", 2);
  EXPECT_EQ(daemon.LogCount("xmpp alerts: held by this worker (slot " +
                            std::to_string(slot) + " of 2)"),
            1u)
      << daemon.Log();
  EXPECT_EQ(daemon.LogCount("held by this worker"), 1u);

  // Markup and quotes in the body travel escaped and arrive intact.
  ExpectBobReceives(EnqueueNumbered("hello <you> & 'them'", 10), daemon);
  EXPECT_TRUE(WaitDrained(milliseconds(5000)));
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:xmpp"}), 0);
  EXPECT_EQ(daemon.Log().find(kAlicePassword), std::string::npos);
}

TEST_F(XmppDaemonTest, InvalidPayloadsAreDeadLetteredWithTheReason) {
  Daemon daemon(Config(1));
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 1, milliseconds(10000)))
      << daemon.Log();
  Enqueue({"not json", R"({"to": "bob@@localhost", "body": "x"})",
           R"({"to": "bob@localhost", "boddy": "x"})",
           R"({"to": "bob@localhost", "body": "x", "type": "groupchat"})"});
  ASSERT_TRUE(WaitFor(
      [&] {
        return RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:xmpp"}) == 4;
      },
      milliseconds(10000)))
      << daemon.Log();
  std::string dead;
  for (const auto& s :
       RedisStrings(redis_.port(), {"XRANGE", "qd:{a}:dead:xmpp", "-", "+"})) {
    dead += s + "\n";
  }
  EXPECT_NE(dead.find("payload is not a JSON object"), std::string::npos)
      << dead;
  EXPECT_NE(dead.find("payload: 'to':"), std::string::npos) << dead;
  EXPECT_NE(dead.find("unknown key 'boddy' (did you mean 'body'?)"),
            std::string::npos)
      << dead;
  EXPECT_NE(dead.find("'type' must be chat or normal"), std::string::npos)
      << dead;
}

TEST_F(XmppDaemonTest, StoppedOrRestartedServerLosesNoMessage) {
  Daemon daemon(Config(2,
                       "    ping_interval: 300ms\n    ping_timeout: 700ms\n"
                       "    reconnect_max: 2s\n"));
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 1, milliseconds(10000)))
      << daemon.Log();

  // SIGSTOP: the ping goes unanswered; the link is declared dead within
  // ping_interval + ping_timeout (plus scheduling).
  prosody_.Pause();
  auto paused_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      daemon.WaitForLog("no answer to a ping within", 1, milliseconds(5000)))
      << daemon.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - paused_at,
            milliseconds(300 + 700 + 1500));
  std::set<std::string> want = EnqueueNumbered("while stopped", 20);
  prosody_.Resume();
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 2, milliseconds(15000)))
      << daemon.Log();
  ExpectBobReceives(want, daemon);
  EXPECT_TRUE(WaitDrained(milliseconds(5000)));

  // A restart: the stream ends, the link comes back by itself.
  size_t failures = daemon.LogCount("reconnecting in");
  prosody_.Stop();
  ASSERT_TRUE(
      daemon.WaitForLog("reconnecting in", failures + 1, milliseconds(5000)))
      << daemon.Log();
  want = EnqueueNumbered("while restarting", 20);
  ASSERT_TRUE(prosody_.Start());
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 3, milliseconds(15000)))
      << daemon.Log();
  ExpectBobReceives(want, daemon);
  EXPECT_TRUE(WaitDrained(milliseconds(5000)));
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:xmpp"}), 0);
}

TEST_F(XmppDaemonTest, WrongPasswordBacksOffAndJobsWaitInRedis) {
  Daemon daemon(Config(1, "    reconnect_max: 2s\n", "not-the-password"));
  ASSERT_TRUE(
      daemon.WaitForLog("authentication failed", 1, milliseconds(10000)))
      << daemon.Log();
  Enqueue({Payload("waits")});
  // Attempts at 0, ~1, ~3 s (then every ~2 s): never a tight loop. The job
  // is not fetched (the queue's gate is closed), so it spends no attempts.
  ASSERT_FALSE(
      daemon.WaitForLog("authentication failed", 5, milliseconds(4500)))
      << daemon.Log();
  EXPECT_GE(daemon.LogCount("authentication failed"), 2u);
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:q:xmpp"}), 1);
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", "qd:{a}:delayed"}), 0);
  EXPECT_EQ(RedisInt(redis_.port(), {"XLEN", "qd:{a}:dead:xmpp"}), 0);
  EXPECT_EQ(daemon.Log().find("not-the-password"), std::string::npos);

  // The account's password changed on the server to the configured one:
  // the next attempt logs in and the job goes out.
  ASSERT_TRUE(prosody_.Register("alice", "not-the-password"));
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 1, milliseconds(15000)))
      << daemon.Log();
  XmppTestClient bob(prosody_.port(), prosody_.domain(), "bob", kBobPassword);
  ASSERT_TRUE(bob.ok()) << bob.error();
  std::set<std::string> got;
  EXPECT_TRUE(Receive(bob, {"waits"}, milliseconds(10000), &got))
      << daemon.Log();
  EXPECT_TRUE(WaitDrained(milliseconds(5000)));
}

TEST_F(XmppDaemonTest, LinkWorksWith1200OtherDescriptorsOpen) {
  Daemon daemon(Config(1), {}, {"QD_TEST_FDS=1200"});
  ASSERT_TRUE(daemon.WaitForLog("holding 1200 extra descriptors", 1,
                                milliseconds(10000)))
      << daemon.Log();
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 1, milliseconds(10000)))
      << daemon.Log();
  XmppTestClient bob(prosody_.port(), prosody_.domain(), "bob", kBobPassword);
  ASSERT_TRUE(bob.ok()) << bob.error();
  Enqueue({Payload("above FD_SETSIZE")});
  std::set<std::string> got;
  EXPECT_TRUE(Receive(bob, {"above FD_SETSIZE"}, milliseconds(10000), &got))
      << daemon.Log();
  EXPECT_TRUE(WaitDrained(milliseconds(5000)));
}

TEST_F(XmppDaemonTest, PollerMovesDueConfirmationsAndNotEarlyOnes) {
  Daemon daemon(Config(2, "    confirm_interval: 200ms\n"));
  ASSERT_TRUE(
      daemon.WaitForLog("xmpp alerts: ready as", 1, milliseconds(10000)))
      << daemon.Log();
  XmppTestClient bob(prosody_.port(), prosody_.domain(), "bob", kBobPassword);
  ASSERT_TRUE(bob.ok()) << bob.error();
  int64_t now = EpochMs();
  int64_t soon_ms = now + 1500;
  std::vector<std::vector<std::string>> zadd;
  for (const auto& [when, body] : std::vector<std::pair<int64_t, std::string>>{
           {now - 1000, "confirm: due"},
           {soon_ms, "confirm: soon"},
           {now + 3600000, "confirm: later"}}) {
    zadd.push_back(
        {"ZADD", "qd:{a}:xmpp:confirm", std::to_string(when), Payload(body)});
  }
  ASSERT_EQ(RedisPipeline(redis_.port(), zadd), 3u);
  std::set<std::string> got;
  EXPECT_TRUE(Receive(bob, {"confirm: due"}, milliseconds(10000), &got))
      << daemon.Log();
  EXPECT_EQ(got.count("confirm: soon"), 0u);
  // The next one arrives, and not before it was due.
  EXPECT_TRUE(Receive(bob, {"confirm: soon"}, milliseconds(10000), &got))
      << daemon.Log();
  EXPECT_GE(EpochMs(), soon_ms);
  EXPECT_TRUE(WaitDrained(milliseconds(5000)));
  // The one due in an hour is still waiting, untouched.
  EXPECT_EQ(RedisInt(redis_.port(), {"ZCARD", "qd:{a}:xmpp:confirm"}), 1);
  EXPECT_EQ(
      RedisStrings(redis_.port(), {"ZRANGE", "qd:{a}:xmpp:confirm", "0", "-1"}),
      std::vector<std::string>{Payload("confirm: later")});
  EXPECT_EQ(got.count("confirm: later"), 0u);
}

}  // namespace
}  // namespace qd::test
