#include "core/os/channel.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace qd {
namespace {
// Far above any message we send; a longer packet is truncated and skipped.
constexpr size_t kMaxMessage = 64 * 1024;
}  // namespace

Status Channel::Pair(Channel* master_end, Channel* worker_end) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                 fds) != 0) {
    return Status::Error(std::string("socketpair: ") + std::strerror(errno));
  }
  *master_end = Channel(fds[0]);
  *worker_end = Channel(fds[1]);
  return Status::Ok();
}

Channel::~Channel() { Close(); }

Channel::Channel(Channel&& other) noexcept : fd_(other.Release()) {}

Channel& Channel::operator=(Channel&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.Release();
  }
  return *this;
}

void Channel::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

int Channel::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

bool Channel::Send(const nlohmann::json& message) {
  if (fd_ < 0) return false;
  std::string text = message.dump();
  ssize_t n;
  do {
    n = send(fd_, text.data(), text.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(text.size());
}

Channel::ReadResult Channel::Read(nlohmann::json* message) {
  if (fd_ < 0) return ReadResult::kEof;
  char buf[kMaxMessage];
  ssize_t n;
  do {
    n = recv(fd_, buf, sizeof(buf), MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return ReadResult::kEof;
  if (n < 0) {
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? ReadResult::kAgain
                                                     : ReadResult::kEof;
  }
  if (static_cast<size_t>(n) > sizeof(buf)) return ReadResult::kAgain;
  *message = nlohmann::json::parse(buf, buf + n, nullptr, false);
  if (message->is_discarded() || !message->is_object()) {
    return ReadResult::kAgain;
  }
  return ReadResult::kMessage;
}

}  // namespace qd
