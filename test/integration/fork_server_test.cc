// The fork server of a multiplex listener (docs/listeners.md, "The fork
// server"): it forks the request workers as the master's children; killed,
// it is restarted and requests are answered again; a reload replaces it;
// it dies with the master; nothing leaks descriptors or leaves zombies.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon_harness.h"
#include "listener_fixture.h"

namespace qd::test {
namespace {

const char kForkServer[] = "qd-fork-line";
const char kOnePerRequest[] = "    worker_keepalive: 0s\n";

// The targets of a process's descriptors ("socket:[123]", "/dev/null" ...).
std::multiset<std::string> Descriptors(pid_t pid) {
  std::multiset<std::string> out;
  std::error_code ec;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(it->path(), link_ec);
    out.insert(link_ec ? "?" : target.string());
  }
  return out;
}

size_t SocketCount(pid_t pid) {
  size_t n = 0;
  for (const std::string& target : Descriptors(pid)) {
    n += target.rfind("socket:", 0) == 0 ? 1 : 0;
  }
  return n;
}

pid_t ParentOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  char state = 0;
  int ppid = -1;
  if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) {
    return -1;
  }
  return ppid;
}

class ForkServerTest : public ListenerTest {
 protected:
  // The one fork server of listener `line`, or -1 unless exactly one.
  pid_t ForkServer() const {
    std::vector<pid_t> pids = ChildPids(daemon_->pid(), kForkServer);
    return pids.size() == 1 ? pids[0] : -1;
  }
  bool WaitForForkServer(pid_t other_than, pid_t* pid) {
    return WaitFor(
        [&] {
          *pid = ForkServer();
          return *pid > 0 && *pid != other_than;
        },
        milliseconds(10000));
  }
};

TEST_F(ForkServerTest, WorkersAreTheMastersChildrenForkedByTheForkServer) {
  ASSERT_NO_FATAL_FAILURE(Start(kOnePerRequest));
  pid_t server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &server)) << daemon_->Log();
  LineClient c = Connect();
  std::set<pid_t> workers;
  for (int i = 0; i < 5; ++i) {
    Who who = ParseWho(c.Request("WHO", kReply));
    ASSERT_GT(who.pid, 0) << daemon_->LogTail(20);
    workers.insert(who.pid);
  }
  EXPECT_EQ(workers.size(), 5u) << "a worker per request";
  EXPECT_EQ(ForkServer(), server) << "one fork server, the same";
  // The fork server itself forked nothing of its own, holds no client and
  // nothing but its socket to the master.
  EXPECT_TRUE(ChildPids(server, "").empty());
  EXPECT_EQ(SocketCount(server), 1u);
}

TEST_F(ForkServerTest, AWorkerHoldsItsChannelOnly) {
  ASSERT_NO_FATAL_FAILURE(Start("    worker_keepalive: 5s\n"));
  // Its one socket is its channel to the master: not a client's, not the
  // fork server's.
  LineClient held = Connect();
  Who who = ParseWho(held.Request("WHO", kReply));
  ASSERT_GT(who.pid, 0) << daemon_->LogTail(20);
  EXPECT_EQ(SocketCount(who.pid), 1u) << "worker " << who.pid;
  EXPECT_EQ(ParentOf(who.pid), daemon_->pid());
}

TEST_F(ForkServerTest, ManyForksLeakNoDescriptorAndLeaveNoZombie) {
  ASSERT_NO_FATAL_FAILURE(Start(kOnePerRequest));
  pid_t server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &server)) << daemon_->Log();
  // Warm up: the master's Redis links and the like are open.
  {
    LineClient c = Connect();
    ASSERT_EQ(c.Request("ECHO warm", kReply),
              std::optional<std::string>("warm"));
  }
  ASSERT_TRUE(
      WaitFor([&] { return RequestWorkers().empty(); }, milliseconds(10000)));
  size_t master_before = Descriptors(daemon_->pid()).size();
  std::multiset<std::string> server_before = Descriptors(server);

  // Many one-request workers through several clients, then all gone.
  std::vector<LineClient> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(Connect());
  for (int round = 0; round < 25; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      std::string text = std::to_string(round) + "-" + std::to_string(i);
      ASSERT_EQ(clients[i].Request("ECHO " + text, kReply),
                std::optional<std::string>(text))
          << daemon_->LogTail(20);
    }
  }
  clients.clear();
  ASSERT_TRUE(WaitFor(
      [&] {
        return RequestWorkers().empty() &&
               Descriptors(daemon_->pid()).size() == master_before;
      },
      milliseconds(10000)))
      << "master: " << Descriptors(daemon_->pid()).size() << " descriptors, "
      << master_before << " before";
  EXPECT_EQ(Descriptors(server), server_before);
  EXPECT_TRUE(Zombies(daemon_->pid()).empty());
}

// kill -9 of the fork server under load: requests in flight get an answer
// (their reply, or the error reply for one whose fork was lost), the
// fork server comes back, and every later request is answered.
TEST_F(ForkServerTest, KilledForkServerIsRestartedAndRequestsAreAnswered) {
  ASSERT_NO_FATAL_FAILURE(Start(kOnePerRequest));
  pid_t server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &server)) << daemon_->Log();
  std::vector<LineClient> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(Connect());
  int errors = 0;
  for (int round = 0; round < 30; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      ASSERT_TRUE(clients[i].SendLine("ECHO " + std::to_string(round)));
    }
    if (round == 10) {
      ASSERT_EQ(kill(server, SIGKILL), 0);
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      // Up to the fork server's back-off and a fork per request.
      std::optional<std::string> reply =
          clients[i].ReadLine(milliseconds(8000));
      ASSERT_TRUE(reply) << "round " << round << " client " << i << "\n"
                         << daemon_->LogTail(30);
      if (*reply == "ERROR") {
        ++errors;
      } else {
        EXPECT_EQ(*reply, std::to_string(round));
      }
    }
  }
  EXPECT_LE(errors, 8) << "only requests in flight at the kill may fail";
  pid_t again = -1;
  ASSERT_TRUE(WaitForForkServer(server, &again)) << daemon_->Log();
  EXPECT_GE(daemon_->LogCount("fork server " + std::to_string(server)), 1u)
      << daemon_->Log();
  for (size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(clients[i].Request("ECHO after", kReply),
              std::optional<std::string>("after"));
  }
  EXPECT_TRUE(Zombies(daemon_->pid()).empty());
}

// A fork server that stops answering (here: stopped) is killed after
// ForkServer::kAnswerTimeout (5 s): the request it held gets the error
// reply instead of waiting for ever, and a new fork server serves the next.
TEST_F(ForkServerTest, HungForkServerIsKilledAndItsRequestIsAnswered) {
  ASSERT_NO_FATAL_FAILURE(Start(kOnePerRequest));
  pid_t server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &server)) << daemon_->Log();
  LineClient c = Connect();
  ASSERT_EQ(kill(server, SIGSTOP), 0);
  ASSERT_TRUE(c.SendLine("ECHO held"));
  EXPECT_EQ(c.ReadLine(milliseconds(10000)),
            std::optional<std::string>("ERROR"))
      << daemon_->LogTail(20);
  EXPECT_EQ(daemon_->LogCount("fork server " + std::to_string(server) +
                              " did not answer"),
            1u)
      << daemon_->Log();
  pid_t again = -1;
  ASSERT_TRUE(WaitForForkServer(server, &again)) << daemon_->Log();
  EXPECT_EQ(c.Request("ECHO back", kReply), std::optional<std::string>("back"));
  EXPECT_FALSE(c.closed());
  EXPECT_TRUE(WaitFor([&] { return Zombies(daemon_->pid()).empty(); },
                      milliseconds(5000)));
}

TEST_F(ForkServerTest, AReloadReplacesTheForkServerAndTheOldOneEnds) {
  ASSERT_NO_FATAL_FAILURE(Start("    worker_keepalive: 5s\n"));
  pid_t old_server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &old_server)) << daemon_->Log();
  // A worker forked before the reload keeps serving its connection.
  LineClient before = Connect();
  Who first = ParseWho(before.Request("WHO", kReply));
  ASSERT_GT(first.pid, 0);

  daemon_->WriteConfig(
      Config("    worker_keepalive: 5s\n    max_frame: 32KiB\n"));
  daemon_->Signal(SIGHUP);
  ASSERT_TRUE(
      daemon_->WaitForLog("config " + daemon_->config_path() + " reloaded"))
      << daemon_->Log();
  pid_t new_server = -1;
  ASSERT_TRUE(WaitForForkServer(old_server, &new_server)) << daemon_->Log();
  EXPECT_TRUE(WaitFor([&] { return !Alive(old_server); }, milliseconds(5000)))
      << "the old fork server exits";

  Who again = ParseWho(before.Request("WHO", kReply));
  EXPECT_EQ(again.pid, first.pid) << "the kept worker goes on";
  LineClient after = Connect();
  EXPECT_EQ(after.Request("ECHO new", kReply),
            std::optional<std::string>("new"));
  EXPECT_EQ(daemon_->LogCount("fork server " + std::to_string(old_server)), 0u)
      << "a retired fork server's end is not an error\n"
      << daemon_->Log();
  EXPECT_TRUE(Zombies(daemon_->pid()).empty());
}

TEST_F(ForkServerTest, ForkServerDiesWithTheMaster) {
  ASSERT_NO_FATAL_FAILURE(Start(kOnePerRequest));
  pid_t server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &server)) << daemon_->Log();
  daemon_->Crash();  // SIGKILL: no shutdown of its own
  EXPECT_TRUE(WaitFor([&] { return !Alive(server); }, milliseconds(5000)));
  if (Alive(server)) kill(server, SIGKILL);
}

TEST_F(ForkServerTest, ShutdownStopsTheForkServer) {
  ASSERT_NO_FATAL_FAILURE(Start(kOnePerRequest));
  pid_t server = -1;
  ASSERT_TRUE(WaitForForkServer(-1, &server)) << daemon_->Log();
  LineClient c = Connect();
  EXPECT_EQ(c.Request("ECHO x", kReply), std::optional<std::string>("x"));
  daemon_->Signal(SIGTERM);
  EXPECT_EQ(daemon_->WaitExit(), 0) << daemon_->Log();
  EXPECT_FALSE(Alive(server));
  EXPECT_EQ(daemon_->LogCount("fork server " + std::to_string(server)), 0u)
      << daemon_->Log();
}

}  // namespace
}  // namespace qd::test
