// XmppLink against a scripted fake XMPP server, for the paths a real
// prosody cannot easily be made to take: no STARTTLS offered, SASL PLAIN
// only on a plaintext stream, the server's own pings and unknown iqs, a
// stream error, a connection closed under a pending Confirm(), STARTTLS
// with a certificate for another name, plaintext injected after <proceed/>,
// a link that holds its reading.
//
// The fake listens on 127.0.0.1 (port 0) on the link's own event_base, so
// one Pump() drives both ends: no thread, no lock. Every wait has a
// deadline; QD_SHOW_LOG=1 prints what the link logged.
#include <event2/event.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/base64.h"
#include "core/xmpp/xmpp_link.h"
#include "fake_xmpp_server.h"
#include "prosody_server.h"  // MakeSelfSignedCert, TempDir

namespace qd::test {
namespace {

using Step = FakeXmppServer::Step;
using Then = FakeXmppServer::Then;

constexpr char kPassword[] = "fake-pw-9f3";

// What `pattern` (ECMAScript) first matches in `text`, or its first group
// when it has one; "" when nothing matches.
std::string Find(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return "";
  return m.size() > 1 ? m[1].str() : m[0].str();
}

// The whole <iq> element the client sent with this id ("" when none).
std::string IqWithId(const std::string& text, const std::string& id) {
  return Find(text, "<iq\\b[^>]*\\bid='" + id + "'[^>]*(?:/>|>.*?</iq>)");
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

class XmppLinkFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    ASSERT_NE(base_, nullptr);
    previous_logger_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }

  void TearDown() override {
    if (std::getenv("QD_SHOW_LOG") != nullptr) {
      std::fprintf(stderr, "%s", log_.str().c_str());
    }
    link_.reset();
    server_.reset();  // both before the loop they live on
    if (base_ != nullptr) event_base_free(base_);
    if (previous_logger_) spdlog::set_default_logger(previous_logger_);
  }

  FakeXmppServer& StartServer(std::vector<Step> script) {
    server_ = std::make_unique<FakeXmppServer>(base_, std::move(script));
    EXPECT_NE(server_->port(), 0) << "the fake server cannot listen";
    return *server_;
  }

  // user@localhost/qd via 127.0.0.1, plaintext and PLAIN allowed; the
  // tests tighten what they check.
  XmppAccount Account() {
    XmppAccount account;
    account.name = "fake";
    account.jid.local = "user";
    account.jid.domain = "localhost";
    account.jid.resource = "qd";
    account.password = kPassword;
    account.host = "127.0.0.1";
    account.tls = "off";
    account.allow_plain_without_tls = true;
    account.connect_timeout = milliseconds(5000);
    return account;
  }

  // REQUIRES: StartServer(); the link connects to it.
  XmppLink& StartLink(XmppAccount account) {
    account.port = server_->port();
    link_ = std::make_unique<XmppLink>(base_, std::move(account));
    link_->Start();
    return *link_;
  }

  // A link ready over plaintext PLAIN, as the tests of a ready link need.
  void StartReadyLink(XmppAccount account) {
    StartServer(PlainLogin());
    StartLink(std::move(account));
    ASSERT_TRUE(Pump([&] { return link_->ready(); }, milliseconds(5000)))
        << link_->last_error() << "\n"
        << log_.str();
    // The initial presence is the last thing the handshake writes.
    ASSERT_TRUE(Pump([&] { return Contains(server_->received(), "<presence"); },
                     milliseconds(5000)));
  }

  bool Pump(const std::function<bool()>& cond, milliseconds deadline) {
    return PumpLoop(base_, cond, deadline);
  }

  std::string Log() const { return log_.str(); }

  event_base* base_ = nullptr;
  std::unique_ptr<FakeXmppServer> server_;
  std::unique_ptr<XmppLink> link_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(XmppLinkFakeTest, TlsRequiredButNotOfferedSendsNoCredentials) {
  FakeXmppServer& server = StartServer(
      {{"<stream:stream", Opening(Mechanisms({"SCRAM-SHA-1", "PLAIN"}))}});
  XmppAccount account = Account();
  account.tls = "required";
  account.allow_plain_without_tls = false;
  XmppLink& link = StartLink(account);
  // The client's close is the end of what it sent.
  ASSERT_TRUE(
      Pump([&] { return server.disconnects() >= 1; }, milliseconds(5000)));
  EXPECT_EQ(link.last_error(),
            "the server does not offer STARTTLS and tls is 'required'");
  EXPECT_EQ(link.counters().failures, 1u);
  EXPECT_EQ(link.counters().ready, 0u);
  EXPECT_EQ(link.state(), XmppLink::State::kWaitingRetry);
  EXPECT_TRUE(Contains(server.received(), "<stream:stream"));
  EXPECT_FALSE(Contains(server.all_received(), "<auth")) << server.received();
  EXPECT_TRUE(Contains(Log(), "does not offer STARTTLS")) << Log();
}

TEST_F(XmppLinkFakeTest, PlainOnlyInClearIsRefusedByDefault) {
  FakeXmppServer& server = StartServer(PlainLogin());
  XmppAccount account = Account();
  account.allow_plain_without_tls = false;
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(
      Pump([&] { return server.disconnects() >= 1; }, milliseconds(5000)));
  EXPECT_EQ(link.last_error(),
            "the server offers SASL PLAIN only, on an unencrypted stream; "
            "refusing to send the password (allow_plain_without_tls is off)");
  EXPECT_EQ(link.counters().ready, 0u);
  EXPECT_FALSE(Contains(server.all_received(), "<auth")) << server.received();
  EXPECT_FALSE(Contains(Log(), kPassword));
}

TEST_F(XmppLinkFakeTest, PlainInClearWhenAllowedLogsIn) {
  XmppAccount account = Account();
  ASSERT_TRUE(account.allow_plain_without_tls);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  const std::string& sent = server_->received();
  std::string payload =
      Find(sent, "<auth\\b[^>]*mechanism=['\"]PLAIN['\"][^>]*>([^<]*)</auth>");
  std::string decoded;
  ASSERT_TRUE(Base64Decode(payload, &decoded)) << sent;
  EXPECT_EQ(decoded, std::string("\0user\0", 6) + kPassword);
  // A new stream after <success/>, then bind with our resource.
  EXPECT_TRUE(Contains(sent.substr(sent.find("</auth>")), "<stream:stream"));
  EXPECT_TRUE(Contains(sent, "<resource>qd</resource>")) << sent;
  EXPECT_EQ(link_->bound_jid(), "user@localhost/qd");
  EXPECT_EQ(link_->counters().ready, 1u);
  EXPECT_EQ(link_->counters().connects, 1u);
  EXPECT_TRUE(Contains(Log(), "(plaintext, PLAIN)")) << Log();
  EXPECT_FALSE(Contains(Log(), kPassword));
}

TEST_F(XmppLinkFakeTest, ServerPingIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(Account()));
  server_->Send(
      "<iq type='get' id='s1' from='localhost'>"
      "<ping xmlns='urn:xmpp:ping'/></iq>");
  std::string answer;
  ASSERT_TRUE(Pump(
      [&] { return !(answer = IqWithId(server_->received(), "s1")).empty(); },
      milliseconds(5000)))
      << server_->received();
  EXPECT_TRUE(Contains(answer, "type='result'")) << answer;
  EXPECT_TRUE(Contains(answer, "to='localhost'")) << answer;
  EXPECT_EQ(link_->counters().server_pings, 1u);
  EXPECT_EQ(link_->counters().pongs_received, 0u);
  EXPECT_TRUE(link_->ready());
}

TEST_F(XmppLinkFakeTest, UnknownIqGetsServiceUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(Account()));
  server_->Send(
      "<iq type='get' id='s2' from='localhost'>"
      "<query xmlns='jabber:iq:version'/></iq>"
      "<iq type='set' id='s3' from='localhost'>"
      "<query xmlns='jabber:iq:roster'/></iq>");
  std::string get, set;
  ASSERT_TRUE(Pump(
      [&] {
        get = IqWithId(server_->received(), "s2");
        set = IqWithId(server_->received(), "s3");
        return !get.empty() && !set.empty();
      },
      milliseconds(5000)))
      << server_->received();
  for (const std::string& answer : {get, set}) {
    EXPECT_TRUE(Contains(answer, "type='error'")) << answer;
    EXPECT_TRUE(Contains(answer, "to='localhost'")) << answer;
    EXPECT_TRUE(Contains(answer,
                         "<service-unavailable "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'"))
        << answer;
  }
  EXPECT_EQ(link_->counters().server_pings, 0u);
  EXPECT_TRUE(link_->ready());
}

TEST_F(XmppLinkFakeTest, StreamErrorCallsOnDownAndReconnects) {
  XmppAccount account = Account();
  account.reconnect_min = milliseconds(50);
  account.reconnect_max = milliseconds(200);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  XmppLink& link = *link_;
  std::vector<std::string> downs;
  link.set_on_down([&](const std::string& why) { downs.push_back(why); });
  server_->Send(
      "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
      "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new "
      "connection</text></stream:error></stream:stream>");
  ASSERT_TRUE(Pump([&] { return !link.ready(); }, milliseconds(5000)));
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0], "stream error: conflict: Replaced by new connection");
  EXPECT_EQ(link.last_error(), downs[0]);
  // The same script on the new connection: ready again after the backoff.
  ASSERT_TRUE(
      Pump([&] { return link.counters().ready == 2; }, milliseconds(5000)))
      << link.last_error() << "\n"
      << Log();
  EXPECT_EQ(server_->accepted(), 2);
  EXPECT_EQ(link.counters().connects, 2u);
  EXPECT_EQ(link.counters().failures, 1u);
  EXPECT_EQ(downs.size(), 1u);
}

// The ping Confirm() sent: its id ("" until the server received it).
std::string ConfirmPingId(const std::string& received) {
  return Find(received,
              "<iq\\b[^>]*\\bid='([^']+)'[^>]*><ping xmlns='urn:xmpp:ping'");
}

TEST_F(XmppLinkFakeTest, ConfirmIsDoneWhenTheServerAnswersThePing) {
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(Account()));
  XmppLink& link = *link_;
  std::vector<bool> results;
  ASSERT_TRUE(link.Message("bob@localhost", "before the barrier"));
  ASSERT_TRUE(
      link.Confirm([&](bool delivered) { results.push_back(delivered); }));
  std::string id;
  ASSERT_TRUE(
      Pump([&] { return !(id = ConfirmPingId(server_->received())).empty(); },
           milliseconds(5000)))
      << server_->received();
  const std::string& sent = server_->received();
  EXPECT_LT(sent.find("before the barrier"), sent.find("urn:xmpp:ping"));
  EXPECT_TRUE(results.empty());  // not before the answer
  server_->Send("<iq type='result' id='" + id + "' from='localhost'/>");
  ASSERT_TRUE(Pump([&] { return !results.empty(); }, milliseconds(5000)));
  EXPECT_EQ(results, std::vector<bool>{true});
  EXPECT_EQ(link.counters().pongs_received, 1u);
  EXPECT_TRUE(link.ready());
}

TEST_F(XmppLinkFakeTest, ConfirmFailsOnceWhenTheServerCloses) {
  XmppAccount account = Account();
  account.reconnect_min = milliseconds(100);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  XmppLink& link = *link_;
  std::vector<bool> results;
  int downs = 0;
  link.set_on_down([&](const std::string&) { ++downs; });
  ASSERT_TRUE(
      link.Confirm([&](bool delivered) { results.push_back(delivered); }));
  ASSERT_TRUE(Pump([&] { return !ConfirmPingId(server_->received()).empty(); },
                   milliseconds(5000)));
  server_->Close();
  ASSERT_TRUE(Pump([&] { return !results.empty(); }, milliseconds(5000)));
  EXPECT_EQ(results, std::vector<bool>{false});
  EXPECT_EQ(link.last_error(), "the server closed the connection");
  EXPECT_EQ(downs, 1);
  // Once only, also across the reconnect.
  ASSERT_TRUE(
      Pump([&] { return link.counters().ready == 2; }, milliseconds(5000)))
      << link.last_error();
  EXPECT_EQ(results.size(), 1u);
  EXPECT_EQ(downs, 1);
}

// One STARTTLS attempt with a certificate for `cert_name`, trusted as a CA.
class XmppLinkFakeTlsTest : public XmppLinkFakeTest {
 protected:
  XmppLink& StartTlsLink(const std::string& cert_name) {
    EXPECT_TRUE(MakeSelfSignedCert(cert_name, dir_.File("server.crt"),
                                   dir_.File("server.key")));
    StartServer(StartTlsThenPlainLogin());
    EXPECT_TRUE(server_->UseCertificate(dir_.File("server.crt"),
                                        dir_.File("server.key")));
    XmppAccount account = Account();
    account.tls = "required";
    account.ca_file = dir_.File("server.crt");
    account.allow_plain_without_tls = false;
    return StartLink(account);
  }

  TempDir dir_;
};

// The fake's TLS works, so the mismatch below fails for its name only.
TEST_F(XmppLinkFakeTlsTest, MatchingCertificateLogsInOverTls) {
  XmppLink& link = StartTlsLink("localhost");
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(10000)))
      << link.last_error() << "\n"
      << Log();
  EXPECT_TRUE(server_->tls());
  EXPECT_TRUE(Contains(server_->received(), "<auth"));
  EXPECT_TRUE(Contains(Log(), "(TLS, PLAIN)")) << Log();
  // Stop() closes the stream inside TLS too.
  link.Stop();
  ASSERT_TRUE(Pump([&] { return !server_->connected(); }, milliseconds(5000)));
  EXPECT_TRUE(Contains(server_->received(), "</stream:stream>"))
      << server_->received();
}

TEST_F(XmppLinkFakeTlsTest, CertificateForAnotherNameIsRefused) {
  XmppLink& link = StartTlsLink("other.example");
  ASSERT_TRUE(
      Pump([&] { return link.counters().failures >= 1; }, milliseconds(10000)))
      << Log();
  EXPECT_TRUE(server_->tls());  // the handshake had begun
  EXPECT_EQ(link.last_error(),
            "TLS certificate verification failed for 'localhost': hostname "
            "mismatch (trusting CA file " +
                dir_.File("server.crt") + ")");
  EXPECT_EQ(link.counters().ready, 0u);
  ASSERT_TRUE(Pump([&] { return !server_->connected(); }, milliseconds(5000)));
  EXPECT_FALSE(Contains(server_->all_received(), "<auth"));
}

// STARTTLS command injection: plaintext after <proceed/> must not reach
// the TLS stream, nor be read as part of the old one.
// HoldReading (the inbound queue's Redis is behind): what the server sends
// stays in the socket, and the pings that cannot be answered meanwhile do
// not make the link dead; reading again delivers it all, in order.
TEST_F(XmppLinkFakeTest, HeldLinkLeavesMessagesInTheSocketAndStaysUp) {
  XmppAccount account = Account();
  account.ping_interval = milliseconds(50);
  account.ping_timeout = milliseconds(100);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  std::vector<std::string> bodies;
  link_->set_on_stanza([&](const XmlElement& stanza) {
    if (const XmlElement* body = stanza.Child("body")) {
      bodies.push_back(body->text);
    }
  });
  link_->HoldReading(true);
  server_->Send(
      "<message from='a@localhost/x' type='chat'><body>one</body></message>"
      "<message from='a@localhost/x'><body>two</body></message>");
  // Ten ping timeouts go by: nothing read, nothing declared dead.
  EXPECT_FALSE(Pump([&] { return !bodies.empty() || !link_->ready(); },
                    milliseconds(1000)));
  EXPECT_TRUE(bodies.empty());
  EXPECT_EQ(link_->counters().failures, 0u) << link_->last_error();
  link_->HoldReading(false);
  ASSERT_TRUE(Pump([&] { return bodies.size() == 2; }, milliseconds(5000)))
      << Log();
  EXPECT_EQ(bodies, (std::vector<std::string>{"one", "two"}));
}

// A hold outlives a reconnect: the new connection logs in (reading its
// handshake), then reads nothing more until the hold ends.
TEST_F(XmppLinkFakeTest, HoldOutlivesAReconnect) {
  XmppAccount account = Account();
  account.reconnect_min = milliseconds(50);
  // A held link does not see the server's close until it writes, which
  // raises SIGPIPE: ignored, as the daemon's processes do.
  account.whitespace_interval = milliseconds(50);
  signal(SIGPIPE, SIG_IGN);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  std::vector<std::string> bodies;
  link_->set_on_stanza([&](const XmlElement& stanza) {
    if (const XmlElement* body = stanza.Child("body")) {
      bodies.push_back(body->text);
    }
  });
  link_->HoldReading(true);
  server_->Close();
  ASSERT_TRUE(
      Pump([&] { return link_->counters().ready == 2; }, milliseconds(5000)))
      << Log();
  ASSERT_TRUE(Pump([&] { return Contains(server_->received(), "<presence"); },
                   milliseconds(5000)));
  server_->Send("<message from='a@localhost/x'><body>later</body></message>");
  EXPECT_FALSE(Pump([&] { return !bodies.empty(); }, milliseconds(300)));
  link_->HoldReading(false);
  ASSERT_TRUE(Pump([&] { return bodies.size() == 1; }, milliseconds(5000)));
  EXPECT_EQ(bodies[0], "later");
}

// The server sends, then closes, while the link holds its reading: the
// write that fails on the closed connection must not drop what the server
// sent before (it counts it delivered). The link reads it, then fails.
TEST_F(XmppLinkFakeTest, HeldLinkReadsWhatTheServerSentBeforeItClosed) {
  XmppAccount account = Account();
  account.reconnect_min = milliseconds(50);
  account.whitespace_interval = milliseconds(50);  // the writes that fail
  signal(SIGPIPE, SIG_IGN);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  std::vector<std::string> bodies;
  link_->set_on_stanza([&](const XmlElement& stanza) {
    if (const XmlElement* body = stanza.Child("body")) {
      bodies.push_back(body->text);
    }
  });
  link_->HoldReading(true);
  server_->Send(
      "<message from='a@localhost/x'><body>one</body></message>"
      "<message from='a@localhost/x'><body>two</body></message>");
  server_->Close();
  ASSERT_TRUE(
      Pump([&] { return link_->counters().failures == 1; }, milliseconds(5000)))
      << Log();
  EXPECT_EQ(bodies, (std::vector<std::string>{"one", "two"})) << Log();
}

TEST_F(XmppLinkFakeTest, DataAfterProceedFailsTheAttempt) {
  FakeXmppServer& server = StartServer(
      {{"<stream:stream", Opening(kStartTlsOffer + Mechanisms({"PLAIN"}))},
       {"<starttls", kProceed + std::string(Opening(Mechanisms({"PLAIN"})))}});
  XmppAccount account = Account();
  account.tls = "required";
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(
      Pump([&] { return link.counters().failures >= 1; }, milliseconds(5000)))
      << Log();
  // One write on loopback arrives as one chunk: the parser refuses the
  // rest of it (if it were split, the next read would catch it).
  EXPECT_TRUE(
      Contains(link.last_error(), "after the end of a stream that was reset") ||
      link.last_error() == "the server sent data after <proceed/>")
      << link.last_error();
  EXPECT_EQ(link.counters().ready, 0u);
  ASSERT_TRUE(Pump([&] { return !server.connected(); }, milliseconds(5000)));
  EXPECT_FALSE(Contains(server.all_received(), "<auth"));
}

// The closing tag is written at once (XmppLink::WriteNow): the connection
// is freed right after, and bufferevent_free() drops queued output.

// Stop() promises a best-effort </stream:stream> before the socket closes.
TEST_F(XmppLinkFakeTest, StopClosesTheStream) {
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(Account()));
  link_->Stop();
  ASSERT_TRUE(Pump([&] { return !server_->connected(); }, milliseconds(5000)));
  EXPECT_TRUE(Contains(server_->received(), "</stream:stream>"))
      << server_->received();
}

// RFC 6120 4.4: the side that receives </stream:stream> answers with its
// own before closing the TCP connection.
TEST_F(XmppLinkFakeTest, ServerStreamCloseIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(Account()));
  server_->Send("</stream:stream>");
  ASSERT_TRUE(Pump([&] { return !server_->connected(); }, milliseconds(5000)));
  EXPECT_EQ(link_->last_error(), "the server closed the stream");
  EXPECT_TRUE(Contains(server_->received(), "</stream:stream>"))
      << server_->received();
}

// A <session/> feature without <optional/> (RFC 3921 servers): the
// session iq is answered before the link is ready.
TEST_F(XmppLinkFakeTest, RequiredSessionIsEstablishedBeforeReady) {
  std::vector<Step> script = PlainLogin();
  script[2].reply =
      Opening(kBindOffer +
              std::string("<session "
                          "xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"));
  script.push_back({"xmpp-session", "<iq type='result' id='$id'/>"});
  StartServer(std::move(script));
  XmppLink& link = StartLink(Account());
  ASSERT_TRUE(Pump([&] { return link.ready(); }, milliseconds(5000)))
      << link.last_error();
  const std::string& sent = server_->received();
  EXPECT_LT(sent.find("xmpp-bind"), sent.find("xmpp-session"));
  EXPECT_LT(sent.find("xmpp-session"), sent.find("<presence"));
}

// A server that accepts the stream and then says nothing more.
TEST_F(XmppLinkFakeTest, SilentServerFailsAtTheConnectTimeout) {
  StartServer({{"<stream:stream", Opening(Mechanisms({"PLAIN"}))}});
  XmppAccount account = Account();
  account.connect_timeout = milliseconds(300);
  XmppLink& link = StartLink(account);
  ASSERT_TRUE(
      Pump([&] { return link.counters().failures >= 1; }, milliseconds(5000)));
  EXPECT_TRUE(Contains(server_->received(), "<auth"));  // then no answer
  EXPECT_TRUE(Contains(link.last_error(), "no session within"))
      << link.last_error();
  EXPECT_EQ(link.state(), XmppLink::State::kWaitingRetry);
}

// <stream:features> on a ready stream (only valid right after a stream
// header) fails the link, which comes back (it once restarted binding with
// no timer left to fail it, and stayed stuck).
TEST_F(XmppLinkFakeTest, FeaturesOnAReadyStreamDoNotWedgeTheLink) {
  XmppAccount account = Account();
  account.reconnect_min = milliseconds(50);
  account.ping_interval = milliseconds(100);
  account.ping_timeout = milliseconds(300);
  ASSERT_NO_FATAL_FAILURE(StartReadyLink(account));
  server_->Send("<stream:features>" + std::string(kBindOffer) +
                "</stream:features>");
  // The fake answers no ping: a link that ignores the features fails on
  // its ping timeout, one that refuses them fails at once; either way it
  // must come back, not wait for ever.
  EXPECT_TRUE(
      Pump([&] { return link_->counters().ready == 2; }, milliseconds(3000)))
      << "state " << static_cast<int>(link_->state()) << ", "
      << link_->last_error();
}

}  // namespace
}  // namespace qd::test
