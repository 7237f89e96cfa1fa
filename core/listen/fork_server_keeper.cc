#include "core/listen/fork_server_keeper.h"

#include <event2/event.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>

namespace qd {
namespace {

std::string DescribeExit(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(wait_status));
  }
  return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
}

}  // namespace

ForkServerKeeper::ForkServerKeeper(event_base* base, Owner* owner)
    : base_(base), owner_(owner) {
  restart_ = evtimer_new(base, &ForkServerKeeper::OnRestart, this);
  free_done_ = event_new(base, -1, 0, &ForkServerKeeper::OnFreeDone, this);
}

ForkServerKeeper::~ForkServerKeeper() {
  servers_.clear();
  done_.clear();
  event_free(restart_);
  event_free(free_done_);
}

void ForkServerKeeper::Start(const ListenerConfig& config,
                             RequestHandler& handler) {
  config_ = &config;
  handler_ = &handler;
  stopped_ = false;
  evtimer_del(restart_);
  bool was_ready = ready();
  if (current_ != nullptr) Retire(current_);
  if (!Launch() && was_ready) owner_->OnForkingChanged(false);
}

bool ForkServerKeeper::Launch() {
  bool was_ready = ready();
  std::unique_ptr<ForkServer> server =
      ForkServer::Start(base_, *config_, *handler_, this);
  if (server == nullptr) {
    ScheduleRestart();
    return false;
  }
  current_ = server.get();
  servers_.push_back(std::move(server));
  if (!was_ready) owner_->OnForkingChanged(true);
  return true;
}

bool ForkServerKeeper::Fork(const std::string& conn_id, int worker_fd,
                            WorkerProc* proc) {
  if (current_ == nullptr) {
    close(worker_fd);
    return false;
  }
  return current_->Fork(conn_id, worker_fd, proc);
}

void ForkServerKeeper::Retire(ForkServer* server) {
  if (server == current_) current_ = nullptr;
  server->Retire();
}

void ForkServerKeeper::Stop() {
  stopped_ = true;
  evtimer_del(restart_);
  if (current_ != nullptr) Retire(current_);
}

void ForkServerKeeper::SignalAll(int signal_number) {
  for (auto& server : servers_) server->Signal(signal_number);
}

bool ForkServerKeeper::OnExit(pid_t pid, int wait_status) {
  auto it = std::find_if(servers_.begin(), servers_.end(), [pid](auto& s) {
    return s->pid() == pid && !s->reaped();
  });
  if (it == servers_.end()) return false;
  ForkServer* server = it->get();
  server->set_reaped();
  if (!server->retired()) {  // its EOF restarts it, if not seen yet
    spdlog::error("listener {}: fork server {} {}", config_->name, pid,
                  DescribeExit(wait_status));
  }
  if (server->done()) Done(server);
  return true;
}

void ForkServerKeeper::OnForked(ForkServer* server, WorkerProc* proc, pid_t pid,
                                int error, Clock::time_point asked) {
  if (pid > 0 && server == current_) backoff_ = kMinBackoff;
  owner_->OnForked(proc, pid, error, asked);
}

void ForkServerKeeper::OnClosed(ForkServer* server,
                                const std::vector<WorkerProc*>& unanswered) {
  bool lost_current = server == current_;
  if (lost_current) {
    current_ = nullptr;
    spdlog::error("listener {}: fork server {} is gone: restarting it in {}",
                  config_->name, server->pid(), FormatDuration(backoff_));
    ScheduleRestart();
  }
  if (server->done()) Done(server);
  for (WorkerProc* proc : unanswered) owner_->OnForkLost(proc);
  if (lost_current) owner_->OnForkingChanged(false);
}

void ForkServerKeeper::ScheduleRestart() {
  if (stopped_) return;
  timeval tv = ToTimeval(backoff_);
  evtimer_add(restart_, &tv);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void ForkServerKeeper::OnRestart(int, short, void* arg) {
  auto* self = static_cast<ForkServerKeeper*>(arg);
  if (self->stopped_ || self->current_ != nullptr) return;
  self->Launch();
}

void ForkServerKeeper::Done(ForkServer* server) {
  auto it = std::find_if(servers_.begin(), servers_.end(),
                         [server](auto& s) { return s.get() == server; });
  done_.push_back(std::move(*it));
  servers_.erase(it);
  // Its callback may be running now: freed once it has returned.
  event_active(free_done_, EV_TIMEOUT, 0);
  owner_->OnForkServerEnded();
}

void ForkServerKeeper::OnFreeDone(int, short, void* arg) {
  static_cast<ForkServerKeeper*>(arg)->done_.clear();
}

}  // namespace qd
