#include "scripts/queuemon/udp_listener.h"

#include <event2/event.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace qd::mon {
namespace {

// The largest UDP payload (IPv4: 65,507 bytes) fits.
constexpr size_t kBufferSize = 64 * 1024;
// Asked for, not required: a bigger kernel buffer rides out bursts while
// the table is being printed.
constexpr int kReceiveBuffer = 4 * 1024 * 1024;

Status Usage(std::string_view address, const std::string& why) {
  return Status::Error("--listen '" + std::string(address) + "': " + why);
}

// Splits HOST:PORT or [HOST]:PORT.
Status Split(std::string_view address, std::string* host, std::string* port) {
  static const std::string kExpected =
      "expected HOST:PORT, e.g. 127.0.0.1:8125 or [::1]:8125";
  size_t colon;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return Usage(address, kExpected);
    }
    *host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string_view::npos) return Usage(address, kExpected);
    *host = address.substr(0, colon);
    if (host->find(':') != std::string::npos) {
      return Usage(address,
                   "an IPv6 address goes in brackets, e.g. [::1]:8125");
    }
  }
  *port = address.substr(colon + 1);
  if (host->empty()) return Usage(address, kExpected);
  bool digits = !port->empty() && port->size() <= 5 &&
                port->find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(*port) > 65535) {
    return Usage(address, "port '" + *port + "' is not a number 0-65535");
  }
  return Status::Ok();
}

std::string Describe(const sockaddr_storage& addr, socklen_t len) {
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host,
                  sizeof(host), port, sizeof(port),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  if (addr.ss_family == AF_INET6) return "[" + std::string(host) + "]:" + port;
  return std::string(host) + ":" + port;
}

}  // namespace

Status UdpListener::Open(event_base* base, std::string_view address,
                         OnDatagram on_datagram,
                         std::unique_ptr<UdpListener>* out) {
  std::string host, port;
  Status s = Split(address, &host, &port);
  if (!s.ok()) return s;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return Usage(address, gai_strerror(rc));
  std::unique_ptr<UdpListener> listener(new UdpListener());
  listener->fd_ = socket(found->ai_family,
                         found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int error = errno;
  if (listener->fd_ >= 0 &&
      bind(listener->fd_, found->ai_addr, found->ai_addrlen) != 0) {
    error = errno;
    close(listener->fd_);
    listener->fd_ = -1;
  }
  freeaddrinfo(found);
  if (listener->fd_ < 0) {
    return Usage(address, std::string("cannot bind: ") + std::strerror(error));
  }
  setsockopt(listener->fd_, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer,
             sizeof(kReceiveBuffer));
  sockaddr_storage bound = {};
  socklen_t len = sizeof(bound);
  getsockname(listener->fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  listener->address_ = Describe(bound, len);
  listener->on_datagram_ = std::move(on_datagram);
  listener->buffer_.resize(kBufferSize);
  listener->read_ = event_new(base, listener->fd_, EV_READ | EV_PERSIST,
                              &UdpListener::OnReadable, listener.get());
  event_add(listener->read_, nullptr);
  *out = std::move(listener);
  return Status::Ok();
}

UdpListener::~UdpListener() {
  if (read_ != nullptr) event_free(read_);
  if (fd_ >= 0) close(fd_);
}

void UdpListener::OnReadable(int, short, void* arg) {
  static_cast<UdpListener*>(arg)->ReadAll();
}

void UdpListener::ReadAll() {
  for (int i = 0; i < kMaxPerWakeup; ++i) {
    ssize_t n = recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (n >= 0) {
      on_datagram_(std::string_view(buffer_.data(), static_cast<size_t>(n)));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK && !error_reported_) {
      error_reported_ = true;
      std::fprintf(stderr, "queuemon: receiving on %s: %s\n", address_.c_str(),
                   std::strerror(errno));
    }
    return;
  }
}

}  // namespace qd::mon
