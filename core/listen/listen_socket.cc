#include "core/listen/listen_socket.h"

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/util/units.h"

namespace qd {
namespace {

constexpr int kBacklog = 1024;

// A socket bound to `addr` and listening, or -1 with errno set.
int ListenOn(int family, const sockaddr* addr, socklen_t len) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (family != AF_UNIX) {
    // What evconnlistener_new_bind set: accepted sockets inherit keepalive.
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (bind(fd, addr, len) != 0 || listen(fd, kBacklog) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Why a bind failed, with what to do about a privileged port once the
// daemon has dropped root (a reload cannot bind it any more).
std::string BindError(int error) {
  std::string why = std::strerror(error);
  if (error == EACCES && geteuid() != 0) {
    why +=
        " (the daemon runs as uid " + std::to_string(geteuid()) +
        ": a port below 1024 is bound only at start-up, as root; restart it)";
  }
  return why;
}

bool IsUnix(const std::string& listen) { return listen.rfind("unix:", 0) == 0; }

}  // namespace

ListenSocket::ListenSocket(event_base* base, AcceptFn on_accept)
    : base_(base), on_accept_(std::move(on_accept)) {}

ListenSocket::~ListenSocket() {
  pause_.reset();
  if (listener_ != nullptr) evconnlistener_free(listener_);
}

Status ListenSocket::Bind(const ListenerConfig& config, int* fd) {
  std::string where = "listener " + config.name + " on " + config.listen;
  if (IsUnix(config.listen)) {
    std::string path = config.listen.substr(5);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
      return Status::Error(where + ": path too long");
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      unlink(path.c_str());  // left by an earlier run
    }
    *fd = ListenOn(AF_UNIX, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    // Numeric addresses and names ("localhost:6001") alike.
    size_t colon = config.listen.rfind(':');
    std::string host = config.listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
    }
    std::string port = config.listen.substr(colon + 1);
    evutil_addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
    evutil_addrinfo* found = nullptr;
    int err = evutil_getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (err != 0) {
      return Status::Error(where + ": " + evutil_gai_strerror(err));
    }
    *fd = ListenOn(found->ai_family, found->ai_addr,
                   static_cast<socklen_t>(found->ai_addrlen));
    int saved = errno;
    evutil_freeaddrinfo(found);
    errno = saved;
  }
  if (*fd < 0) return Status::Error(where + ": " + BindError(errno));
  return Status::Ok();
}

Status ListenSocket::Open(const ListenerConfig& config, int fd) {
  if (fd < 0) {
    Status s = Bind(config, &fd);
    if (!s.ok()) return s;
  }
  name_ = config.name;
  listen_ = config.listen;
  unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
  // Already listening (backlog 0: evconnlistener leaves it as it is).
  listener_ =
      evconnlistener_new(base_, &ListenSocket::OnAccept, this, flags, 0, fd);
  if (listener_ == nullptr) {
    int saved = errno;
    close(fd);
    return Status::Error("listener " + config.name + " on " + config.listen +
                         ": " + std::strerror(saved));
  }
  evconnlistener_set_error_cb(listener_, &ListenSocket::OnAcceptError);
  pause_ = std::make_unique<AcceptPause>(base_, "listener " + name_, kPause,
                                         [this](bool accept) {
                                           if (accept) {
                                             evconnlistener_enable(listener_);
                                           } else {
                                             evconnlistener_disable(listener_);
                                           }
                                         });
  return Status::Ok();
}

void ListenSocket::Close() {
  if (listener_ == nullptr) return;
  pause_.reset();
  evconnlistener_free(listener_);
  listener_ = nullptr;
  if (IsUnix(listen_)) unlink(listen_.substr(5).c_str());
}

void ListenSocket::OnAccept(evconnlistener*, int fd, sockaddr* peer,
                            int peer_len, void* arg) {
  auto* self = static_cast<ListenSocket*>(arg);
  self->pause_->OnAccepted();
  self->on_accept_(fd, peer, peer_len);
}

void ListenSocket::OnAcceptError(evconnlistener*, void* arg) {
  auto* self = static_cast<ListenSocket*>(arg);
  int err = EVUTIL_SOCKET_ERROR();
  if (self->pause_->OnAcceptError(err)) {
    ++self->shortages_;
    return;
  }
  spdlog::error("listener {}: accept: {}", self->name_,
                evutil_socket_error_to_string(err));
}

}  // namespace qd
