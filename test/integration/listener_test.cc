// Multiplex listeners end to end (issue 4): the real daemon with the example
// plugin's `example-line` handler, a real redis-server for the sessions, and
// clients on loopback TCP or a unix socket. Request workers are counted as
// the master's children named "qd-req-line".
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "daemon_harness.h"
#include "listener_fixture.h"

namespace qd::test {
namespace {

std::set<pid_t> Pids(const std::vector<Who>& whos) {
  std::set<pid_t> out;
  for (const auto& w : whos) out.insert(w.pid);
  return out;
}

// One client of the load test: pipelined clients write all their requests
// at once, the others send the next request when a reply comes.
struct LoadClient {
  LineClient conn;
  std::string name;
  bool pipelined = false;
  int sent = 0;
  int got = 0;
  std::string first_wrong;  // the first unexpected reply

  std::string Expected(int i) const { return name + "-" + std::to_string(i); }
  bool SendNext() { return conn.SendLine("ECHO " + Expected(sent++)); }
};

TEST_F(ListenerTest, TwoHundredClientsGetEveryReplyInOrder) {
  constexpr int kClients = 200;
  constexpr int kRequests = 50;
  ASSERT_NO_FATAL_FAILURE(Start(
      "    login: none\n    worker_keepalive: 5s\n    max_concurrent: 256\n",
      "info"));
  auto start = Clock::now();
  std::vector<LoadClient> clients(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients[i].conn = Connect();
    ASSERT_TRUE(clients[i].conn.connected()) << "client " << i;
    clients[i].name = "c" + std::to_string(i);
    clients[i].pipelined = i % 2 == 0;
  }
  for (auto& c : clients) {
    bool ok = true;
    do {
      ok = c.SendNext();
    } while (ok && c.pipelined && c.sent < kRequests);
    ASSERT_TRUE(ok) << c.name;
  }
  auto deadline = Clock::now() + milliseconds(30000);
  int finished = 0;
  while (finished < kClients && Clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<LoadClient*> owners;
    for (auto& c : clients) {
      if (c.got < kRequests && !c.conn.closed()) {
        fds.push_back({c.conn.fd(), POLLIN, 0});
        owners.push_back(&c);
      }
    }
    if (poll(fds.data(), fds.size(), 100) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      LoadClient& c = *owners[i];
      while (auto line = c.conn.ReadLine(milliseconds(0))) {
        if (*line != c.Expected(c.got) && c.first_wrong.empty()) {
          c.first_wrong = "#" + std::to_string(c.got) + ": " + *line;
        }
        if (++c.got == kRequests) ++finished;
        if (!c.pipelined && c.sent < kRequests) c.SendNext();
      }
      if (c.conn.closed() && c.got < kRequests) ++finished;  // gives up
    }
  }
  long ms = ElapsedMs(start);
  int complete = 0, wrong = 0, closed = 0;
  for (const auto& c : clients) {
    complete += c.got == kRequests;
    wrong += !c.first_wrong.empty();
    closed += c.conn.closed();
    EXPECT_TRUE(c.first_wrong.empty()) << c.name << " " << c.first_wrong;
  }
  EXPECT_EQ(complete, kClients) << daemon_->Log();
  EXPECT_EQ(wrong, 0) << daemon_->Log();
  EXPECT_EQ(closed, 0);
  std::printf("%d clients x %d requests: %d complete in %ld ms (%.0f req/s)\n",
              kClients, kRequests, complete, ms,
              kClients * kRequests * 1000.0 / std::max(ms, 1L));
  RecordProperty("elapsed_ms", std::to_string(ms));
}

TEST_F(ListenerTest, FenceHoldsFourWorkersAndAnswersFiftySlowRequests) {
  constexpr int kClients = 50;
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: none\n    worker_keepalive: 5s\n"
            "    max_concurrent: 4\n    fence_timeout: 60s\n",
            "info"));
  std::vector<LineClient> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Connect());
    ASSERT_TRUE(clients.back().connected()) << "client " << i;
  }
  std::atomic<bool> stop{false};
  std::atomic<size_t> most{0};
  std::atomic<int> samples{0};
  std::thread sampler([&] {
    while (!stop) {
      size_t n = RequestWorkers().size();
      if (n > most) most = n;
      ++samples;
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  auto start = Clock::now();
  int sent = 0;
  for (auto& c : clients) sent += c.SendLine("SLOW 200");
  std::vector<std::optional<std::string>> replies(kClients);
  int answered = 0;
  auto deadline = start + milliseconds(20000);
  while (answered < kClients && Clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<int> index;
    for (int i = 0; i < kClients; ++i) {
      if (!replies[i] && !clients[i].closed()) {
        fds.push_back({clients[i].fd(), POLLIN, 0});
        index.push_back(i);
      }
    }
    if (fds.empty() || poll(fds.data(), fds.size(), 100) <= 0) continue;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      replies[index[k]] = clients[index[k]].ReadLine(milliseconds(0));
      answered += replies[index[k]].has_value();
    }
  }
  long ms = ElapsedMs(start);
  stop = true;
  sampler.join();
  EXPECT_EQ(sent, kClients);
  int done = 0;
  for (const auto& r : replies) done += r == std::optional<std::string>("DONE");
  EXPECT_EQ(done, kClients) << daemon_->Log();
  EXPECT_LE(most.load(), 4u);
  EXPECT_EQ(most.load(), 4u) << "the fence was never full";
  std::printf(
      "fence 4, %d x SLOW 200: %d DONE in %ld ms; most workers seen %zu "
      "(%d samples)\n",
      kClients, done, ms, most.load(), samples.load());
}

// A waits at the fence behind B's request; when B's worker goes idle it is
// reclaimed for A at once, not after B's keepalive.
TEST_F(ListenerTest, FenceReclaimsAWorkerThatGoesIdleWhileOthersWait) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: none\n    worker_keepalive: 5s\n"
            "    max_concurrent: 1\n    fence_timeout: 60s\n"));
  LineClient a = Connect(), b = Connect();
  ASSERT_TRUE(b.SendLine("SLOW 500"));
  ASSERT_TRUE(daemon_->WaitForLog("request 1 of this connection: SLOW"))
      << daemon_->Log();
  auto start = Clock::now();
  ASSERT_TRUE(a.SendLine("ECHO a"));
  EXPECT_EQ(b.ReadLine(kReply), std::optional<std::string>("DONE"));
  EXPECT_EQ(a.ReadLine(kReply), std::optional<std::string>("a"));
  long ms = ElapsedMs(start);
  EXPECT_LT(ms, 2500) << "A waited for B's keepalive (5 s)";
  std::printf("waiting request answered after %ld ms (B's SLOW: 500 ms)\n", ms);
}

// A's only request times out at the fence behind B's; A is read again after
// its BUSY reply, so its next request is answered once B's worker is gone.
TEST_F(ListenerTest, ConnectionIsReadAgainAfterAFenceTimeout) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: none\n    worker_keepalive: 0s\n"
            "    max_concurrent: 1\n    fence_timeout: 1s\n"));
  LineClient a = Connect(), b = Connect();
  ASSERT_TRUE(b.SendLine("SLOW 2500"));
  ASSERT_TRUE(daemon_->WaitForLog("request 1 of this connection: SLOW"))
      << daemon_->Log();
  ASSERT_TRUE(a.SendLine("ECHO a1"));
  EXPECT_EQ(a.ReadLine(kReply), std::optional<std::string>("BUSY"))
      << daemon_->Log();
  EXPECT_EQ(b.ReadLine(kReply), std::optional<std::string>("DONE"));
  EXPECT_EQ(a.Request("ECHO a2", kReply), std::optional<std::string>("a2"))
      << daemon_->Log();
}

TEST_F(ListenerTest, KeepaliveKeepsOneWorkerForAChattyClient) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    worker_keepalive: 5s\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  auto whos = Whos(c, 20);
  EXPECT_EQ(Pids(whos).size(), 1u);
  EXPECT_NE(whos.front().pid, 0);
  EXPECT_NE(whos.front().pid, daemon_->pid());
  EXPECT_EQ(whos.back().n, 20);
  EXPECT_EQ(whos.back().account, "-");
}

TEST_F(ListenerTest, KeepaliveZeroForksPerRequest) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    worker_keepalive: 0s\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  auto whos = Whos(c, 20);
  std::set<pid_t> pids = Pids(whos);
  pids.erase(0);
  EXPECT_EQ(pids.size(), 20u) << daemon_->Log();
  // Each exits after its one request.
  EXPECT_TRUE(
      WaitFor([&] { return RequestWorkers().empty(); }, milliseconds(3000)));
}

TEST_F(ListenerTest, AccountKeepaliveBeatsSiteWhichBeatsListener) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    worker_keepalive: 5s\n"
            "    sites:\n"
            "      b: { worker_keepalive: 0s }\n"
            "    accounts:\n"
            "      alice: { password: secret, worker_keepalive: 0s }\n"
            "      bob: { password: pw }\n"
            "      carol: { password: c, site: b }\n"
            "      dave: { password: d, site: b, worker_keepalive: 5s }\n"));
  struct Case {
    std::string account, password;
    size_t pids;  // distinct worker pids over 10 requests
  };
  for (const Case& k : {Case{"alice", "secret", 10}, Case{"bob", "pw", 1},
                        Case{"carol", "c", 10}, Case{"dave", "d", 1}}) {
    LineClient c = Connect();
    ASSERT_NO_FATAL_FAILURE(Login(c, k.account, k.password));
    auto whos = Whos(c, 10);
    std::set<pid_t> pids = Pids(whos);
    pids.erase(0);
    EXPECT_EQ(pids.size(), k.pids) << k.account;
    EXPECT_EQ(whos.back().account, k.account);
  }
}

TEST_F(ListenerTest, RequestsPipelinedBehindTheLoginAreAnsweredAfterIt) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    accounts:\n"
            "      bob: { password: pw }\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("LOGIN bob pw\nECHO one\nWHO\nECHO two\n"));
  EXPECT_EQ(c.ReadLine(kReply), std::optional<std::string>("OK"));
  EXPECT_EQ(c.ReadLine(kReply), std::optional<std::string>("one"));
  Who who = ParseWho(c.ReadLine(kReply));
  EXPECT_EQ(who.account, "bob");
  EXPECT_EQ(who.n, 2);
  EXPECT_EQ(c.ReadLine(kReply), std::optional<std::string>("two"));
}

TEST_F(ListenerTest, WrongPasswordIsDeniedAndClosed) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    accounts:\n"
            "      bob: { password: pw }\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("LOGIN bob nope\nECHO sneaky\n"));
  EXPECT_EQ(c.ReadLine(kReply), std::optional<std::string>("DENIED"));
  EXPECT_TRUE(c.WaitClosed(kReply));
  // The request behind the failed login never ran.
  EXPECT_EQ(c.pending(), "");
}

TEST_F(ListenerTest, SessionStateSurvivesFromWorkerToWorker) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    accounts:\n"
            "      alice: { password: secret, worker_keepalive: 0s }\n"));
  LineClient c = Connect();
  ASSERT_NO_FATAL_FAILURE(Login(c, "alice", "secret"));
  auto whos = Whos(c, 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(whos[i].n, i + 1) << "request " << i;
    EXPECT_EQ(whos[i].account, "alice");
  }
  EXPECT_EQ(Pids(whos).size(), 6u);
  // The master writes the record behind the replies.
  EXPECT_TRUE(WaitFor([&] { return SessionKeys() == 1; }, kReply));
  c.Close();
  // A closed connection's session is forgotten.
  EXPECT_TRUE(WaitFor([&] { return SessionKeys() == 0; }, kReply));
}

// The session goes from worker to worker through the master; Redis gets a
// copy behind the replies. With Redis refusing writes for a while (CLIENT
// PAUSE WRITE), requests on five successive workers are answered and count
// on, and nothing has been written yet.
TEST_F(ListenerTest, SessionGoesOnWhileRedisHoldsWritesBack) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    login: required\n"
            "    accounts:\n"
            "      alice: { password: secret, worker_keepalive: 0s }\n"));
  LineClient c = Connect();
  ASSERT_EQ(RedisStrings(redis_.port(), {"CLIENT", "PAUSE", "30000", "WRITE"}),
            std::vector<std::string>{"OK"});
  ASSERT_NO_FATAL_FAILURE(Login(c, "alice", "secret"));
  auto whos = Whos(c, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(whos[i].n, i + 1) << daemon_->Log();
  EXPECT_EQ(Pids(whos).size(), 5u);
  EXPECT_TRUE(
      RedisStrings(redis_.port(), {"KEYS", "qd:{qd}:session:*"}).empty());
  ASSERT_EQ(RedisStrings(redis_.port(), {"CLIENT", "UNPAUSE"}),
            std::vector<std::string>{"OK"});
  EXPECT_TRUE(WaitFor([&] { return SessionKeys() == 1; }, kReply));
  c.Close();
  EXPECT_TRUE(WaitFor([&] { return SessionKeys() == 0; }, kReply));
}

TEST_F(ListenerTest, CrashedWorkerGetsAnErrorReplyAndTheConnectionLives) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    worker_keepalive: 5s\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.Request("ECHO before", kReply),
            std::optional<std::string>("before"));
  EXPECT_EQ(c.Request("CRASH", kReply), std::optional<std::string>("ERROR"));
  EXPECT_EQ(c.Request("ECHO after", kReply),
            std::optional<std::string>("after"));
  // The count went on from the session saved before the crash.
  EXPECT_EQ(ParseWho(c.Request("WHO", kReply)).n, 3);
}

TEST_F(ListenerTest,
       KilledWorkerMidRequestGetsAnErrorReplyAndTheConnectionLives) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    worker_keepalive: 5s\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  Who who = ParseWho(c.Request("WHO", kReply));
  ASSERT_GT(who.pid, 0);
  ASSERT_TRUE(c.SendLine("SLOW 5000"));
  // The kept-alive worker has started the SLOW.
  ASSERT_TRUE(daemon_->WaitForLog("request 2 of this connection: SLOW"))
      << daemon_->Log();
  auto start = Clock::now();
  ASSERT_EQ(kill(who.pid, SIGKILL), 0);
  EXPECT_EQ(c.ReadLine(kReply), std::optional<std::string>("ERROR"));
  EXPECT_LT(ElapsedMs(start), 4000) << "the reply waited for the SLOW";
  EXPECT_EQ(c.Request("ECHO alive", kReply),
            std::optional<std::string>("alive"));
  Who next = ParseWho(c.Request("WHO", kReply));
  EXPECT_NE(next.pid, who.pid);
  EXPECT_GT(next.pid, 0);
}

TEST_F(ListenerTest, OversizeFrameGetsAnErrorAndIsClosed) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    max_frame: 64\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.Request("ECHO short", kReply),
            std::optional<std::string>("short"));
  ASSERT_TRUE(c.Send(std::string(200, 'x')));
  EXPECT_EQ(c.ReadLine(kReply),
            std::optional<std::string>("ERROR request too long"));
  EXPECT_TRUE(c.WaitClosed(kReply));
}

TEST_F(ListenerTest, SlowlorisIsClosedAfterIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    idle_timeout: 1s\n"));
  LineClient c = Connect();
  ASSERT_TRUE(c.connected());
  auto start = Clock::now();
  ASSERT_TRUE(c.Send("EC"));
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  long ms = ElapsedMs(start);
  EXPECT_GE(ms, 800) << "closed before idle_timeout";
  std::printf("slowloris closed after %ld ms (idle_timeout 1s)\n", ms);
}

TEST_F(ListenerTest, MaxConnectionsRefusesTheThirdClearly) {
  ASSERT_NO_FATAL_FAILURE(Start("    login: none\n    max_connections: 2\n"));
  LineClient a = Connect(), b = Connect();
  EXPECT_EQ(a.Request("ECHO a", kReply), std::optional<std::string>("a"));
  EXPECT_EQ(b.Request("ECHO b", kReply), std::optional<std::string>("b"));
  LineClient third = Connect();
  ASSERT_TRUE(third.connected());  // the kernel accepts; the master refuses
  EXPECT_EQ(third.ReadLine(kReply),
            std::optional<std::string>("ERROR too many connections"));
  EXPECT_TRUE(third.WaitClosed(kReply));
  // A freed place is taken again once the master has seen the close.
  a.Close();
  EXPECT_TRUE(WaitFor(
      [&] {
        LineClient next = Connect();
        return next.Request("ECHO next", milliseconds(500)) ==
               std::optional<std::string>("next");
      },
      kReply));
}

TEST_F(ListenerTest, UnixSocketListenerServes) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    listen: unix:RUN_DIR/line.sock\n"
            "    login: required\n"
            "    accounts:\n"
            "      bob: { password: pw }\n"));
  LineClient c = LineClient::Unix(daemon_->dir().File("line.sock"));
  ASSERT_TRUE(c.connected());
  ASSERT_NO_FATAL_FAILURE(Login(c, "bob", "pw"));
  EXPECT_EQ(c.Request("ECHO over unix", kReply),
            std::optional<std::string>("over unix"));
  Who who = ParseWho(c.Request("WHO", kReply));
  EXPECT_EQ(who.account, "bob");
  EXPECT_EQ(who.n, 2);
}

TEST_F(ListenerTest, ForkPersonalityKeepsOneWorkerPerConnection) {
  ASSERT_NO_FATAL_FAILURE(
      Start("    personality: fork\n"
            "    login: required\n"
            "    accounts:\n"
            "      alice: { password: secret }\n"
            "      bob: { password: pw }\n"));
  LineClient a = Connect(), b = Connect();
  ASSERT_NO_FATAL_FAILURE(Login(a, "bob", "pw"));
  ASSERT_NO_FATAL_FAILURE(Login(b, "alice", "secret"));
  auto whos_a = Whos(a, 3);
  Who who_b = ParseWho(b.Request("WHO", kReply));
  EXPECT_EQ(Pids(whos_a).size(), 1u);
  EXPECT_EQ(whos_a.back().n, 3);
  EXPECT_EQ(whos_a.back().account, "bob");
  EXPECT_EQ(who_b.account, "alice");
  EXPECT_GT(who_b.pid, 0);
  EXPECT_NE(who_b.pid, whos_a.front().pid);
  auto workers = RequestWorkers();
  EXPECT_EQ(std::count(workers.begin(), workers.end(), whos_a.front().pid), 1);
  EXPECT_EQ(std::count(workers.begin(), workers.end(), who_b.pid), 1);
  // A crash takes its own connection only.
  ASSERT_TRUE(a.SendLine("CRASH"));
  EXPECT_TRUE(a.WaitClosed(kReply));
  EXPECT_EQ(b.Request("ECHO still", kReply),
            std::optional<std::string>("still"));
  EXPECT_TRUE(WaitFor([&] { return !Alive(whos_a.front().pid); }, kReply));
}

}  // namespace
}  // namespace qd::test
