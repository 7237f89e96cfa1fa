#include "core/redis/embedded_redis.h"

#include <errno.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "core/os/process.h"
#include "core/os/service_notifier.h"
#include "core/util/units.h"

namespace qd {
namespace {
using std::chrono::milliseconds;
using std::chrono::steady_clock;
constexpr milliseconds kReadyDeadline(10000);
constexpr milliseconds kReadyProbeEvery(20);
}  // namespace

EmbeddedRedis::EmbeddedRedis(event_base* base, std::string binary,
                             std::string dir)
    : base_(base), binary_(std::move(binary)), dir_(std::move(dir)) {
  restart_timer_ = evtimer_new(base_, &EmbeddedRedis::OnRestart, this);
}

EmbeddedRedis::~EmbeddedRedis() { event_free(restart_timer_); }

Status EmbeddedRedis::Start() {
  if (socket_path().size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::Error("embedded redis: socket path " + socket_path() +
                         " is too long for a unix socket; use a shorter "
                         "daemon.run_dir");
  }
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Error("embedded redis: cannot create " + dir_ + ": " +
                         std::strerror(errno));
  }
  Status s = Spawn();
  if (!s.ok()) return s;
  auto deadline = steady_clock::now() + kReadyDeadline;
  while (!Ping()) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return Status::Error("embedded redis: " + binary_ +
                           " exited at start-up; see " + dir_ + "/redis.log");
    }
    if (steady_clock::now() > deadline) {
      return Status::Error("embedded redis: no answer on " + socket_path() +
                           " within 10s; see " + dir_ + "/redis.log");
    }
    std::this_thread::sleep_for(kReadyProbeEvery);  // start-up only
  }
  spdlog::info("embedded redis pid {} ready on {}", pid_, socket_path());
  return Status::Ok();
}

Status EmbeddedRedis::Spawn() {
  unlink(socket_path().c_str());
  std::vector<std::string> args = {binary_,
                                   "--port",
                                   "0",
                                   "--unixsocket",
                                   socket_path(),
                                   "--unixsocketperm",
                                   "700",
                                   "--dir",
                                   dir_,
                                   "--appendonly",
                                   "yes",
                                   "--appendfsync",
                                   "everysec",
                                   "--save",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   dir_ + "/redis.log"};
  pid_t master = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return Status::Error(std::string("embedded redis: fork: ") +
                         std::strerror(errno));
  }
  if (pid == 0) {
    Process::CloseInheritedFds({});
    Process::ResetSignals();
    ServiceNotifier::ForgetInChild();  // only the master notifies
    setpgid(0, 0);  // a terminal's Ctrl-C is the master's to handle
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master) _exit(1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  return Status::Ok();
}

bool EmbeddedRedis::Ping() const {
  timeval tv = {0, 200 * 1000};
  redisContext* c = redisConnectUnixWithTimeout(socket_path().c_str(), tv);
  bool ok = false;
  if (c != nullptr && c->err == 0) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (c != nullptr) redisFree(c);
  return ok;
}

bool EmbeddedRedis::OnExit(pid_t pid, int wait_status) {
  if (pid != pid_ || pid == 0) return false;
  pid_ = 0;
  if (stopping_) return true;
  auto delay = backoff_.OnCrash(milliseconds(0));
  spdlog::error(
      "embedded redis pid {} {} {}: restarting in {}", pid,
      WIFSIGNALED(wait_status) ? "was killed by signal" : "exited with code",
      WIFSIGNALED(wait_status) ? WTERMSIG(wait_status)
                               : WEXITSTATUS(wait_status),
      FormatDuration(delay));
  ScheduleRestart(delay);
  return true;
}

void EmbeddedRedis::ScheduleRestart(milliseconds delay) {
  timeval tv = ToTimeval(delay);
  evtimer_add(restart_timer_, &tv);
}

void EmbeddedRedis::OnRestart(int, short, void* arg) {
  auto* self = static_cast<EmbeddedRedis*>(arg);
  Status s = self->Spawn();
  if (!s.ok()) {
    auto delay = self->backoff_.OnCrash(milliseconds(0));
    spdlog::error("{}; retrying in {}", s.message(), FormatDuration(delay));
    self->ScheduleRestart(delay);
    return;
  }
  spdlog::info("embedded redis restarted as pid {}", self->pid_);
}

void EmbeddedRedis::Stop(int grace_ms) {
  stopping_ = true;
  evtimer_del(restart_timer_);
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  auto deadline = steady_clock::now() + milliseconds(grace_ms);
  int status;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (steady_clock::now() > deadline) {
      spdlog::error("embedded redis pid {} ignored TERM: KILL", pid_);
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));  // shutdown only
  }
  spdlog::info("embedded redis pid {} stopped", pid_);
  pid_ = 0;
}

}  // namespace qd
