// A reload (SIGHUP) of a listener whose `listen` and personality stay the
// same applies its new settings and handler and keeps its connections
// (docs/listeners.md): clients connected before go on in the same sessions.
#include <gtest/gtest.h>
#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "listener_fixture.h"

namespace qd::test {
namespace {

// alice's requests each run in a fresh request worker, forked from the
// master with the handler it holds at that moment.
const char kBefore[] =
    "    login: required\n"
    "    accounts:\n"
    "      alice: { password: secret, worker_keepalive: 0s }\n";
// The reload adds an account and changes a setting; `listen` and the
// personality stay.
const char kAfter[] =
    "    login: required\n"
    "    idle_timeout: 5m\n"
    "    accounts:\n"
    "      alice: { password: secret, worker_keepalive: 0s }\n"
    "      carol: { password: other }\n";

TEST_F(ListenerTest, AReloadKeepingTheListenerKeepsItsConnections) {
  ASSERT_NO_FATAL_FAILURE(Start(kBefore));
  std::vector<LineClient> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(Connect());
    ASSERT_NO_FATAL_FAILURE(Login(clients.back(), "alice", "secret"));
    EXPECT_EQ(ParseWho(clients.back().Request("WHO", kReply)).n, 1);
  }
  LineClient carol = Connect();
  ASSERT_TRUE(carol.connected());
  EXPECT_EQ(carol.Request("LOGIN carol other", kReply),
            std::optional<std::string>("DENIED"))
      << "no such account yet";

  daemon_->WriteConfig(Config(kAfter));
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(
      daemon_->WaitForLog("config " + daemon_->config_path() + " reloaded"))
      << daemon_->Log();

  // The same connections, the same sessions (the request count goes on).
  for (size_t i = 0; i < clients.size(); ++i) {
    LineClient& c = clients[i];
    EXPECT_EQ(c.Request("ECHO still-" + std::to_string(i), kReply),
              std::optional<std::string>("still-" + std::to_string(i)))
        << "client " << i << "\n"
        << daemon_->LogTail(20);
    Who who = ParseWho(c.Request("WHO", kReply));
    EXPECT_EQ(who.account, "alice") << "client " << i;
    EXPECT_EQ(who.n, 3) << "client " << i;
    EXPECT_FALSE(c.closed()) << "client " << i;
  }
  // And the new handler serves: carol may log in now.
  carol = Connect();
  ASSERT_NO_FATAL_FAILURE(Login(carol, "carol", "other"));
  EXPECT_EQ(daemon_->LogCount("removed or moved by the reload"), 0u)
      << daemon_->Log();
}

}  // namespace
}  // namespace qd::test
