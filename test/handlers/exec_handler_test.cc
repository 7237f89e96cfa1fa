#include "handlers/exec_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "test/core/plugin/fake_job_context.h"

namespace qd {
namespace {

using std::chrono::milliseconds;

// The state letter of process `pid` ('R', 'S', 'Z'...), or 0 when it is gone.
char ProcessState(pid_t pid) {
  FILE* f = fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return 0;
  char buf[512] = {};
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  std::string stat(buf, n);
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size()
             ? 0
             : stat[paren + 2];
}

// True once `pid` (not our child) is gone or a zombie, within 2 s.
bool DiesSoon(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    char state = ProcessState(pid);
    if (state == 0 || state == 'Z' || state == 'X') return true;
    usleep(10000);
  }
  return false;
}

class ExecHandlerTest : public ::testing::Test {
 protected:
  // The worker ignores SIGPIPE; so must a process that runs the handler.
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void TearDown() override {
    // No child of ours may be left, running or zombie.
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }

  // The exec handler for `yaml` (the queue's handler options), or nullptr
  // with the factory's message in error_.
  std::unique_ptr<QueueHandler> Make(const std::string& yaml) {
    HandlerConfig config;
    config.site = "s1";
    config.queue = "q1";
    config.handler = "exec";
    config.options = YAML::Load(yaml);
    error_.clear();
    return ExecHandler::Create(config, &error_);
  }

  // Runs `sh -c script` on `payload`.
  JobResult Sh(const std::string& script, std::string_view payload = "",
               milliseconds timeout = milliseconds(0)) {
    ExecHandler handler({"/bin/sh", "-c", script}, {});
    ctx_ = std::make_unique<FakeJobContext>(timeout);
    return handler.handle(MakeJob(payload), *ctx_);
  }

  Job MakeJob(std::string_view payload) {
    return Job("s1", "q1", "1700000000000-0",
               {{"payload", payload}, {"jid", "j-7"}, {"attempt", "3"}});
  }

  // The hex mask logged as "stdout: NAME:\tHEX" by the last command.
  unsigned long long SignalMask(const std::string& name) const {
    std::string key = "stdout: " + name + ":\\t";
    size_t at = ctx_->logged().find(key);
    EXPECT_NE(at, std::string::npos) << name;
    if (at == std::string::npos) return ~0ull;
    return std::stoull(ctx_->logged().substr(at + key.size()), nullptr, 16);
  }

  bool Logged(const std::string& text) const {
    return ctx_->logged().find(text) != std::string::npos;
  }

  std::string error_;
  std::unique_ptr<FakeJobContext> ctx_;
};

TEST_F(ExecHandlerTest, ExitZeroIsOk) {
  auto handler = Make("command: [/bin/true]");
  ASSERT_NE(handler, nullptr) << error_;
  FakeJobContext ctx;
  EXPECT_EQ(handler->handle(MakeJob("x"), ctx).kind(), JobResult::Kind::kOk);
}

TEST_F(ExecHandlerTest, ExitTempFailRetriesWithLastStderrLine) {
  JobResult r = Sh("echo first >&2; echo 'try later' >&2; echo; exit 75");
  EXPECT_EQ(r.kind(), JobResult::Kind::kRetry);
  EXPECT_EQ(r.reason(), "command exited with 75 (EX_TEMPFAIL): try later");
  EXPECT_EQ(r.delay(), JobResult::kDefaultDelay);
}

TEST_F(ExecHandlerTest, OtherExitFailsWithLastStderrLine) {
  JobResult r = Sh("echo 'bad address' >&2; exit 3");
  EXPECT_EQ(r.kind(), JobResult::Kind::kFail);
  EXPECT_EQ(r.reason(), "command exited with 3: bad address");
  EXPECT_EQ(Sh("exit 1").reason(), "command exited with 1");
}

TEST_F(ExecHandlerTest, PayloadArrivesOnStdin) {
  JobResult r = Sh("read line; echo \"got <$line>\"", "hello world\n");
  EXPECT_EQ(r.kind(), JobResult::Kind::kOk) << r.reason();
  EXPECT_TRUE(Logged("info stdout: got <hello world>")) << ctx_->logged();
}

TEST_F(ExecHandlerTest, StdoutIsLoggedAtInfoAndStderrAtWarn) {
  ASSERT_EQ(Sh("echo out; echo err >&2").kind(), JobResult::Kind::kOk);
  EXPECT_TRUE(Logged("info stdout: out\n")) << ctx_->logged();
  EXPECT_TRUE(Logged("warning stderr: err\n")) << ctx_->logged();
}

TEST_F(ExecHandlerTest, EnvironmentCarriesTheJobAndTheEnvOption) {
  setenv("QD_TEST_INHERITED", "inherited", 1);
  setenv("QD_JID", "stale", 1);
  auto handler = Make(
      "command: [/bin/sh, -c, 'echo \"$QD_SITE $QD_QUEUE $QD_JID "
      "$QD_ATTEMPT $EXTRA $QD_TEST_INHERITED\"']\n"
      "env: { EXTRA: from-config }");
  ASSERT_NE(handler, nullptr) << error_;
  ctx_ = std::make_unique<FakeJobContext>();
  EXPECT_EQ(handler->handle(MakeJob(""), *ctx_).kind(), JobResult::Kind::kOk);
  EXPECT_TRUE(Logged("stdout: s1 q1 j-7 3 from-config inherited"))
      << ctx_->logged();
  unsetenv("QD_TEST_INHERITED");
  unsetenv("QD_JID");
}

TEST_F(ExecHandlerTest, LargeInputAndOutputDoNotDeadlock) {
  // cat echoes 1 MiB back before it has read it all: both pipes fill up.
  std::string payload;
  for (int i = 0; payload.size() < (1u << 20); ++i) {
    payload += "line " + std::to_string(i) + "\n";
  }
  JobResult r = Sh("cat", payload);
  EXPECT_EQ(r.kind(), JobResult::Kind::kOk) << r.reason();
  EXPECT_TRUE(Logged("info stdout: line 0\n"));
  EXPECT_TRUE(Logged("output truncated: ")) << "logging is capped";
  // The cap counts the command's bytes; each line adds "info stdout: ".
  EXPECT_LT(ctx_->logged().size(), ExecHandler::kMaxLogged * 3);
}

TEST_F(ExecHandlerTest, CommandThatIgnoresItsInputIsFine) {
  JobResult r = Sh("exec 0<&-; echo done", std::string(1 << 20, 'x'));
  EXPECT_EQ(r.kind(), JobResult::Kind::kOk) << r.reason();
  EXPECT_TRUE(Logged("stdout: done"));
}

TEST_F(ExecHandlerTest, TimeoutKillsTheGroupAndRetries) {
  auto start = std::chrono::steady_clock::now();
  JobResult r = Sh("sleep 30 & echo $!; wait", "", milliseconds(300));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.kind(), JobResult::Kind::kRetry);
  EXPECT_EQ(r.reason(), "timed out after 300ms");
  EXPECT_LT(took, std::chrono::seconds(2));
  // The grandchild (sleep) got the signal too: the whole group is killed.
  size_t at = ctx_->logged().find("stdout: ");
  ASSERT_NE(at, std::string::npos) << ctx_->logged();
  EXPECT_TRUE(DiesSoon(std::stoi(ctx_->logged().substr(at + 8))));
}

TEST_F(ExecHandlerTest, CommandIgnoringTermIsKilledAfterTheGrace) {
  ExecHandler handler({"/bin/sh", "-c", "trap '' TERM; sleep 30"}, {},
                      milliseconds(100));
  FakeJobContext ctx(milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  JobResult r = handler.handle(MakeJob(""), ctx);
  EXPECT_EQ(r.kind(), JobResult::Kind::kRetry);
  EXPECT_EQ(r.reason(), "timed out after 200ms");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ExecHandlerTest, KilledBySignalRetries) {
  JobResult r = Sh("kill -KILL $$");
  EXPECT_EQ(r.kind(), JobResult::Kind::kRetry);
  EXPECT_EQ(r.reason().rfind("command killed by signal 9 (", 0), 0u)
      << r.reason();
}

TEST_F(ExecHandlerTest, MissingBinaryFails) {
  auto handler = Make("command: [/nonexistent/qd-send-mail, --quiet]");
  ASSERT_NE(handler, nullptr) << error_;
  FakeJobContext ctx;
  JobResult r = handler->handle(MakeJob("x"), ctx);
  EXPECT_EQ(r.kind(), JobResult::Kind::kFail);
  EXPECT_EQ(r.reason(),
            "cannot run /nonexistent/qd-send-mail: No such file or directory");
}

TEST_F(ExecHandlerTest, ProgramIsLookedUpInPath) {
  auto handler = Make("command: [sh, -c, 'exit 0']");
  ASSERT_NE(handler, nullptr) << error_;
  FakeJobContext ctx;
  EXPECT_EQ(handler->handle(MakeJob(""), ctx).kind(), JobResult::Kind::kOk);
}

TEST_F(ExecHandlerTest, CommandStartsWithDefaultSignalsAndNoStrayFds) {
  // The worker ignores SIGPIPE and blocks SIGTERM; a descriptor it forgot
  // to mark close-on-exec must not reach the command either.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, &old);
  int stray = fcntl(0, F_DUPFD, 57);
  ASSERT_EQ(stray, 57);
  JobResult r = Sh("grep -E '^Sig(Ign|Blk)' /proc/self/status; ls /proc/$$/fd");
  close(stray);
  sigprocmask(SIG_SETMASK, &old, nullptr);
  ASSERT_EQ(r.kind(), JobResult::Kind::kOk) << r.reason();
  // Signals 1-31 all default and unblocked (glibc's posix_spawn leaves its
  // own internal real-time signals, 32 and 33, ignored).
  EXPECT_EQ(SignalMask("SigIgn") & 0x7fffffffu, 0u) << ctx_->logged();
  EXPECT_EQ(SignalMask("SigBlk"), 0u) << ctx_->logged();
  EXPECT_FALSE(Logged("stdout: 57\n")) << ctx_->logged();
}

TEST_F(ExecHandlerTest, UnknownOptionIsRefusedWithSuggestion) {
  EXPECT_EQ(Make("comand: [/bin/true]"), nullptr);
  EXPECT_EQ(error_, "unknown option 'comand' (did you mean 'command'?)");
  EXPECT_EQ(Make("command: [/bin/true]\nuser: nobody"), nullptr);
  EXPECT_EQ(error_, "unknown option 'user' (exec knows: command, env)");
}

TEST_F(ExecHandlerTest, CommandAsStringIsRefusedSuggestingAList) {
  EXPECT_EQ(Make("command: /usr/bin/send-mail --quiet"), nullptr);
  EXPECT_EQ(error_,
            "option 'command': give a list, not a string (it is not split "
            "into words): command: [/usr/bin/send-mail --quiet] or command: "
            "[/bin/sh, -c, '...']");
}

TEST_F(ExecHandlerTest, MissingOrEmptyCommandIsRefused) {
  EXPECT_EQ(Make("{}"), nullptr);
  EXPECT_EQ(error_.rfind("option 'command' is required", 0), 0u) << error_;
  EXPECT_EQ(Make("command: []"), nullptr);
  EXPECT_EQ(error_.rfind("option 'command': expected a non-empty list", 0), 0u)
      << error_;
  EXPECT_EQ(Make("command: [[a]]"), nullptr);
  EXPECT_EQ(Make("command: ['']"), nullptr);
}

TEST_F(ExecHandlerTest, BadEnvIsRefused) {
  EXPECT_EQ(Make("command: [/bin/true]\nenv: [A=1]"), nullptr);
  EXPECT_EQ(error_, "option 'env': expected a map of NAME: value");
  EXPECT_EQ(Make("command: [/bin/true]\nenv: { 'A=B': 1 }"), nullptr);
  EXPECT_EQ(Make("command: [/bin/true]\nenv: { A: [1] }"), nullptr);
}

}  // namespace
}  // namespace qd
