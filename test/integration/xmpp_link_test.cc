// XmppLink against a real prosody: STARTTLS with the test certificate and
// SCRAM, messages, XEP-0199 pings, a stopped server, a wrong password and a
// wrong CA. The test drives the link's event_base itself, one loop turn at a
// time, until a condition holds or a deadline passes.
#include "core/xmpp/xmpp_link.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "prosody_server.h"

namespace qd::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kPassword[] = "s3cret-link-pw";

class XmppLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    ASSERT_NE(base_, nullptr);
    ASSERT_TRUE(server_.Register("alice", kPassword));
    ASSERT_TRUE(server_.Register("bob", "bob-pw"));
    // Capture the log: the tests read what an operator would see.
    previous_logger_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }

  void TearDown() override {
    // QD_SHOW_LOG=1 prints what the link logged, for debugging a test.
    if (std::getenv("QD_SHOW_LOG") != nullptr) {
      std::fprintf(stderr, "%s", Log().c_str());
    }
    link_.reset();
    if (base_ != nullptr) event_base_free(base_);
    if (previous_logger_) spdlog::set_default_logger(previous_logger_);
  }

  XmppAccount Account(const std::string& password = kPassword) {
    XmppAccount account;
    account.name = "alerts";
    EXPECT_TRUE(ParseJid(server_.Jid("alice") + "/qd", &account.jid).ok());
    account.password = password;
    account.host = "127.0.0.1";
    account.port = server_.port();
    account.ca_file = server_.cert_file();
    account.connect_timeout = milliseconds(5000);
    return account;
  }

  XmppLink& StartLink(XmppAccount account) {
    link_ = std::make_unique<XmppLink>(base_, std::move(account));
    link_->Start();
    return *link_;
  }

  bool Pump(const std::function<bool()>& cond, milliseconds deadline) {
    return PumpLoop(base_, cond, deadline);
  }
  void PumpFor(milliseconds d) {
    Pump([] { return false; }, d);
  }

  std::string Log() const { return log_.str(); }

  // The next message body `bob` receives while the loop runs ("" if none
  // within 5 s).
  std::string NextBody(XmppTestClient& bob) {
    std::optional<std::string> got;
    Pump(
        [&] {
          got = bob.WaitForMessageBody(milliseconds(50));
          return got.has_value();
        },
        milliseconds(5000));
    return got.value_or("");
  }

  event_base* base_ = nullptr;
  ProsodyServer server_;
  std::unique_ptr<XmppLink> link_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(XmppLinkTest, ReadyOverStartTlsWithScramAndDeliversMessages) {
  XmppLink& link = StartLink(Account());
  int ready_calls = 0;
  link.set_on_ready([&] { ++ready_calls; });
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(10000)))
      << link.last_error() << "\n"
      << Log();
  EXPECT_EQ(ready_calls, 1);
  EXPECT_EQ(link.bound_jid(), "alice@localhost/qd");
  EXPECT_EQ(link.counters().connects, 1u);
  EXPECT_EQ(link.counters().ready, 1u);
  EXPECT_NE(Log().find("(TLS, SCRAM-SHA-1)"), std::string::npos) << Log();

  XmppTestClient bob(server_.port(), server_.domain(), "bob", "bob-pw");
  ASSERT_TRUE(bob.ok()) << bob.error();
  const std::string body = "disk <full> & 'hot'";
  ASSERT_TRUE(link.Message(server_.Jid("bob"), body));
  EXPECT_EQ(NextBody(bob), body);
  EXPECT_EQ(Log().find(kPassword), std::string::npos);
}

TEST_F(XmppLinkTest, NotReadyRefusesToSend) {
  XmppLink link(base_, Account());
  EXPECT_FALSE(link.Send("<presence/>"));
  EXPECT_FALSE(link.Message(server_.Jid("bob"), "x"));
  EXPECT_EQ(link.state(), XmppLink::State::kStopped);
}

TEST_F(XmppLinkTest, PingsRoundTrip) {
  XmppAccount account = Account();
  account.ping_interval = milliseconds(300);
  account.ping_timeout = milliseconds(2000);
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(Pump([&] { return link.counters().pongs_received >= 3; },
                   milliseconds(10000)))
      << link.last_error();
  EXPECT_TRUE(link.ready());
  EXPECT_LE(link.counters().pings_sent - link.counters().pongs_received, 1u);
  EXPECT_EQ(link.counters().failures, 0u);
}

TEST_F(XmppLinkTest, WhitespaceKeepaliveOnlyWhenIdle) {
  XmppAccount account = Account();
  account.whitespace_interval = milliseconds(200);
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(10000)))
      << link.last_error();
  ASSERT_TRUE(Pump([&] { return link.counters().whitespace_sent >= 3; },
                   milliseconds(5000)));
  // Stanzas sent more often than the interval leave no room for spaces.
  uint64_t before = link.counters().whitespace_sent;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(link.Send("<presence/>"));
    PumpFor(milliseconds(50));
  }
  EXPECT_LE(link.counters().whitespace_sent, before + 1);
  EXPECT_TRUE(link.ready());
  EXPECT_EQ(link.counters().failures, 0u);
}

TEST_F(XmppLinkTest, PausedServerIsDetectedAndLinkComesBack) {
  XmppAccount account = Account();
  account.ping_interval = milliseconds(300);
  account.ping_timeout = milliseconds(700);
  account.connect_timeout = milliseconds(2000);
  XmppLink& link = StartLink(account);
  std::string down_reason;
  link.set_on_down([&](const std::string& why) { down_reason = why; });
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(10000)))
      << link.last_error();

  server_.Pause();
  auto paused_at = Clock::now();
  ASSERT_TRUE(Pump([&] { return !link.ready(); }, milliseconds(5000)));
  auto detected = Clock::now() - paused_at;
  // At most one ping interval, then the ping timeout (plus scheduling).
  EXPECT_LT(detected, milliseconds(300 + 700 + 500));
  EXPECT_NE(down_reason.find("no answer to a ping"), std::string::npos)
      << down_reason;
  EXPECT_FALSE(link.Message(server_.Jid("bob"), "lost?"));

  server_.Resume();
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(15000)))
      << link.last_error() << "\n"
      << Log();
  EXPECT_EQ(link.counters().ready, 2u);
  EXPECT_TRUE(Pump([&] { return link.counters().pongs_received >= 1 + 1; },
                   milliseconds(5000)));
}

TEST_F(XmppLinkTest, WrongPasswordRetriesWithBackoff) {
  XmppLink& link = StartLink(Account("not-the-password"));
  PumpFor(milliseconds(6500));
  // Attempts at 0 s, ~1 s, ~3 s (then ~7 s): never a tight loop.
  EXPECT_GE(link.counters().connects, 2u);
  EXPECT_LE(link.counters().connects, 4u);
  EXPECT_EQ(link.counters().ready, 0u);
  EXPECT_FALSE(link.ready());
  EXPECT_NE(link.last_error().find("authentication failed (not-authorized"),
            std::string::npos)
      << link.last_error();
  EXPECT_NE(Log().find("check the password of alice@localhost"),
            std::string::npos)
      << Log();
  EXPECT_EQ(Log().find("not-the-password"), std::string::npos) << Log();
}

TEST_F(XmppLinkTest, WrongCaFailsTlsVerification) {
  TempDir dir;
  ASSERT_TRUE(MakeSelfSignedCert("localhost", dir.File("other.crt"),
                                 dir.File("other.key")));
  XmppAccount account = Account();
  account.ca_file = dir.File("other.crt");
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(
      Pump([&] { return link.counters().failures >= 1; }, milliseconds(10000)));
  EXPECT_EQ(link.counters().ready, 0u);
  EXPECT_NE(link.last_error().find("TLS certificate verification failed for "
                                   "'localhost'"),
            std::string::npos)
      << link.last_error();
  EXPECT_NE(link.last_error().find(dir.File("other.crt")), std::string::npos);
  // The next attempt waits for the backoff.
  PumpFor(milliseconds(500));
  EXPECT_EQ(link.counters().connects, 1u);
  EXPECT_EQ(link.state(), XmppLink::State::kWaitingRetry);
}

TEST_F(XmppLinkTest, ServerRestartIsSeenAndLinkComesBack) {
  XmppLink& link = StartLink(Account());
  std::string down_reason;
  link.set_on_down([&](const std::string& why) { down_reason = why; });
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(10000)))
      << link.last_error();
  ASSERT_TRUE(server_.Restart());
  // prosody closes its streams on shutdown (a stream error or
  // </stream:stream>, then EOF): seen at once, no ping needed.
  ASSERT_TRUE(
      Pump([&] { return link.counters().ready == 2; }, milliseconds(15000)))
      << link.last_error() << "\n"
      << Log();
  EXPECT_FALSE(down_reason.empty());
  EXPECT_EQ(link.counters().pings_sent, 0u);
  XmppTestClient bob(server_.port(), server_.domain(), "bob", "bob-pw");
  ASSERT_TRUE(bob.ok()) << bob.error();
  ASSERT_TRUE(link.Message(server_.Jid("bob"), "after restart"));
  EXPECT_EQ(NextBody(bob), "after restart");
}

TEST_F(XmppLinkTest, PlaintextUsesScramNeverPlain) {
  // tls=off towards a server that allows plaintext and offers both SCRAM
  // and PLAIN: SCRAM is preferred, so the password never goes out in clear.
  XmppAccount account = Account();
  account.tls = "off";
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(10000)))
      << link.last_error();
  EXPECT_NE(Log().find("(plaintext, SCRAM-SHA-1)"), std::string::npos) << Log();
}

}  // namespace
}  // namespace qd::test
