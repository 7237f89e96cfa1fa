// The prosody test server itself: it starts, is ready only when a login
// works, registers users, carries messages, and survives pause, restart and
// kill. The XMPP tests of the daemon build on these guarantees.
#include <gtest/gtest.h>
#include <unistd.h>

#include "prosody_server.h"

namespace qd::test {
namespace {

constexpr milliseconds kWait(5000);

TEST(ProsodyServerTest, StartsReadyWithALogin) {
  ProsodyServer server;
  EXPECT_GT(server.pid(), 0);
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.domain(), "localhost");
  EXPECT_TRUE(server.ProbeLogin(kWait));
  EXPECT_EQ(access(server.cert_file().c_str(), R_OK), 0);
  EXPECT_NE(server.Log().find("Activated service 'c2s'"), std::string::npos);
}

TEST(ProsodyServerTest, RegisteredUserLogsInAndWrongPasswordFails) {
  ProsodyServer server;
  ASSERT_TRUE(server.Register("alice", "right"));
  XmppTestClient alice(server.port(), server.domain(), "alice", "right");
  EXPECT_TRUE(alice.ok()) << alice.error();
  EXPECT_EQ(alice.jid(), "alice@localhost/test");

  XmppTestClient wrong(server.port(), server.domain(), "alice", "wrong");
  EXPECT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("not-authorized"), std::string::npos)
      << wrong.error();

  XmppTestClient nobody(server.port(), server.domain(), "nobody", "right");
  EXPECT_FALSE(nobody.ok());
}

TEST(ProsodyServerTest, TwoClientsExchangeMessages) {
  ProsodyServer server;
  ASSERT_TRUE(server.Register("alice", "a-pass"));
  ASSERT_TRUE(server.Register("bob", "b-pass"));
  XmppTestClient alice(server.port(), server.domain(), "alice", "a-pass");
  XmppTestClient bob(server.port(), server.domain(), "bob", "b-pass");
  ASSERT_TRUE(alice.ok()) << alice.error();
  ASSERT_TRUE(bob.ok()) << bob.error();

  const std::string body = "1 < 2 & 'quotes' > \"none\"";
  ASSERT_TRUE(alice.SendMessage(server.Jid("bob"), body));
  EXPECT_EQ(bob.WaitForMessageBody(kWait), body);
  ASSERT_TRUE(bob.SendMessage(alice.jid(), "back"));
  EXPECT_EQ(alice.WaitForMessageBody(kWait), "back");
  // Nothing more is waiting: the wait ends at its deadline.
  EXPECT_EQ(bob.WaitForMessageBody(milliseconds(200)), std::nullopt);
}

TEST(ProsodyServerTest, PausedServerAnswersNothingUntilResumed) {
  ProsodyServer server;
  ASSERT_TRUE(server.Register("alice", "pass"));
  server.Pause();
  XmppTestClient stalled(server.port(), server.domain(), "alice", "pass",
                         "stalled", milliseconds(300));
  EXPECT_FALSE(stalled.ok());
  server.Resume();
  EXPECT_TRUE(
      WaitFor([&] { return server.ProbeLogin(milliseconds(1000)); }, kWait));
  XmppTestClient alice(server.port(), server.domain(), "alice", "pass");
  EXPECT_TRUE(alice.ok()) << alice.error();
}

TEST(ProsodyServerTest, RestartAndKillKeepPortAndAccounts) {
  ProsodyServer server;
  ASSERT_TRUE(server.Register("alice", "pass"));
  const int port = server.port();
  const pid_t first = server.pid();

  ASSERT_TRUE(server.Restart());
  EXPECT_EQ(server.port(), port);
  EXPECT_NE(server.pid(), first);
  EXPECT_TRUE(XmppTestClient(port, server.domain(), "alice", "pass").ok());

  server.Kill();
  EXPECT_EQ(server.pid(), 0);
  EXPECT_FALSE(XmppTestClient(port, server.domain(), "alice", "pass").ok());
  ASSERT_TRUE(server.Start());
  EXPECT_TRUE(XmppTestClient(port, server.domain(), "alice", "pass").ok());
}

TEST(ProsodyServerTest, StopWhilePausedEnds) {
  ProsodyServer server;
  const pid_t pid = server.pid();
  server.Pause();
  server.Stop();
  EXPECT_EQ(server.pid(), 0);
  EXPECT_FALSE(Alive(pid));
}

TEST(ProsodyServerTest, RequiredEncryptionRefusesPlaintextLogin) {
  ProsodyOptions options;
  options.require_encryption = true;
  ProsodyServer server(options);  // ready means a login over STARTTLS worked
  ASSERT_TRUE(server.Register("alice", "pass"));
  XmppTestClient plain(server.port(), server.domain(), "alice", "pass");
  EXPECT_FALSE(plain.ok());
  EXPECT_NE(plain.error().find("encryption-required"), std::string::npos)
      << plain.error();
}

TEST(ProsodyServerTest, PlainAuthWithoutTlsCanBeRefusedAlone) {
  ProsodyOptions options;
  options.allow_unencrypted_plain_auth = false;
  ProsodyServer server(options);
  ASSERT_TRUE(server.Register("alice", "pass"));
  XmppTestClient plain(server.port(), server.domain(), "alice", "pass");
  EXPECT_FALSE(plain.ok());
}

TEST(ProsodyServerTest, CertificateNamesTheDomain) {
  ProsodyOptions options;
  options.domain = "xmpp.qd.test";
  options.require_encryption = true;
  ProsodyServer server(options);
  EXPECT_EQ(server.Jid("bob"), "bob@xmpp.qd.test");
  EXPECT_TRUE(server.ProbeLogin(kWait));

  // A second, unrelated CA for "wrong CA" tests.
  TempDir dir;
  ASSERT_TRUE(MakeSelfSignedCert("xmpp.qd.test", dir.File("other.crt"),
                                 dir.File("other.key")));
  EXPECT_EQ(access(dir.File("other.crt").c_str(), R_OK), 0);
  EXPECT_EQ(access(dir.File("other.key").c_str(), R_OK), 0);
}

}  // namespace
}  // namespace qd::test
