#include "core/listen/fork_server.h"

#include <event2/event.h>
#include <event2/util.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/listen/fork_server_main.h"
#include "core/os/fork_child.h"
#include "core/util/units.h"

namespace qd {

std::unique_ptr<ForkServer> ForkServer::Start(event_base* base,
                                              const ListenerConfig& config,
                                              RequestHandler& handler,
                                              Owner* owner) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    spdlog::error("listener {}: fork server: socketpair: {}", config.name,
                  std::strerror(errno));
    return nullptr;
  }
  pid_t master = getpid();
  pid_t pid = ForkChild({fds[1]}, "qd-fork-" + config.name,
                        config.name + " fork server");
  if (pid == 0) _exit(ForkServerMain(config, handler, fds[1], master));
  close(fds[1]);
  if (pid < 0) {
    spdlog::error("listener {}: cannot fork the fork server: {}", config.name,
                  std::strerror(errno));
    close(fds[0]);
    return nullptr;
  }
  evutil_make_socket_nonblocking(fds[0]);
  spdlog::debug("listener {}: fork server started, pid {}", config.name, pid);
  return std::unique_ptr<ForkServer>(
      new ForkServer(base, pid, fds[0], config.name, owner));
}

ForkServer::ForkServer(event_base* base, pid_t pid, int fd, std::string name,
                       Owner* owner)
    : pid_(pid), fd_(fd), name_(std::move(name)), owner_(owner) {
  read_ =
      event_new(base, fd_, EV_READ | EV_PERSIST, &ForkServer::OnReadable, this);
  event_add(read_, nullptr);
  answer_timer_ = evtimer_new(base, &ForkServer::OnAnswerTimer, this);
}

ForkServer::~ForkServer() {
  event_free(answer_timer_);
  if (read_ != nullptr) event_free(read_);
  if (fd_ >= 0) close(fd_);
}

bool ForkServer::Fork(const std::string& conn_id, int worker_fd,
                      WorkerProc* proc) {
  if (state_ != State::kRunning || conn_id.empty() ||
      conn_id.size() > kMaxConnId) {
    close(worker_fd);
    return false;
  }
  iovec iov = {const_cast<char*>(conn_id.data()), conn_id.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &worker_fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  close(worker_fd);  // the fork server holds its own copy now
  // A broken socket shows as EOF on the read side, which closes it.
  if (n != static_cast<ssize_t>(conn_id.size())) return false;
  pending_.push_back({proc, Clock::now()});
  if (pending_.size() == 1 && !evtimer_pending(answer_timer_, nullptr)) {
    ArmAnswerTimer();
  }
  return true;
}

void ForkServer::Retire() {
  retired_ = true;
  if (state_ != State::kRunning) return;
  state_ = State::kRetiring;
  shutdown(fd_, SHUT_WR);  // its EOF, after the requests sent
}

void ForkServer::Signal(int signal_number) {
  if (!reaped_) kill(pid_, signal_number);
}

void ForkServer::OnReadable(int, short, void* arg) {
  static_cast<ForkServer*>(arg)->ReadAnswers();
}

void ForkServer::ReadAnswers() {
  for (;;) {
    ForkAnswer answer;
    ssize_t n = recv(fd_, &answer, sizeof(answer), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    bool valid = n == static_cast<ssize_t>(sizeof(answer)) &&
                 !pending_.empty() &&
                 (answer.pid > 0 ? answer.error == 0 : answer.pid == -1);
    if (!valid) {
      if (n > 0) {  // it broke the protocol: it cannot be trusted further
        spdlog::error("listener {}: fork server {} sent a broken answer", name_,
                      pid_);
        Signal(SIGKILL);
      }
      Close();
      return;
    }
    Pending p = pending_.front();
    pending_.pop_front();
    last_answer_ = Clock::now();
    owner_->OnForked(this, p.proc, answer.pid, answer.error, p.asked);
    if (state_ == State::kClosed) return;
  }
}

ForkServer::Clock::time_point ForkServer::WaitingSince() const {
  return std::max(pending_.front().asked, last_answer_);
}

void ForkServer::ArmAnswerTimer() {
  Duration waited =
      std::chrono::duration_cast<Duration>(Clock::now() - WaitingSince());
  timeval tv =
      ToTimeval(std::max(Duration(0), Duration(kAnswerTimeout) - waited));
  evtimer_add(answer_timer_, &tv);
}

void ForkServer::OnAnswerTimer(int, short, void* arg) {
  auto* self = static_cast<ForkServer*>(arg);
  if (self->state_ == State::kClosed || self->pending_.empty()) return;
  if (Clock::now() - self->WaitingSince() < kAnswerTimeout) {
    self->ArmAnswerTimer();  // answers came meanwhile
    return;
  }
  spdlog::error(
      "listener {}: fork server {} did not answer within {}: "
      "killing it",
      self->name_, self->pid_, FormatDuration(kAnswerTimeout));
  self->Signal(SIGKILL);
  self->Close();  // its requests are lost; the keeper starts another
}

void ForkServer::Close() {
  evtimer_del(answer_timer_);
  event_free(read_);
  read_ = nullptr;
  close(fd_);
  fd_ = -1;
  state_ = State::kClosed;
  std::vector<WorkerProc*> unanswered;
  for (const Pending& p : pending_) unanswered.push_back(p.proc);
  pending_.clear();
  owner_->OnClosed(this, unanswered);
}

}  // namespace qd
